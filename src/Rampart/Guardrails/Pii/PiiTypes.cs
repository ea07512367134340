namespace Rampart.Guardrails.Pii;

/// <summary>PII type names, as they appear in placeholders (<c>[REDACTED_EMAIL]</c>), errors and headers.</summary>
internal static class PiiTypes
{
    public const string Email = "EMAIL";
    public const string Phone = "PHONE";
    public const string CreditCard = "CREDIT_CARD";
    public const string IpAddress = "IP_ADDRESS";
    public const string Ssn = "SSN";
    public const string Iban = "IBAN";

    public static string Placeholder(string type) => $"[REDACTED_{type}]";
}
