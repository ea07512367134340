using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Rampart.Auth;
using Rampart.OpenAI;

namespace Rampart.Benchmarks;

/// <summary>The per-request pieces of the gateway core: key verification and request parse + validation.</summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private AccessSnapshot _snapshot = null!;
    private string _key = "";
    private byte[] _requestBody = [];

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
}
