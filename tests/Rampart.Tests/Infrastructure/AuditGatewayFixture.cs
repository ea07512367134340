using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Rampart.Audit;
using Rampart.Data;

namespace Rampart.Tests.Infrastructure;

/// <summary>
/// A gateway whose audit writer and key usage counter only write when told (<see cref="FlushAuditAsync"/>,
/// <c>KeyUsageTracker.FlushAsync</c>) or at shutdown and give up on a locked database after one second, whose audit queue
/// is small so load overflows into the spool, and which prices the fake models.
/// </summary>
public class AuditGatewayFixture : GatewayFixture
{
    /// <summary>Dollars per million tokens for the fake upstream's default model.</summary>
    public const double EchoInputPrice = 2.5;
    public const double EchoOutputPrice = 10;

    public AuditGatewayFixture()
    {
    }

    /// <summary>On a data folder the test owns and reads after the gateway has stopped.</summary>
    internal AuditGatewayFixture(string dataDir)
        : base(dataDir, deleteDataOnDispose: false)
    {
    }

    public string DatabasePath => Path.Combine(DataDir, "rampart.db");

    protected override void Configure(Dictionary<string, string?> settings)
    {
        Directory.CreateDirectory(DataDir);
        var prices = Path.Combine(DataDir, "prices.json");
        File.WriteAllText(prices, $$"""
            // Test prices for the fake upstream.
            { "prices": { "openai/{{FakeOpenAIServer.Models.Echo}}": { "input": {{EchoInputPrice}}, "output": {{EchoOutputPrice}} } } }
            """);
        settings[PriceTable.FileSetting] = prices;
        settings["Rampart:Audit:FlushIntervalMilliseconds"] = "600000";
        settings["Rampart:Audit:DatabaseTimeoutSeconds"] = "1";
        settings["Rampart:Audit:QueueCapacity"] = "16";
        settings["Rampart:Audit:BatchSize"] = "50";
        settings["Rampart:KeyUsageFlushMilliseconds"] = "600000";
        settings["Rampart:KeyUsageDatabaseTimeoutSeconds"] = "1";
    }

    internal AuditWriter AuditWriter => Services.GetRequiredService<AuditWriter>();

    internal Task FlushAuditAsync() => AuditWriter.FlushAsync();

    /// <summary>Audit rows matching <paramref name="where"/>, read straight from the database.</summary>
    internal async Task<List<AuditRow>> AuditRowsAsync(string where, object? parameters = null)
    {
        await using var connection = await Services.GetRequiredService<Db>().OpenAsync();
        return [.. await connection.QueryAsync<AuditRow>($"SELECT {AuditRow.Columns} FROM audit_records WHERE {where}", parameters)];
    }

    /// <summary>Flushes until <paramref name="where"/> matches <paramref name="count"/> rows (records of a disconnect arrive a moment late).</summary>
    internal async Task<List<AuditRow>> WaitForAuditRowsAsync(string where, object? parameters, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            await FlushAuditAsync();
            var rows = await AuditRowsAsync(where, parameters);
            if (rows.Count >= count || DateTime.UtcNow > deadline)
            {
                return rows;
            }

            await Task.Delay(25);
        }
    }

    public static SqliteConnection OpenDatabase(string path) => new(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
}

/// <summary>One <c>audit_records</c> row as stored.</summary>
internal sealed class AuditRow
{
    public const string Columns =
        "id AS Id, created_at AS CreatedAt, endpoint AS Endpoint, user_id AS UserId, key_id AS KeyId, workspace_id AS WorkspaceId, workspace AS Workspace, " +
        "requested_model AS RequestedModel, provider AS Provider, served_model AS ServedModel, status AS Status, outcome AS Outcome, error_code AS ErrorCode, " +
        "verdicts AS Verdicts, stream AS Stream, attempts AS Attempts, prompt_tokens AS PromptTokens, completion_tokens AS CompletionTokens, " +
        "tokens_estimated AS TokensEstimated, cost_usd AS CostUsd, latency_ms AS LatencyMs, ttft_ms AS TtftMs, client_ip AS ClientIp, user_agent AS UserAgent";

    public string Id { get; set; } = "";
    public long CreatedAt { get; set; }
    public string? Endpoint { get; set; }
    public string? UserId { get; set; }
    public string? KeyId { get; set; }
    public string? WorkspaceId { get; set; }
    public string? Workspace { get; set; }
    public string? RequestedModel { get; set; }
    public string? Provider { get; set; }
    public string? ServedModel { get; set; }
    public long Status { get; set; }
    public string Outcome { get; set; } = "";
    public string? ErrorCode { get; set; }
    public string? Verdicts { get; set; }
    public long Stream { get; set; }
    public long Attempts { get; set; }
    public long? PromptTokens { get; set; }
    public long? CompletionTokens { get; set; }
    public long TokensEstimated { get; set; }
    public double? CostUsd { get; set; }
    public double LatencyMs { get; set; }
    public double? TtftMs { get; set; }
    public string? ClientIp { get; set; }
    public string? UserAgent { get; set; }

    public IReadOnlyList<string> VerdictList => Verdicts is null ? [] : System.Text.Json.JsonSerializer.Deserialize<List<string>>(Verdicts)!;
}

[CollectionDefinition(Name)]
public sealed class AuditGatewayTests : ICollectionFixture<AuditGatewayFixture>
{
    public const string Name = "audit-gateway";
}
