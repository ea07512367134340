using Rampart.Guardrails;
using Rampart.OpenAI;
using Rampart.Streaming;

namespace Rampart.Tests.Guardrails;

public sealed class RestorationTests
{
    private static (PiiVault Vault, string Obfuscated, string Original) Vault()
    {
        var vault = new PiiVault();
        var email = vault.PlaceholderFor("EMAIL", "ann@corp.example");
        var phone = vault.PlaceholderFor("PHONE", "+44 20 7946 0958");
        var again = vault.PlaceholderFor("EMAIL", "ann@corp.example");
        Assert.Equal(email, again);
        var obfuscated = $"Write to {email} or call {phone}; [not a placeholder] and [REDACTED_EMAIL_9] stay; again {email}.";
        var original = "Write to ann@corp.example or call +44 20 7946 0958; [not a placeholder] and [REDACTED_EMAIL_9] stay; again ann@corp.example.";
        return (vault, obfuscated, original);
    }

    [Fact]
    public void Vault_NumbersPerTypeAndValue()
    {
        var vault = new PiiVault();

        Assert.Equal("[REDACTED_EMAIL_1]", vault.PlaceholderFor("EMAIL", "a@x.example"));
        Assert.Equal("[REDACTED_EMAIL_2]", vault.PlaceholderFor("EMAIL", "b@x.example"));
        Assert.Equal("[REDACTED_PHONE_1]", vault.PlaceholderFor("PHONE", "+1 415 555 2671"));
        Assert.Equal("[REDACTED_EMAIL_1]", vault.PlaceholderFor("EMAIL", "a@x.example"));
        Assert.True(vault.TryGetOriginal("[REDACTED_EMAIL_2]", out var original));
        Assert.Equal("b@x.example", original);
    }

    [Fact]
    public void Restoration_IsExact_WhateverTheSplitPoint()
    {
        var (vault, obfuscated, original) = Vault();

        for (var split = 0; split <= obfuscated.Length; split++)
        {
            var lane = new TextLane(null, vault);
            var output = lane.Push(obfuscated[..split]) + lane.Push(obfuscated[split..]) + lane.Flush();
            Assert.Equal(original, output);
        }
    }

    [Fact]
    public void Restoration_IsExact_OneCharacterAtATime_AndWithRandomPieces()
    {
        var (vault, obfuscated, original) = Vault();
        var lane = new TextLane(null, vault);
        Assert.Equal(original, string.Concat(obfuscated.Select(c => lane.Push(c.ToString()))) + lane.Flush());

        var random = new Random(7);
        for (var round = 0; round < 500; round++)
        {
            var pieces = new List<string>();
            for (var position = 0; position < obfuscated.Length;)
            {
                var size = Math.Min(random.Next(1, 12), obfuscated.Length - position);
                pieces.Add(obfuscated.Substring(position, size));
                position += size;
            }

            var fresh = new TextLane(null, vault);
            Assert.Equal(original, string.Concat(pieces.Select(fresh.Push)) + fresh.Flush());
        }
    }

    [Fact]
    public void OrdinaryText_IsNeverHeldBack()
    {
        var (vault, _, _) = Vault();
        var lane = new TextLane(null, vault);

        foreach (var piece in new[] { "Hello", " there,", " how [are] you", " today? ", "[x" })
        {
            Assert.Equal(piece, lane.Push(piece));
        }

        Assert.False(lane.HasPending);
    }

    [Fact]
    public void OnlyAPossiblePlaceholderPrefix_IsHeld()
    {
        var (vault, _, _) = Vault();
        var lane = new TextLane(null, vault);

        Assert.Equal("Mail ", lane.Push("Mail [REDAC"));
        Assert.Equal("ann@corp.example now", lane.Push("TED_EMAIL_1] now"));
        Assert.Equal("end [REDACTED_EM", lane.Push("end [REDACTED_EM") + lane.Flush());
    }

