using System.Text;
using Rampart.Guardrails.Pii;
using Rampart.Guardrails.Secrets;

namespace Rampart.Audit;

/// <summary>
/// Free text the caller controls and the audit log keeps (the requested model, the user agent): shortened, and any
/// secret or personal data in it replaced by its kind, so a key pasted into the wrong field never lands in the log.
/// </summary>
internal static class AuditText
{
    public static string? Clean(string? text, int maxLength)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        var findings = SecretScanner.Default.Scan(text);
        // IP addresses excepted: browsers' version numbers look like them (Chrome/120.0.0.0), and the client's address is recorded anyway.
        findings.AddRange(PiiScanner.Scan(text).Where(p => p.Kind != PiiTypes.IpAddress && !Guardrails.Finding.OverlapsAny(findings, p.Start, p.Length)));
        if (findings.Count > 0)
        {
            findings.Sort((a, b) => a.Start.CompareTo(b.Start));
            var builder = new StringBuilder(text.Length);
            var position = 0;
            foreach (var finding in findings.Where(f => f.Start >= 0))
            {
                if (finding.Start < position)
                {
                    continue;
                }

                builder.Append(text, position, finding.Start - position).Append('[').Append(finding.Kind).Append(']');
                position = finding.End;
            }

            text = builder.Append(text, position, text.Length - position).ToString();
        }

        return text.Length <= maxLength ? text : text[..maxLength];
    }
}
