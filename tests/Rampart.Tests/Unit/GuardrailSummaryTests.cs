using Rampart.Audit;
using Rampart.Guardrails;

namespace Rampart.Tests.Unit;

/// <summary>How findings are told to the caller (response headers) and to the audit log: kinds counted, in ordinal order, never values.</summary>
public sealed class GuardrailSummaryTests
{
    private static readonly GuardrailHit[] Hits =
    [
        new("PHONE", "messages[0].content", IsSecret: false),
        new("GitHub token", "messages[0].content", IsSecret: true),
        new("EMAIL", "messages[0].content", IsSecret: false),
        new("Private key (PEM)", "messages[1].content", IsSecret: true),
        new("GitHub token", "messages[1].content", IsSecret: true),
        new("EMAIL", "messages[2].content", IsSecret: false),
    ];

    [Fact]
    public void Headers_CountEachKindOfAFamily_InOrder_WithHeaderFriendlyNames()
    {
        Assert.Equal("github-token=2, private-key-pem=1; action=block", RequestGuard.Summary(Hits, secrets: true, "block"));
        Assert.Equal("email=2, phone=1; action=obfuscate", RequestGuard.Summary(Hits, secrets: false, "obfuscate"));
        Assert.Null(RequestGuard.Summary(Hits.Where(h => !h.IsSecret).ToList(), secrets: true, "block"));
    }

    [Fact]
    public void AuditVerdicts_NameKindsCountsAndEachLocationOnce()
    {
        Assert.Equal(
            [
                "Secrets detected: GitHub token×2, Private key (PEM)×1 (messages[0].content, messages[1].content)",
                "PII obfuscated: EMAIL×2, PHONE×1 (messages[0].content, messages[2].content)",
            ],
            AuditVerdicts.Of(Hits, piiMode: "obfuscate", secretsMode: "block", blockedBy: null));
        Assert.Equal(["Blocked by PII Detection: EMAIL×2, PHONE×1 (messages[0].content, messages[2].content)"],
            AuditVerdicts.Of(Hits.Where(h => !h.IsSecret).ToList(), "block", "block", blockedBy: "pii_detected"));
    }

    [Fact]
    public void AuditVerdicts_ListFiveLocations_ThenHowManyMore()
    {
        var hits = Enumerable.Range(0, 8).Select(i => new GuardrailHit("EMAIL", $"messages[{i}].content", IsSecret: false)).ToList();

        var verdict = Assert.Single(AuditVerdicts.Of(hits, "obfuscate", "block", blockedBy: null));

        Assert.Equal("PII obfuscated: EMAIL×8 (messages[0].content, messages[1].content, messages[2].content, messages[3].content, messages[4].content and 3 more)", verdict);
    }
}
