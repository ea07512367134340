using System.Globalization;

namespace Rampart.Eval;

/// <summary>
/// dotnet run -c Release --project bench/Rampart.Eval [-- --verbose] [-- --no-write] [-- --tripwires]
/// Prints precision and recall per PII type and detection per secret family on a generated corpus (fixed seed),
/// writes docs/guardrail-eval.md, and exits 1 when a target from issue 3 is missed. With <c>--tripwires</c>: the
/// prompt-injection tripwires' false-positive rate and recall instead, written to docs/firewall-eval.md.
/// </summary>
internal static class EvalCommand
{
    public const int Seed = 20261122;

    public static int Main(string[] args)
    {
        if (args.Contains("--tripwires"))
        {
            return Tripwires(args);
        }

        var report = Evaluation.Run(Seed, piiPerType: 500, piiNegativesPerKind: 40, secretRounds: 50, secretNegativeRounds: 5);
        var table = Evaluation.Markdown(report);
        Console.WriteLine(table);
        if (args.Contains("--verbose"))
        {
            foreach (var miss in report.Misses)
            {
                Console.WriteLine(miss);
            }
        }
        else if (report.Misses.Count > 0)
        {
            Console.WriteLine($"{report.Misses.Count} misses and false positives; --verbose lists them.");
        }

        if (!args.Contains("--no-write"))
        {
            Write(table);
        }

        Console.WriteLine(report.MeetsTargets ? "All targets met." : "TARGETS MISSED.");
        return report.MeetsTargets ? 0 : 1;
    }

    private static int Tripwires(string[] args)
    {
        var report = TripwireEvaluation.Run();
        var table = TripwireEvaluation.Markdown(report);
        Console.WriteLine(table);
        foreach (var line in report.FalsePositives.Select(f => "false positive: " + f).Concat(args.Contains("--verbose") ? report.Missed.Select(m => "missed: " + m) : []))
        {
            Console.WriteLine(line);
        }

        if (!args.Contains("--no-write") && RepositoryRoot() is { } root)
        {
            var date = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var missed = string.Join("\n", report.Missed.Select(m => $"- {m.ReplaceLineEndings(" ")}"));
            var falsePositives = string.Join("\n", report.FalsePositives.Select(f => $"- {f.ReplaceLineEndings(" ")}"));
            File.WriteAllText(Path.Combine(root, "docs", "firewall-eval.md"), $"""
                # Prompt-injection tripwire evaluation

                Generated {date} by

                ```bash
                dotnet run -c Release --project bench/Rampart.Eval -- --tripwires
                ```

                The corpus is `bench/Rampart.Eval/TripwireCorpus.cs`: {TripwireCorpus.Ordinary.Length} hand-written ordinary prompts —
                many of them near misses on purpose (prompts that mention instructions, system prompts, ignoring, forgetting,
                developer mode, "Dan"; code; German, French, Spanish, Italian, Portuguese, Russian, Chinese, Japanese, Korean,
                Arabic, Hebrew, Hindi, Persian, Thai and more; emoji ZWJ sequences, subdivision flags, a byte-order mark, a
                variation selector, a lone zero-width space and ZWNJ) — plus {report.Ordinary - TripwireCorpus.Ordinary.Length}
                generated from templates on many subjects, and {report.Attacks} attacks: instruction overrides and jailbreak persona
                switches in nine languages (one hidden inside an e-mail to summarise, one split by a zero-width space), system
                prompt extraction attempts, and hidden-character payloads (Unicode tag smuggling, Trojan Source bidi overrides,
                zero-width and variation-selector runs).

                An ordinary prompt that sets off any tripwire is a false positive; an attack counts as caught when the tripwire of
                its kind fires. The target (issue 5) is precision over recall: at most 1% false positives.
                `tests/Rampart.Tests/Firewall/TripwireEvaluationTests.cs` asserts it in CI.

                {table}
                False positives (an ordinary prompt that quotes an attack phrase word for word is indistinguishable from one):

                {(falsePositives.Length == 0 ? "- none" : falsePositives)}

                The last 18 attacks of the corpus were written after the phrasings were tuned and left as they were, to keep
                the recall figure honest; most misses are among them. Attacks missed (known gaps: paraphrases without the tell-tale phrasing, role-play framing, encodings such as
                base64 — the tripwires look for the common, explicit forms only):

                {(missed.Length == 0 ? "- none" : missed)}

                """.ReplaceLineEndings("\n"));
        }

        Console.WriteLine(report.MeetsTarget ? "Target met." : "TARGET MISSED.");
        return report.MeetsTarget ? 0 : 1;
    }

    private static string? RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Rampart.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName;
    }

    private static void Write(string table)
    {
        if (RepositoryRoot() is not { } root)
        {
            return;
        }

        var date = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var text = $"""
            # Guardrail evaluation

            Generated {date} by

            ```bash
            dotnet run -c Release --project bench/Rampart.Eval
            ```

            The corpus is generated at run time from a fixed seed ({Seed}) by `bench/Rampart.Eval`: for every PII type 500
            values in realistic sentences (phone numbers of the US, UK, Germany, France, Italy, Spain and the Netherlands in
            international and national formats; every card network in grouped and compact forms; IBANs of 25 countries
            with computed check digits; IPv6 full, compressed and upper-case; Base58Check, bech32 and bech32m Bitcoin
            addresses and EIP-55 Ethereum addresses …), and 40 of each of 55 kinds of hard negative (order numbers,
            version strings, timestamps, UUIDs, git SHAs, Luhn-failing digit runs, ISBNs, never-issued SSN and ITIN
            ranges, bad-checksum IBANs, routing numbers, NHS numbers and wallets, dates without birth context …). Every
            secret family of `SecretRules` is generated 50 times in each of its formats, and the negatives are
            placeholders, documented example keys and near-misses.

            Scoring: a PII finding is a true positive when it overlaps a labelled value of the same type; any other
            finding is a false positive of its type. Targets (issue 3): precision ≥ 0.99 and recall ≥ 0.98 for the seed
            types and the checksum-validated ones ("met"); the others are reported. Every secret family must be caught in
            every format, with no finding on any negative. The command exits non-zero when a target is missed, and
            `tests/Rampart.Tests/Guardrails/GuardrailEvaluationTests.cs` runs it on a smaller corpus in CI.

            {table}
            """;
        File.WriteAllText(Path.Combine(root, "docs", "guardrail-eval.md"), text.ReplaceLineEndings("\n"));
    }
}
