using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Data;
using Rampart.Operations;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Operations;

[Collection(OperationsGatewayTests.Name)]
public sealed class HealthEndpointTests(OperationsGatewayFixture gateway)
{
    [Fact]
    public async Task Healthz_Returns200_WithoutAKey()
    {
        using var http = gateway.Http();

        using var response = await http.GetAsync("healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("ok", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Readyz_Returns200_WithTheSchemaVersion()
    {
        using var http = gateway.Http();

        using var response = await http.GetAsync("readyz");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ready", body["status"]!.GetValue<string>());
        Assert.Equal(Data.Migrations.Migrations.All.Max(m => m.Version), body["schema_version"]!.GetValue<long>());
    }
}

/// <summary>The readiness check on real SQLite databases in the states an operator meets.</summary>
public sealed class ReadinessTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rampart-ready-" + Guid.NewGuid().ToString("N"));

    public ReadinessTests() => Directory.CreateDirectory(_dir);

    [Fact]
    public async Task MigratedDatabase_IsReady()
    {
        var db = Sqlite("ok");
        await new MigrationRunner(db, NullLogger<MigrationRunner>.Instance).ApplyAsync(Data.Migrations.Migrations.All, default);

        var report = await Check(db);

        Assert.True(report.Ready);
        Assert.Equal(Readiness.ExpectedSchemaVersion, report.SchemaVersion);
    }

    [Fact]
    public async Task EmptyDatabase_IsNotReady_MigrationsNotApplied()
    {
        var report = await Check(Sqlite("empty"));

        Assert.False(report.Ready);
        Assert.Equal("schema migrations not applied", report.Reason);
    }

    [Fact]
    public async Task OlderSchema_IsNotReady_AndSaysWhichVersion()
    {
        var db = Sqlite("old");
        await new MigrationRunner(db, NullLogger<MigrationRunner>.Instance).ApplyAsync([.. Data.Migrations.Migrations.All.Take(1)], default);

        var report = await Check(db);

        Assert.False(report.Ready);
        Assert.Equal("schema migrations not applied", report.Reason);
        Assert.Equal(1, report.SchemaVersion);
    }

    [Fact]
    public async Task UnreachableDatabase_IsNotReady_WithoutItsPathInTheAnswer()
    {
        // A folder where the database file should be: SQLite cannot open it.
        var db = Sqlite("unreachable");
        Directory.CreateDirectory(Path.Combine(_dir, "unreachable", "rampart.db"));

        var report = await Check(db);

        Assert.False(report.Ready);
        Assert.Equal("database unreachable", report.Reason);
        Assert.DoesNotContain(_dir, report.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Draining_IsNotReady_EvenWithAHealthyDatabase()
    {
        var db = Sqlite("draining");
        await new MigrationRunner(db, NullLogger<MigrationRunner>.Instance).ApplyAsync(Data.Migrations.Migrations.All, default);
        var lifetime = new StoppingLifetime();
        lifetime.StopApplication();

        var report = await new Readiness(db, lifetime, NullLogger<Readiness>.Instance).CheckAsync(default);

        Assert.False(report.Ready);
        Assert.Equal("draining", report.Reason);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The gateway's own SQLite set-up, in a data folder of its own.</summary>
    private Db Sqlite(string name) => Db.FromConfiguration(new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["RAMPART_DATA_DIR"] = Path.Combine(_dir, name) })
        .Build());

    private static Task<ReadinessReport> Check(Db db) => new Readiness(db, new StoppingLifetime(), NullLogger<Readiness>.Instance).CheckAsync(default);

    private sealed class StoppingLifetime : IHostApplicationLifetime
    {
        private readonly CancellationTokenSource _stopping = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => _stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => _stopping.Cancel();
    }
}

/// <summary>The exposition writer and series limit, on a meter of the test's own.</summary>
public sealed class MetricsCollectorTests
{
    [Fact]
    public void LabelValuesWithQuotesBackslashesAndNewlines_AreEscaped_AndParseBack()
    {
        using var meter = new Meter("Rampart.Test." + Guid.NewGuid().ToString("N"));
        var counter = meter.CreateCounter<long>("test.things", "{thing}", "Things.\nWith a second line and a \\.");
        using var collector = new MetricsCollector(meter);
        const string odd = "a \"quoted\" \\ back\nslash";

        counter.Add(3, new KeyValuePair<string, object?>("name", odd));
        counter.Add(2, new KeyValuePair<string, object?>("name", odd));
        var samples = PrometheusExposition.Parse(collector.Scrape());

        Assert.Equal(5, samples[PrometheusExposition.Key("test_things_total", [KeyValuePair.Create("name", odd)])]);
    }

    [Fact]
    public void SeriesBeyondTheLimit_GoToOneOverflowSeries_AndNothingIsLost()
    {
        using var meter = new Meter("Rampart.Test." + Guid.NewGuid().ToString("N"));
        var counter = meter.CreateCounter<long>("test.models", "{request}", "Requests by model.");
        using var collector = new MetricsCollector(meter);
        var extra = 25;

        for (var i = 0; i < MetricsCollector.MaxSeriesPerMetric + extra; i++)
        {
            counter.Add(1, new KeyValuePair<string, object?>("model", "m" + i));
        }

        var samples = PrometheusExposition.Parse(collector.Scrape()).Where(s => s.Key.StartsWith("test_models_total", StringComparison.Ordinal)).ToDictionary();

        Assert.Equal(MetricsCollector.MaxSeriesPerMetric + 1, samples.Count);
        Assert.Equal(extra, samples["test_models_total{otel_metric_overflow=\"true\"}"]);
        Assert.Equal(MetricsCollector.MaxSeriesPerMetric + extra, samples.Values.Sum());
    }

    [Fact]
    public void Histogram_PutsEachObservationInItsBucket_Cumulatively()
    {
        using var meter = new Meter("Rampart.Test." + Guid.NewGuid().ToString("N"));
        var histogram = meter.CreateHistogram("test.duration", "s", "Durations.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1, 10] });
        using var collector = new MetricsCollector(meter);

        foreach (var value in new[] { 0.05, 0.1, 0.5, 5, 50 })
        {
            histogram.Record(value);
        }

        var samples = PrometheusExposition.Parse(collector.Scrape());

        Assert.Equal(2, samples["test_duration_seconds_bucket{le=\"0.1\"}"]);
        Assert.Equal(3, samples["test_duration_seconds_bucket{le=\"1\"}"]);
        Assert.Equal(4, samples["test_duration_seconds_bucket{le=\"10\"}"]);
        Assert.Equal(5, samples["test_duration_seconds_bucket{le=\"+Inf\"}"]);
        Assert.Equal(5, samples["test_duration_seconds_count"]);
        Assert.Equal(55.65, samples["test_duration_seconds_sum"], 9);
    }
}
