using System.Text;

namespace Rampart.Eval;

/// <summary>One generated secret: the rule id that must catch it, which of its formats, the text and the value's span.</summary>
internal sealed record SecretSample(string Family, string Format, string Text, int Start, int Length);

/// <summary>
/// Secrets in every format of every family in <c>SecretRules</c>, from a seeded generator (right shape, worthless),
/// and the negatives a secret scanner must leave alone: placeholders, documented example keys, near-misses.
/// </summary>
internal sealed class SecretCorpus(int seed)
{
    private readonly Random _random = new(seed);

    private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string Lower = "abcdefghijklmnopqrstuvwxyz";
    private const string Digits = "0123456789";
    private const string Alnum = Upper + Lower + Digits;
    private const string Hex = "0123456789abcdef";
    private const string Base32 = Upper + "234567";
    private const string UrlSafe = Alnum + "_-";
    private const string Base64 = Alnum + "+/";

    private string R(string alphabet, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = alphabet[_random.Next(alphabet.Length)];
        }

        return new string(chars);
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    private static SecretSample At(string family, string format, string text, string value)
    {
        var start = text.IndexOf(value, StringComparison.Ordinal);
        return new SecretSample(family, format, text, start, value.Length);
    }

    public List<SecretSample> Positives(int perFormat)
    {
        var samples = new List<SecretSample>();
        for (var i = 0; i < perFormat; i++)
        {
            samples.AddRange(OneOfEach());
        }

        return samples;
    }

