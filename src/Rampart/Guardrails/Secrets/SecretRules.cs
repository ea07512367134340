using System.Buffers.Text;
using System.Text;
using System.Text.RegularExpressions;
using Rampart.Auth;

namespace Rampart.Guardrails.Secrets;

/// <summary>
/// The secret families Rampart recognises, each in its issuer's real format. Every pattern is NonBacktracking,
/// so scanning is linear in the text whatever it contains. Token boundaries are checked after the match
/// (<see cref="SecretRule.WholeToken"/>), not with <c>\b</c>: a match made of token characters cannot straddle a
/// boundary, so one rejected there never overlaps a whole token the scan would otherwise find (SendGrid's dots aside,
/// and no second "SG." can start inside a first). The two <c>\b</c> left (database URL, bare bearer) guard a scheme
/// or keyword inside an alternation; taking them out saved nothing measurable. Digits are <c>[0-9]</c>, not <c>\d</c>.
/// </summary>
internal static partial class SecretRules
{
    private const RegexOptions Linear = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;
    private const RegexOptions LinearIgnoreCase = Linear | RegexOptions.IgnoreCase;

    public static readonly IReadOnlyList<SecretRule> All =
    [
        new("aws-access-key-id", "AWS access key ID", ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"], AwsAccessKeyId()),
        new("aws-secret-access-key", "AWS secret access key", ["aws"], AwsSecretAccessKey()) { MinEntropy = 4.0, KeywordComparison = StringComparison.OrdinalIgnoreCase },
        new("gcp-service-account", "GCP service account key", ["service_account"], GcpServiceAccount()) { WholeToken = false },
        new("google-api-key", "Google API key", ["AIza"], GoogleApiKey()),
        new("azure-storage-key", "Azure storage account key", ["accountkey"], AzureStorageKey()) { KeywordComparison = StringComparison.OrdinalIgnoreCase },
        new("azure-ad-client-secret", "Azure AD client secret", ["Q~"], AzureAdClientSecret()) { MinEntropy = 3.5 },
        new("github-token", "GitHub token", ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"], GitHubToken()),
        new("github-fine-grained-pat", "GitHub fine-grained token", ["github_pat_"], GitHubFineGrained()),
        new("gitlab-token", "GitLab token", ["glpat-", "glptt-", "gldt-", "glrt-", "GR1348941"], GitLabToken()),
        new("slack-token", "Slack token", ["xox", "xapp-"], SlackToken()),
        new("slack-webhook", "Slack webhook URL", ["hooks.slack.com"], SlackWebhook()),
        new("stripe-key", "Stripe API key", ["sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_"], StripeKey()) { MinEntropy = 3.0 },
        new("twilio-api-key", "Twilio API key", ["SK"], TwilioApiKey()) { MinEntropy = 3.0 },
        new("sendgrid-api-key", "SendGrid API key", ["SG."], SendGridKey()),
        new("npm-token", "npm access token", ["npm_"], NpmToken()) { MinEntropy = 3.5 },
        new("pypi-token", "PyPI upload token", ["pypi-"], PyPiToken()),
        // Bot tokens have no fixed prefix: like gitleaks, only look for them where Discord is mentioned.
        new("discord-bot-token", "Discord bot token", ["discord"], DiscordBotToken()) { MinEntropy = 4.0, KeywordComparison = StringComparison.OrdinalIgnoreCase },
        new("discord-webhook", "Discord webhook URL", ["discord"], DiscordWebhook()),
        new("telegram-bot-token", "Telegram bot token", [":AA"], TelegramBotToken()),
        new("openai-api-key", "OpenAI API key", ["sk-"], OpenAIKey()) { MinEntropy = 3.5, Validate = OpenAIKeyShape },
        new("anthropic-api-key", "Anthropic API key", ["sk-ant-"], AnthropicKey()),
        new("huggingface-token", "Hugging Face token", ["hf_", "api_org_"], HuggingFaceToken()) { MinEntropy = 3.5 },
        new("rampart-api-key", "Rampart API key", ["rmp_"], RampartKey()) { Validate = v => ApiKeys.IsWellFormed(v) },
        new("private-key", "Private key (PEM)", ["PRIVATE KEY"], PemPrivateKey()) { WholeToken = false },
        new("jwt", "JSON Web Token", ["eyJ"], Jwt()) { Validate = IsJwt },
        // JDBC first: "jdbc:postgresql://u:p@h" holds a database URL too, and the more specific kind should name it.
        new("jdbc-password", "JDBC connection string with password", ["jdbc:"], JdbcPassword()) { Validate = IsRealPassword, KeywordComparison = StringComparison.OrdinalIgnoreCase },
        new("database-url", "Database connection string with password", ["://"], DatabaseUrl()) { Validate = IsRealPassword },
        new("ado-connection-string", "Connection string with password", ["password", "pwd"], AdoConnectionString()) { Validate = IsRealPassword, KeywordComparison = StringComparison.OrdinalIgnoreCase },
        new("http-authorization", "HTTP Authorization credential", ["bearer", "basic", "authorization"], HttpAuthorization()) { MinEntropy = 3.0, KeywordComparison = StringComparison.OrdinalIgnoreCase },
        new("generic-secret", "Secret assignment", ["key", "secret", "token", "password", "passwd", "pwd", "credential"], GenericAssignment())
        {
            MinEntropy = 3.0,
            Validate = IsRandomLooking,
            KeywordComparison = StringComparison.OrdinalIgnoreCase,
        },
    ];

    [GeneratedRegex(@"(?<secret>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})", Linear)]
    private static partial Regex AwsAccessKeyId();

    [GeneratedRegex(@"aws.{0,30}?(?:secret|sk|private).{0,30}?[:=]\s{0,5}[""']?(?<secret>[A-Za-z0-9/+]{40})", LinearIgnoreCase)]
    private static partial Regex AwsSecretAccessKey();

    [GeneratedRegex(@"""type""\s{0,5}:\s{0,5}""service_account""", Linear)]
    private static partial Regex GcpServiceAccount();

    [GeneratedRegex(@"(?<secret>AIza[0-9A-Za-z_\-]{35})", Linear)]
    private static partial Regex GoogleApiKey();

    [GeneratedRegex(@"AccountKey=(?<secret>[A-Za-z0-9+/]{86}==)", LinearIgnoreCase)]
    private static partial Regex AzureStorageKey();

    [GeneratedRegex(@"(?<secret>[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})", Linear)]
    private static partial Regex AzureAdClientSecret();

    [GeneratedRegex(@"(?<secret>gh[pousr]_[A-Za-z0-9]{36})", Linear)]
    private static partial Regex GitHubToken();

    [GeneratedRegex(@"(?<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})", Linear)]
    private static partial Regex GitHubFineGrained();

    [GeneratedRegex(@"(?<secret>(?:glpat-[A-Za-z0-9_\-]{20}|glptt-[0-9a-f]{40}|gldt-[A-Za-z0-9_\-]{20}|glrt-[A-Za-z0-9_\-]{20}|GR1348941[A-Za-z0-9_\-]{20}))", Linear)]
    private static partial Regex GitLabToken();

    [GeneratedRegex(@"(?<secret>xox[abposr]-(?:[0-9]{8,14}-){1,3}[A-Za-z0-9]{16,64}|xapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,14}-[a-f0-9]{64})", Linear)]
    private static partial Regex SlackToken();

    [GeneratedRegex(@"https://hooks\.slack\.com/(?:services|workflows|triggers)/(?<secret>T[A-Z0-9]{8,12}/[A-Z0-9]{8,12}/[A-Za-z0-9]{20,40})", Linear)]
    private static partial Regex SlackWebhook();

    [GeneratedRegex(@"(?<secret>(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{24,}|whsec_[A-Za-z0-9]{32,64})", Linear)]
    private static partial Regex StripeKey();

    [GeneratedRegex(@"(?<secret>SK[0-9a-f]{32})", Linear)]
    private static partial Regex TwilioApiKey();

    [GeneratedRegex(@"(?<secret>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})", Linear)]
    private static partial Regex SendGridKey();

    [GeneratedRegex(@"(?<secret>npm_[A-Za-z0-9]{36})", Linear)]
    private static partial Regex NpmToken();

    [GeneratedRegex(@"(?<secret>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})", Linear)]
    private static partial Regex PyPiToken();

    [GeneratedRegex(@"(?<secret>[MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38})", Linear)]
    private static partial Regex DiscordBotToken();

    [GeneratedRegex(@"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{15,21}/(?<secret>[A-Za-z0-9_\-]{60,70})", Linear)]
    private static partial Regex DiscordWebhook();

    [GeneratedRegex(@"(?<secret>[0-9]{8,10}:AA[A-Za-z0-9_\-]{33})", Linear)]
    private static partial Regex TelegramBotToken();

    [GeneratedRegex(@"(?<secret>sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_\-]{32,})", Linear)]
    private static partial Regex OpenAIKey();

    [GeneratedRegex(@"(?<secret>sk-ant-(?:api|admin|sid)[0-9]{2}-[A-Za-z0-9_\-]{80,})", Linear)]
    private static partial Regex AnthropicKey();

    [GeneratedRegex(@"(?<secret>(?:hf_|api_org_)[A-Za-z]{34})", Linear)]
    private static partial Regex HuggingFaceToken();

    [GeneratedRegex(@"(?<secret>rmp_[A-Za-z0-9]{38})", Linear)]
    private static partial Regex RampartKey();

    [GeneratedRegex(@"-----BEGIN[ A-Z0-9]{0,30} PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,}?[A-Za-z0-9+/=]{48}", Linear)]
    private static partial Regex PemPrivateKey();

    [GeneratedRegex(@"(?<secret>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,})", Linear)]
    private static partial Regex Jwt();

    [GeneratedRegex(@"\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|couchdb|clickhouse)://[^\s:/@]{1,}:(?<secret>[^\s@/]{1,})@[^\s/]{1,}", LinearIgnoreCase)]
    private static partial Regex DatabaseUrl();

    [GeneratedRegex(@"jdbc:[a-z0-9]{2,20}:[^\s]{0,}?(?:[?;&]password=(?<secret>[^&;\s""']{1,})|//[^\s:/@]{1,}:(?<secret>[^\s@/]{1,})@|:[^\s:/@]{1,}/(?<secret>[^\s@/]{1,})@)", LinearIgnoreCase)]
    private static partial Regex JdbcPassword();

    [GeneratedRegex(@"(?:server|data source|host|hostname|addr|address)\s{0,3}=[^;\n]{1,};(?:[^;\n]{0,};){0,12}?\s{0,3}(?:password|pwd)\s{0,3}=\s{0,3}(?<secret>[^;'""\s]{1,})", LinearIgnoreCase)]
    private static partial Regex AdoConnectionString();

    [GeneratedRegex(@"(?:authorization\s{0,3}[:=]\s{0,3}[""']?\s{0,3}(?:bearer|basic|token)\s{1,3}|\bbearer\s{1,3})(?<secret>[A-Za-z0-9._~+/\-]{20,}=*)", LinearIgnoreCase)]
    private static partial Regex HttpAuthorization();

    [GeneratedRegex(@"[A-Za-z0-9_.\-]{0,40}(?:api[_\-]?key|apikey|secret[_\-]?key|client[_\-]?secret|secret|access[_\-]?token|auth[_\-]?token|token|password|passwd|pwd|credentials?|private[_\-]?key)[""']?\s{0,3}(?::|=|:=|=>)\s{0,3}[""']?(?<secret>[^\s""',;`]{8,})", LinearIgnoreCase)]
    private static partial Regex GenericAssignment();

    /// <summary>Values that only stand for a secret: templating, elisions, documented examples.</summary>
    public static bool IsPlaceholder(ReadOnlySpan<char> value)
    {
        if (value.Contains("${", StringComparison.Ordinal) || value.Contains("{{", StringComparison.Ordinal) || value.Contains('<') || value.Contains('>')
            || value.Contains("...", StringComparison.Ordinal) || value.Contains('…') || value.Contains("****", StringComparison.Ordinal)
            || value.Contains("xxxx", StringComparison.OrdinalIgnoreCase) || value.StartsWith("$", StringComparison.Ordinal)
            || value.StartsWith("%", StringComparison.Ordinal) || value.Contains("EXAMPLE", StringComparison.Ordinal)
            || value.Contains("REDACTED", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var word in PlaceholderWords)
        {
            if (value.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        // One character repeated ("aaaaaaaa", "00000000") is never a real secret.
        return !value.ContainsAnyExcept(value[0]);
    }

    private static readonly string[] PlaceholderWords =
        ["your_", "your-", "yourkey", "changeme", "placeholder", "dummy", "sample", "insert", "replace", "secret_here", "key_here", "token_here"];

    private static bool OpenAIKeyShape(string value)
    {
        // Real keys carry "T3BlbkFJ" (base64 of "OpenAI"), or are new-style prefixed keys with long random bodies.
        return value.Contains("T3BlbkFJ", StringComparison.Ordinal)
               || (value.StartsWith("sk-proj-", StringComparison.Ordinal) || value.StartsWith("sk-svcacct-", StringComparison.Ordinal) || value.StartsWith("sk-admin-", StringComparison.Ordinal)) && value.Length >= 48;
    }

    private static bool IsJwt(string value)
    {
        var header = value[..value.IndexOf('.', StringComparison.Ordinal)];
        var padded = header.Length % 4 == 0 ? header : header + new string('=', 4 - header.Length % 4);
        var bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(padded.Length)];
        var utf8 = Encoding.ASCII.GetBytes(padded.Replace('-', '+').Replace('_', '/'));
        return Base64.DecodeFromUtf8(utf8, bytes, out _, out var written) == System.Buffers.OperationStatus.Done
               && Encoding.UTF8.GetString(bytes, 0, written).Contains("\"alg\"", StringComparison.Ordinal);
    }

    /// <summary>A password slot holding something other than an obvious stand-in.</summary>
    private static bool IsRealPassword(string value) =>
        value.Length >= 3 && !IsPlaceholder(value)
        && !value.Equals("password", StringComparison.OrdinalIgnoreCase) && !value.Equals("pass", StringComparison.OrdinalIgnoreCase)
        && !value.Equals("pwd", StringComparison.OrdinalIgnoreCase) && !value.Equals("secret", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Generic assignments fire only on values that look machine-generated: mixed character classes, no spaces. Letters
    /// alone count when long and about evenly mixed in case, as random base62 is and identifiers ("getAccessToken") are not.
    /// </summary>
    private static bool IsRandomLooking(string value)
    {
        var upper = value.Count(char.IsAsciiLetterUpper);
        var lower = value.Count(char.IsAsciiLetterLower);
        var classes = (lower > 0 ? 1 : 0) + (upper > 0 ? 1 : 0)
                      + (value.Any(char.IsAsciiDigit) ? 1 : 0) + (value.Any(c => !char.IsAsciiLetterOrDigit(c)) ? 1 : 0);
        var evenCase = value.Length >= 16 && upper >= 0.3 * value.Length && lower >= 0.3 * value.Length;
        return classes >= 2 && value.Any(char.IsAsciiDigit) || classes >= 3 || evenCase;
    }
}