    [Fact]
    public void Stream_RestoresAcrossInterleavedChoicesAndToolArguments()
    {
        var (vault, obfuscated, original) = Vault();
        var rewriter = AnswerRewriter.Create(null, vault)!;
        var content = new[] { "", "", "", "" };
        var arguments = "";
        var random = new Random(3);
        var toolText = $"{{\"to\":\"{obfuscated}\"}}";

        var emitted = new List<ChatCompletionChunk>();
        void Send(ChatCompletionChunk chunk)
        {
            if (rewriter.Rewrite(chunk) is { } outgoing)
            {
                emitted.Add(outgoing);
            }
        }

        for (int a = 0, t = 0; a < obfuscated.Length || t < toolText.Length;)
        {
            var sizeA = Math.Min(random.Next(1, 5), obfuscated.Length - a);
            var sizeT = Math.Min(random.Next(1, 5), toolText.Length - t);
            if (sizeA > 0)
            {
                Send(Chunk(0, new ChatDelta { Content = obfuscated.Substring(a, sizeA) }));
                Send(Chunk(1, new ChatDelta { Content = obfuscated.Substring(a, sizeA) }));
            }

            if (sizeT > 0)
            {
                Send(Chunk(2, new ChatDelta { ToolCalls = [new ToolCallDelta { Index = 0, Function = new FunctionCall { Arguments = toolText.Substring(t, sizeT) } }] }));
            }

            a += sizeA;
            t += sizeT;
        }

        Send(Chunk(0, new ChatDelta(), "stop"));
        Send(Chunk(1, new ChatDelta(), "stop"));
        Send(Chunk(2, new ChatDelta(), "tool_calls"));
        emitted.AddRange(rewriter.Flush());

        foreach (var choice in emitted.SelectMany(c => c.Choices))
        {
            content[choice.Index] += choice.Delta.Content;
            arguments += string.Concat(choice.Delta.ToolCalls?.Select(t => t.Function?.Arguments) ?? []);
        }

        Assert.Equal(original, content[0]);
        Assert.Equal(original, content[1]);
        Assert.Equal($"{{\"to\":\"{original}\"}}", arguments);
        Assert.All(emitted, c => Assert.NotEmpty(c.Choices));
    }

    [Fact]
    public void Stream_AChunkRestorationLeavesAsItWas_IsTheChunkItself_OneItChanges_IsACopy()
    {
        var (vault, _, _) = Vault();
        var rewriter = AnswerRewriter.Create(null, vault)!;
        var plain = Chunk(0, new ChatDelta { Content = "Sure, I will " });
        var tool = Chunk(0, new ChatDelta { ToolCalls = [new ToolCallDelta { Index = 0, Function = new FunctionCall { Name = "send", Arguments = "{\"a\":1" } }] });
        var held = Chunk(0, new ChatDelta { Content = "write to [REDACTED_EM" });
        var restored = Chunk(0, new ChatDelta { Content = "AIL_1] now" });

        Assert.Same(plain, rewriter.Rewrite(plain));
        Assert.Same(tool, rewriter.Rewrite(tool));
        var first = rewriter.Rewrite(held)!;
        var second = rewriter.Rewrite(restored)!;

        Assert.NotSame(held, first);
        Assert.Equal("write to ", first.Choices[0].Delta.Content);
        Assert.Equal("ann@corp.example now", second.Choices[0].Delta.Content);
        Assert.Equal("write to [REDACTED_EM", held.Choices[0].Delta.Content);
    }

    [Fact]
    public void OutputScan_RedactsASecretAndPiiSplitAcrossDeltas_AndLetsOrdinaryWordsThrough()
    {
        var token = "ghp_" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);
        var text = $"Your token is {token} and mail me at bob@corp.example or call +44 20 7946 0958 today. password: Zq8xW2mKp9Lr ok";
        var lane = new TextLane(new OutputScanner(scanPii: true), null);

        var pieces = new List<string>();
        for (var i = 0; i < text.Length; i += 3)
        {
            pieces.Add(lane.Push(text.Substring(i, Math.Min(3, text.Length - i))));
        }

