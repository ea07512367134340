using System.Security.Cryptography;
using System.Text;

namespace Rampart.Tests.Guardrails;

/// <summary>
/// Secrets in each issuer's real format, generated at run time from random characters: they have the right
/// shape and are worthless. Nothing here is a real credential.
/// </summary>
internal static class FakeSecrets
{
    private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string Lower = "abcdefghijklmnopqrstuvwxyz";
    private const string Digits = "0123456789";
    private const string Alnum = Upper + Lower + Digits;
    private const string Hex = "0123456789abcdef";
    private const string Base32 = Upper + "234567";
    private const string UrlSafe = Alnum + "_-";
    private const string Base64 = Alnum + "+/";

    public static string R(string alphabet, int length) => RandomNumberGenerator.GetString(alphabet, length);

    /// <summary>(kind the scanner reports, a sentence containing the secret, the secret value).</summary>
    public static IEnumerable<(string Kind, string Text, string Secret)> All()
    {
        var aws = "AKIA" + R(Base32, 16);
        yield return ("AWS access key ID", $"my key id is {aws} ok", aws);
        var awsSecret = R(Base64, 40);
        yield return ("AWS secret access key", $"aws_secret_access_key = {awsSecret}", awsSecret);
        var google = "AIza" + R(UrlSafe, 35);
        yield return ("Google API key", $"const key = \"{google}\";", google);
        var azure = R(Base64, 86) + "==";
        yield return ("Azure storage account key", $"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={azure};EndpointSuffix=core.windows.net", azure);
        var azureAd = R(Alnum, 3) + "8Q~" + R(Alnum + "_~.-", 34);
        yield return ("Azure AD client secret", $"client secret: {azureAd}", azureAd);
        foreach (var prefix in new[] { "ghp_", "gho_", "ghu_", "ghs_", "ghr_" })
        {
            var gh = prefix + R(Alnum, 36);
            yield return ("GitHub token", $"git clone https://{gh}@github.com/org/repo", gh);
        }

        var fine = "github_pat_" + R(Alnum, 22) + "_" + R(Alnum, 59);
        yield return ("GitHub fine-grained token", $"token {fine}", fine);
        var gitlab = "glpat-" + R(UrlSafe, 20);
        yield return ("GitLab token", $"PRIVATE-TOKEN: {gitlab}", gitlab);
        var slackBot = $"xoxb-{R(Digits, 12)}-{R(Digits, 13)}-{R(Alnum, 24)}";
        yield return ("Slack token", $"SLACK_BOT_TOKEN {slackBot}", slackBot);
        var slackUser = $"xoxp-{R(Digits, 12)}-{R(Digits, 12)}-{R(Digits, 13)}-{R(Hex, 32)}";
        yield return ("Slack token", $"use {slackUser} for the API", slackUser);
        var hook = $"T{R(Upper + Digits, 10)}/B{R(Upper + Digits, 10)}/{R(Alnum, 24)}";
        yield return ("Slack webhook URL", $"post to https://hooks.slack.com/services/{hook} please", hook);
        var stripe = "sk_live_" + R(Alnum, 24);
        yield return ("Stripe API key", $"Stripe.api_key = '{stripe}'", stripe);
        var stripeTest = "rk_test_" + R(Alnum, 99);
        yield return ("Stripe API key", $"restricted {stripeTest}", stripeTest);
        var twilio = "SK" + R(Hex, 32);
        yield return ("Twilio API key", $"twilio key {twilio}", twilio);
        var sendgrid = $"SG.{R(UrlSafe, 22)}.{R(UrlSafe, 43)}";
        yield return ("SendGrid API key", $"SENDGRID_API_KEY={sendgrid}", sendgrid);
        var npm = "npm_" + R(Alnum, 36);
        yield return ("npm access token", $"//registry.npmjs.org/:_authToken={npm}", npm);
        var pypi = "pypi-AgEIcHlwaS5vcmc" + R(UrlSafe, 70);
        yield return ("PyPI upload token", $"password = {pypi}", pypi);
        var discord = $"M{R(UrlSafe, 25)}.{R(UrlSafe, 6)}.{R(UrlSafe, 38)}";
        yield return ("Discord bot token", $"discord bot: client.login('{discord}')", discord);
        var discordHook = R(UrlSafe, 68);
        yield return ("Discord webhook URL", $"https://discord.com/api/webhooks/{R(Digits, 18)}/{discordHook}", discordHook);
        var telegram = $"{R("123456789", 1)}{R(Digits, 9)}:AA{R(UrlSafe, 33)}";
        yield return ("Telegram bot token", $"bot token {telegram}", telegram);
        var openaiLegacy = $"sk-{R(Alnum, 20)}T3BlbkFJ{R(Alnum, 20)}";
        yield return ("OpenAI API key", $"OPENAI_API_KEY={openaiLegacy}", openaiLegacy);
        var openaiProject = $"sk-proj-{R(UrlSafe, 74)}T3BlbkFJ{R(UrlSafe, 74)}";
        yield return ("OpenAI API key", $"here: {openaiProject}", openaiProject);
        var openaiService = $"sk-svcacct-{R(UrlSafe, 120)}";
        yield return ("OpenAI API key", $"svc {openaiService}", openaiService);
        var openaiAdmin = $"sk-admin-{R(UrlSafe, 100)}";
        yield return ("OpenAI API key", $"admin {openaiAdmin}", openaiAdmin);
        var anthropic = $"sk-ant-api03-{R(UrlSafe, 93)}AA";
        yield return ("Anthropic API key", $"x-api-key: {anthropic}", anthropic);
        var hf = "hf_" + R(Upper + Lower, 34);
        yield return ("Hugging Face token", $"huggingface-cli login --token {hf}", hf);
        var rampart = Rampart.Auth.ApiKeys.Generate().Key;
        yield return ("Rampart API key", $"my gateway key {rampart}", rampart);
        foreach (var kind in new[] { "RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED " })
        {
            var body = R(Base64, 64);
            yield return ("Private key (PEM)", $"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n{R(Base64, 64)}\n-----END {kind}PRIVATE KEY-----", "-----BEGIN");
        }

        var pgp = R(Base64, 64);
        yield return ("Private key (PEM)", $"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{pgp}\n-----END PGP PRIVATE KEY BLOCK-----", "-----BEGIN");
        var jwt = $"{B64Url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}")}.{B64Url($"{{\"sub\":\"{R(Digits, 8)}\",\"iat\":1700000000}}")}.{R(UrlSafe, 43)}";
        yield return ("JSON Web Token", $"cookie: session={jwt}", jwt);
        var gcp = $"{{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo\",\n  \"private_key_id\": \"{R(Hex, 40)}\"\n}}";
        yield return ("GCP service account key", gcp, "\"type\"");
        var dbPassword = R(Alnum, 14);
        yield return ("Database connection string with password", $"DATABASE_URL=postgres://app:{dbPassword}@db.internal:5432/app", dbPassword);
        var mongoPassword = R(Alnum, 12);
        yield return ("Database connection string with password", $"mongodb+srv://admin:{mongoPassword}@cluster0.abcde.mongodb.net/test", mongoPassword);
        var jdbcPassword = R(Alnum, 12);
        yield return ("JDBC connection string with password", $"jdbc:mysql://db:3306/shop?user=shop&password={jdbcPassword}", jdbcPassword);
        var adoPassword = R(Alnum, 12) + "!";
        yield return ("Connection string with password", $"Server=tcp:sql.internal,1433;Database=crm;User Id=crm;Password={adoPassword};Encrypt=True", adoPassword);
        var bearer = R(UrlSafe, 40);
        yield return ("HTTP Authorization credential", $"curl -H 'Authorization: Bearer {bearer}' https://api.internal", bearer);
        var basic = Convert.ToBase64String(Encoding.ASCII.GetBytes($"admin:{R(Alnum, 16)}"));
        yield return ("HTTP Authorization credential", $"Authorization: Basic {basic}", basic.TrimEnd('='));
        // With a digit, as the rule wants of a value it takes for random (a word-like run of letters is not taken): 24
        // letters and digits alone had no digit and too few of one case about once in a thousand draws.
        var generic = R(Alnum, 20) + R(Digits, 2) + R(Alnum, 2);
        yield return ("Secret assignment", $"api_key: {generic}", generic);
        var password = R(Lower, 8) + R(Upper, 3) + R(Digits, 3) + "!";
        yield return ("Secret assignment", $"db_password=\"{password}\"", password);
    }

    private static string B64Url(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
