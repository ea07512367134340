using System.Text.RegularExpressions;

namespace Rampart.Guardrails.Pii;

/// <summary>Cryptocurrency wallet addresses, accepted only when their checksum verifies.</summary>
internal static partial class PiiScanner
{
    // Bitcoin P2PKH ('1…') and P2SH ('3…'): Base58Check of a version byte, a 20-byte hash and a 4-byte checksum.
    [GeneratedRegex(@"[13][1-9A-HJ-NP-Za-km-z]{25,34}", Linear)]
    private static partial Regex Base58AddressPattern();

    private static bool IsBase58Address(string text, int start, int length) =>
        IsBounded(text, start, length) && Checksums.Base58CheckVersion(text.AsSpan(start, length)) is 0x00 or 0x05;

    // Bitcoin SegWit (BIP-173 bech32) and Taproot (BIP-350 bech32m): "bc1" and the bech32 alphabet, one case only.
    [GeneratedRegex(@"(?:bc|BC)1[02-9ac-hj-np-zAC-HJ-NP-Z]+", Linear)]
    private static partial Regex SegwitAddressPattern();

    private static bool IsSegwitAddress(string text, int start, int length) =>
        IsBounded(text, start, length) && Checksums.SegwitAddress(text.AsSpan(start, length), "bc");

    [GeneratedRegex(@"0x[0-9a-fA-F]{40}", Linear)]
    private static partial Regex EthereumAddressPattern();

    private static readonly string[] EthereumContext = ["wallet", "eth", "ether", "address", "metamask", "crypto", "usdt", "usdc", "erc20", "erc-20"];

    /// <summary>
    /// Mixed case carries the EIP-55 checksum, which must verify; one case carries none, so forty hex digits after "0x"
    /// (a hash, a key, a colour table …) count as an address only next to a word that says so.
    /// </summary>
    private static bool IsEthereumAddress(string text, int start, int length)
    {
        var hex = text.AsSpan(start + 2, 40);
        if (!IsBounded(text, start, length) || !hex.ContainsAnyExcept('0'))
        {
            return false;
        }

        var mixed = hex.ContainsAnyInRange('a', 'f') && hex.ContainsAnyInRange('A', 'F');
        return mixed ? Checksums.Eip55(hex) : HasContext(text, start, EthereumContext);
    }
}