    private IEnumerable<SecretSample> OneOfEach()
    {
        foreach (var prefix in new[] { "AKIA", "ASIA", "ABIA", "ACCA" })
        {
            var v = prefix + R(Base32, 16);
            yield return At("aws-access-key-id", prefix, Pick(new[] { $"aws_access_key_id = {v}", $"key id {v} in the logs", $"\"AccessKeyId\": \"{v}\"" }), v);
        }

        var awsSecret = R(Base64, 40);
        yield return At("aws-secret-access-key", "ini", $"aws_secret_access_key = {awsSecret}", awsSecret);
        awsSecret = R(Base64, 40);
        yield return At("aws-secret-access-key", "env", $"export AWS_SECRET_ACCESS_KEY={awsSecret}", awsSecret);
        awsSecret = R(Base64, 40);
        yield return At("aws-secret-access-key", "json", $"{{\"aws_secret_access_key\": \"{awsSecret}\"}}", awsSecret);

        var gcp = $"{{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo-{R(Lower, 6)}\",\n  \"private_key_id\": \"{R(Hex, 40)}\"\n}}";
        yield return At("gcp-service-account", "json", gcp, "\"type\"");
        var google = "AIza" + R(UrlSafe, 35);
        yield return At("google-api-key", "key", Pick(new[] { $"const key = \"{google}\";", $"?key={google}&q=x", $"GEMINI_API_KEY={google}" }), google);
        var azure = R(Base64, 86) + "==";
        yield return At("azure-storage-key", "connection-string", $"DefaultEndpointsProtocol=https;AccountName={R(Lower, 8)};AccountKey={azure};EndpointSuffix=core.windows.net", azure);
        var azureAd = R(Alnum, 3) + R(Digits, 1) + "Q~" + R(Alnum + "_~.-", 34);
        yield return At("azure-ad-client-secret", "client-secret", $"client secret: {azureAd}", azureAd);
        foreach (var prefix in new[] { "ghp_", "gho_", "ghu_", "ghs_", "ghr_" })
        {
            var gh = prefix + R(Alnum, 36);
            yield return At("github-token", prefix, Pick(new[] { $"git clone https://{gh}@github.com/org/repo", $"GITHUB_TOKEN={gh}", $"token {gh} expired?" }), gh);
        }

        var fine = "github_pat_" + R(Alnum, 22) + "_" + R(Alnum, 59);
        yield return At("github-fine-grained-pat", "github_pat_", $"use {fine} for the CI", fine);
        var gitlab = Pick(new[] { ("glpat-", "glpat-" + R(UrlSafe, 20)), ("glptt-", "glptt-" + R(Hex, 40)), ("gldt-", "gldt-" + R(UrlSafe, 20)), ("glrt-", "glrt-" + R(UrlSafe, 20)), ("GR1348941", "GR1348941" + R(UrlSafe, 20)) });
        yield return At("gitlab-token", gitlab.Item1, $"PRIVATE-TOKEN: {gitlab.Item2}", gitlab.Item2);
        foreach (var kind in new[] { "xoxb", "xoxp", "xoxa", "xoxr" })
        {
            var slack = $"{kind}-{R(Digits, 12)}-{R(Digits, 13)}-{R(Alnum, 24)}";
            yield return At("slack-token", kind, $"SLACK_TOKEN {slack}", slack);
        }

        var xapp = $"xapp-1-A{R(Upper + Digits, 10)}-{R(Digits, 13)}-{R(Hex, 64)}";
        yield return At("slack-token", "xapp", $"app token {xapp}", xapp);
        foreach (var path in new[] { "services", "workflows", "triggers" })
        {
            var hook = $"T{R(Upper + Digits, 10)}/B{R(Upper + Digits, 10)}/{R(Alnum, 24)}";
            yield return At("slack-webhook", path, $"post to https://hooks.slack.com/{path}/{hook} please", hook);
        }

        foreach (var prefix in new[] { "sk_live_", "rk_live_", "sk_test_", "rk_test_" })
        {
            var stripe = prefix + R(Alnum, Pick(new[] { 24, 34, 99 }));
            yield return At("stripe-key", prefix, $"Stripe.api_key = '{stripe}'", stripe);
        }

        var whsec = "whsec_" + R(Alnum, 32);
        yield return At("stripe-key", "whsec_", $"STRIPE_WEBHOOK_SECRET={whsec}", whsec);
        var twilio = "SK" + R(Hex, 32);
        yield return At("twilio-api-key", "SK", $"twilio key {twilio}", twilio);
        var sendgrid = $"SG.{R(UrlSafe, 22)}.{R(UrlSafe, 43)}";
        yield return At("sendgrid-api-key", "SG.", $"SENDGRID_API_KEY={sendgrid}", sendgrid);
        var npm = "npm_" + R(Alnum, 36);
        yield return At("npm-token", "npm_", $"//registry.npmjs.org/:_authToken={npm}", npm);
        var pypi = "pypi-AgEIcHlwaS5vcmc" + R(UrlSafe, 70);
        yield return At("pypi-token", "pypi-", $"password = {pypi}", pypi);
        var discord = $"{Pick(new[] { "M", "N", "O" })}{R(UrlSafe, 25)}.{R(UrlSafe, 6)}.{R(UrlSafe, 38)}";
        yield return At("discord-bot-token", "bot", $"discord bot: client.login('{discord}')", discord);
        foreach (var host in new[] { "discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com" })
        {
            var hook = R(UrlSafe, 68);
            yield return At("discord-webhook", host, $"https://{host}/api/webhooks/{R(Digits, 18)}/{hook}", hook);
        }

        var telegram = $"{R("123456789", 1)}{R(Digits, 9)}:AA{R(UrlSafe, 33)}";
        yield return At("telegram-bot-token", "bot", $"bot token {telegram}", telegram);
        var legacy = $"sk-{R(Alnum, 20)}T3BlbkFJ{R(Alnum, 20)}";
        yield return At("openai-api-key", "legacy", $"OPENAI_API_KEY={legacy}", legacy);
        var project = $"sk-proj-{R(UrlSafe, 74)}T3BlbkFJ{R(UrlSafe, 74)}";
        yield return At("openai-api-key", "project", $"here: {project}", project);
        var service = $"sk-svcacct-{R(UrlSafe, 120)}";
        yield return At("openai-api-key", "service-account", $"svc {service}", service);
        var admin = $"sk-admin-{R(UrlSafe, 100)}";
        yield return At("openai-api-key", "admin", $"admin {admin}", admin);
        foreach (var kind in new[] { "api03", "admin01" })
        {
            var anthropic = $"sk-ant-{kind}-{R(UrlSafe, 93)}AA";
            yield return At("anthropic-api-key", kind, $"x-api-key: {anthropic}", anthropic);
        }

        foreach (var prefix in new[] { "hf_", "api_org_" })
        {
            var hf = prefix + R(Upper + Lower, 34);
            yield return At("huggingface-token", prefix, $"huggingface-cli login --token {hf}", hf);
        }

        var rampart = Rampart.Auth.ApiKeys.Generate().Key;
        yield return At("rampart-api-key", "rmp_", $"my gateway key {rampart}", rampart);
        foreach (var kind in new[] { "RSA ", "EC ", "OPENSSH ", "DSA ", "", "ENCRYPTED " })
        {
            var text = $"-----BEGIN {kind}PRIVATE KEY-----\n{R(Base64, 64)}\n{R(Base64, 64)}\n-----END {kind}PRIVATE KEY-----";
            yield return At("private-key", kind.Length == 0 ? "PKCS8" : kind.Trim(), text, "-----BEGIN");
        }

        yield return At("private-key", "PGP", $"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{R(Base64, 64)}\n-----END PGP PRIVATE KEY BLOCK-----", "-----BEGIN");
        foreach (var alg in new[] { "HS256", "RS256", "ES256" })
        {
            var jwt = $"{B64Url($"{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}")}.{B64Url($"{{\"sub\":\"{R(Digits, 8)}\",\"iat\":1700000000}}")}.{R(UrlSafe, 43)}";
            yield return At("jwt", alg, $"cookie: session={jwt}", jwt);
        }

        foreach (var scheme in new[] { "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss", "amqp", "amqps", "mssql", "sqlserver", "couchdb", "clickhouse" })
        {
            var password = R(Alnum, 14);
            yield return At("database-url", scheme, $"DATABASE_URL={scheme}://app:{password}@db.internal:5432/app", password);
        }

        var jdbc = R(Alnum, 12);
        yield return At("jdbc-password", "query", $"jdbc:mysql://db:3306/shop?user=shop&password={jdbc}", jdbc);
        jdbc = R(Alnum, 12);
        yield return At("jdbc-password", "semicolon", $"jdbc:sqlserver://db:1433;databaseName=crm;user=sa;password={jdbc};", jdbc);
        jdbc = R(Alnum, 12);
        yield return At("jdbc-password", "userinfo", $"jdbc:postgresql://app:{jdbc}@db:5432/app", jdbc);
        jdbc = R(Alnum, 12);
        yield return At("jdbc-password", "oracle-thin", $"jdbc:oracle:thin:scott/{jdbc}@db:1521:orcl", jdbc);
        var ado = R(Alnum, 12) + "!";
        yield return At("ado-connection-string", "Password=", $"Server=tcp:sql.internal,1433;Database=crm;User Id=crm;Password={ado};Encrypt=True", ado);
        ado = R(Alnum, 12) + "#";
        yield return At("ado-connection-string", "Pwd=", $"Data Source=db01;Initial Catalog=crm;Uid=crm;Pwd={ado};", ado);
        var bearer = R(UrlSafe, 40);
        yield return At("http-authorization", "Bearer", $"curl -H 'Authorization: Bearer {bearer}' https://api.internal", bearer);
        var basic = Convert.ToBase64String(Encoding.ASCII.GetBytes($"admin:{R(Alnum, 16)}")).TrimEnd('=');
        yield return At("http-authorization", "Basic", $"Authorization: Basic {basic}", basic);
        var token = R(Hex, 40);
        yield return At("http-authorization", "token", $"Authorization: token {token}", token);
        var bare = R(UrlSafe, 48);
        yield return At("http-authorization", "bare-bearer", $"send it with bearer {bare} in the header", bare);
        foreach (var key in new[] { "api_key", "client_secret", "access_token", "auth-token", "SECRET_KEY", "private_key", "credentials" })
        {
            var value = R(Alnum, 24);
            yield return At("generic-secret", key, Pick(new[] { $"{key}: {value}", $"{key} = \"{value}\"", $"\"{key}\": \"{value}\"", $"{key} => '{value}'" }), value);
        }

        var password2 = R(Lower, 8) + R(Upper, 3) + R(Digits, 3) + "!";
        yield return At("generic-secret", "password", $"db_password=\"{password2}\"", password2);
    }