        var output = string.Concat(pieces) + lane.Flush();

        Assert.Equal("Your token is [REDACTED_SECRET] and mail me at [REDACTED_EMAIL] or call [REDACTED_PHONE] today. password: [REDACTED_SECRET] ok", output);
        // Ordinary words leave as soon as the next space arrives: by the time "and" is being written, "Your token is " is out.
        Assert.StartsWith("Your token is ", string.Concat(pieces.Take(6)));
    }

    [Fact]
    public void OutputScan_SkippingSegmentsWithoutAKeyword_ReleasesExactlyWhatScanningEverySegmentDoes()
    {
        // Streams of ordinary words, keywords alone and secrets and PII in sentences, cut into random deltas: the lane
        // that scans for secrets only where a keyword may be must release the same text, piece by piece, as the lane
        // that scans every segment.
        string[] pieces =
        [
            .. FakeSecrets.All().Select(s => s.Text), "the", "report", "is", "ready", "café", "über", "日本語", "key", "token", "secret",
            "password:", "pwd=", "Bearer", "basic", "authorization:", "aws", "SK", "Q~", "://", "discord", "github_pat_",
            "PRIVATE KEY", "-----BEGIN", "ann@corp.example", "+44 20 7946 0958", "4111 1111 1111 1111", "aa:bb:cc:dd:ee:ff",
            "[REDACTED_SECRET]", "Zq8xW2mKp9Lr", "x" + new string('y', 300), new string('z', 1_100),
        ];
        string[] glue = [" ", "  ", "\n", ", ", ". ", "", "=", ": "];
        var random = new Random(20261123);
        var redacted = 0;
        for (var round = 0; round < 1_500; round++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(1, 40)).Select(_ => pieces[random.Next(pieces.Length)] + glue[random.Next(glue.Length)]));
            var (tracked, reference) = (new OutputScanner(scanPii: true), new OutputScanner(scanPii: true));
            var (fast, full) = (new TextLane(tracked, null), new TextLane(reference, null, trackKeywords: false));
            for (var at = 0; at < text.Length;)
            {
                var delta = text.Substring(at, Math.Min(random.Next(1, 26), text.Length - at));
                at += delta.Length;
                Assert.True(full.Push(delta) == fast.Push(delta), $"differs on: {text}");
            }

            Assert.Equal(full.Flush(), fast.Flush());
            Assert.Equal((reference.SecretsRedacted, reference.PiiRedacted), (tracked.SecretsRedacted, tracked.PiiRedacted));
            redacted += reference.SecretsRedacted > 0 ? 1 : 0;
        }

        Assert.InRange(redacted, 500, 1_500);
    }

    [Fact]
    public void OutputScan_AKeywordCutByTheHoldLimit_IsSeenAcrossTheCut()
    {
        // A word longer than the lane holds is released from its start, one character per character pushed here, so the
        // cuts fall inside the keyword "ghp_": the keyword is only whole when the characters before the new segment are
        // read with it.
        var token = "ghp_" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);
        var text = "see " + token + new string('z', 1_100) + " end";
        var (tracked, reference) = (new OutputScanner(scanPii: false), new OutputScanner(scanPii: false));
        var (fast, full) = (new TextLane(tracked, null), new TextLane(reference, null, trackKeywords: false));

        var output = "";
        foreach (var c in text)
        {
            var released = full.Push(c.ToString());
            Assert.Equal(released, fast.Push(c.ToString()));
            output += released;
        }

        Assert.Equal(full.Flush(), fast.Flush());
        Assert.Equal(1, tracked.SecretsRedacted);
        Assert.Contains("[REDACTED_SECRET]", output, StringComparison.Ordinal);
    }

    private static ChatCompletionChunk Chunk(int index, ChatDelta delta, string? finish = null) =>
        new() { Id = "c", Model = "m", Choices = [new ChunkChoice { Index = index, Delta = delta, FinishReason = finish }] };
}
