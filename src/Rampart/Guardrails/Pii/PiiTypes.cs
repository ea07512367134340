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
    public const string MacAddress = "MAC_ADDRESS";
    public const string CryptoWallet = "CRYPTO_WALLET";
    public const string UsItin = "US_ITIN";
    public const string UsBankRouting = "US_BANK_ROUTING";
    public const string UsPassport = "US_PASSPORT";
    public const string UkNino = "UK_NINO";
    public const string UkNhs = "UK_NHS";
    public const string DateOfBirth = "DATE_OF_BIRTH";

    public static string Placeholder(string type) => $"[REDACTED_{type}]";
}