    private static string B64Url(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Texts that must produce no finding at all.</summary>
    public List<string> Negatives(int rounds)
    {
        var texts = new List<string>();
        for (var i = 0; i < rounds; i++)
        {
            texts.AddRange(
            [
                // Placeholders and templating.
                "export OPENAI_API_KEY=${OPENAI_API_KEY}",
                "api_key: <your-api-key>",
                "Set OPENAI_API_KEY=sk-... in your shell",
                $"token = {new string('x', 20 + i % 10)}",
                "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                "stripe key sk_live_your_key_here_0000000000000",
                "password: ********",
                "postgres://app:${DB_PASSWORD}@db:5432/app",
                "Password=<password>;Server=x",
                "Authorization: Bearer <token>",
                "Authorization: Bearer YOUR_ACCESS_TOKEN_HERE",
                "client_secret: {{ secrets.CLIENT_SECRET }}",
                "secret_key_base: <%= ENV['SECRET_KEY_BASE'] %>",
                "api_key = os.environ[\"API_KEY\"]",
                "password = getpass.getpass()",
                "API_KEY=REDACTED",
                "token: [REDACTED_SECRET]",
                // Documented example keys.
                "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "postgres://user:password@localhost:5432/db",
                "mysql://root:secret@localhost/test",
                // Near-misses: wrong length, cut from a longer token, missing parts.
                "ghp_" + R(Alnum, 35),
                "id ghp_" + R(Lower + Digits, 40) + " end",
                "AKIA" + R(Base32, 15),
                "glpat-" + R(UrlSafe, 19),
                "sk-ant-api03-short",
                "npm_" + R(Alnum, 20),
                "SK" + R(Hex, 31),
                "xoxb-123-abc",
                "eyJhbGciOiJub25lIn0 is only a header",
                $"eyJ{R(UrlSafe, 20)}.eyJ{R(UrlSafe, 20)}.{R(UrlSafe, 30)}",
                "-----BEGIN RSA PRIVATE KEY----- is the header of a PEM file.",
                "-----BEGIN PUBLIC KEY-----\n" + R(Base64, 64) + "\n-----END PUBLIC KEY-----",
                // Ordinary text that mentions secrets, and hex/base64 that is not a secret.
                "Please summarise this quarterly report about our API key management strategy.",
                "The password policy requires 12 characters.",
                "The bearer of this letter is my friend.",
                "my secret is that I like pineapple pizza",
                "password: hunter22",
                "token_type: bearer",
                "secret_name: prod-db-credentials",
                "key: value",
                "password_min_length: 12",
                "Basic authentication is disabled.",
                "the monkey ate the turkey sandwich",
                $"commit {R(Hex, 40)} fixed the token refresh",
                $"request id {R(Hex, 8)}-{R(Hex, 4)}-4{R(Hex, 3)}-a{R(Hex, 3)}-{R(Hex, 12)}, version 1.2.3-beta.4",
                $"sha256:{R(Hex, 64)}",
                "See https://docs.example.com/api/keys for how to create a key.",
                "Discord is where our community hangs out; join discord.gg/example.",
            ]);
        }

        return texts;
    }
}
