namespace Rampart.Guardrails.Rules;

/// <summary>Prompt-injection tripwires of a workspace: <c>off</c>, <c>flag</c> (header and verdict, the request goes on) or <c>block</c> (400).</summary>
internal sealed record TripwirePolicy
{
    public const string Off = "off";
    public const string Flag = "flag";
    public const string Block = "block";

    public string Mode { get; set; } = Off;

    /// <summary>Place a canary in the system text and watch the answer for it (when the mode is not <c>off</c>).</summary>
    public bool Canary { get; set; } = true;

    [System.Text.Json.Serialization.JsonIgnore]
    public bool UsesCanary => Canary && Mode != Off;

    public string? Validate() => Mode is Off or Flag or Block ? null : "tripwires.mode must be off, flag or block";
}
