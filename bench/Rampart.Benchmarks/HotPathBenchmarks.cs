using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Rampart.Auth;
using Rampart.Hosting;
using Rampart.OpenAI;

namespace Rampart.Benchmarks;

/// <summary>The per-request pieces of the gateway core: key verification, admission, and request parse + validation.</summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private AccessSnapshot _snapshot = null!;
    private string _key = "";
    private byte[] _requestBody = [];
    private readonly Admission _admission = new(new ConfigurationBuilder().Build());

    [GlobalSetup]
    public void Setup()
    {
        // 10,000 keys in the snapshot, as a large organisation would have.
        var user = new User("usr_bench", "bench@example.test", "Bench", OrgRoles.Member, null, 0, null);
        var keys = new List<ApiKeyRecord>();
        for (var i = 0; i < 10_000; i++)
        {
            var generated = ApiKeys.Generate();
            keys.Add(new ApiKeyRecord($"key_{i}", user.Id, "k", generated.Hash, generated.Prefix, 0, null, 0, null, null));
            if (i == 5_000)
            {
                _key = generated.Key;
            }
        }

        _snapshot = new AccessSnapshot(1, [user], [], [], keys);
        _requestBody = Encoding.UTF8.GetBytes("""
            {"model":"default","stream":true,"temperature":0.2,"messages":[
              {"role":"system","content":"You are a helpful assistant."},
              {"role":"user","content":"Summarise the attached quarterly report in three bullet points, keep numbers exact."},
              {"role":"assistant","content":"Sure - please paste the report."},
              {"role":"user","content":[{"type":"text","text":"Revenue grew 12% to $4.1M; churn fell to 2.3%; headcount 48."}]}
            ]}
            """);
    }

    [Benchmark]
    public bool VerifyKey() => ApiKeys.IsWellFormed(_key) && _snapshot.FindKey(ApiKeys.Hash(_key)) is not null;

    [Benchmark]
    public bool ParseAndValidateRequest()
    {
        var request = JsonSerializer.Deserialize(_requestBody, OpenAIJson.Wire.ChatCompletionRequest)!;
        return ChatRequestValidator.Validate(request) is null;
    }

    /// <summary>The baseline of <see cref="AdmissionEnterAndLeave"/>: the same context over the same body, no admission.</summary>
    [Benchmark]
    public bool ContextOverBody()
    {
        var http = new DefaultHttpContext();
        http.Request.Body = new MemoryStream(_requestBody, writable: false);
        return http.Request.Body.CanRead;
    }

    /// <summary>
    /// A place taken and given back for a request whose body has arrived, uncontended (the common case), including
    /// the arrival check's read of the body pipe; a fresh <see cref="DefaultHttpContext"/> over the body each time, so
    /// subtract <see cref="ContextOverBody"/>. Here the body pipe is an adapter over a stream, created on first use;
    /// Kestrel's is the connection's own.
    /// </summary>
    [Benchmark]
    public async Task<bool> AdmissionEnterAndLeave()
    {
        var http = new DefaultHttpContext();
        http.Request.Body = new MemoryStream(_requestBody, writable: false);
        var (place, _) = await _admission.EnterAsync(http.Request, CancellationToken.None);
        place!.Dispose();
        return place is not null;
    }
}
