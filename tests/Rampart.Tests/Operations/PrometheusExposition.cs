using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Rampart.Tests.Operations;

/// <summary>
/// A strict reader of the Prometheus text exposition format (0.0.4), line by line: it fails on anything a Prometheus
/// server would reject (bad names, bad escapes, samples outside their family, duplicate series, histograms whose
/// buckets are not cumulative or whose <c>+Inf</c> bucket differs from <c>_count</c>), and returns every sample.
/// </summary>
public static partial class PrometheusExposition
{
    public static IReadOnlyDictionary<string, double> Parse(string text)
    {
        Assert.EndsWith("\n", text);
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var helped = new HashSet<string>(StringComparer.Ordinal);
        string? family = null;
        var lineNumber = 0;
        foreach (var line in text[..^1].Split('\n'))
        {
            lineNumber++;
            var where = $"line {lineNumber}: {line}";
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var help = HelpLine().Match(line);
                Assert.True(help.Success, where);
                Assert.True(helped.Add(help.Groups[1].Value), "HELP twice, " + where);
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var type = TypeLine().Match(line);
                Assert.True(type.Success, where);
                family = type.Groups[1].Value;
                Assert.True(types.TryAdd(family, type.Groups[2].Value), "TYPE twice, " + where);
                Assert.DoesNotContain(samples.Keys, k => k.StartsWith(family + "{", StringComparison.Ordinal) || k == family);
                continue;
            }

            Assert.False(line.StartsWith('#'), "unknown comment, " + where);
            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, "not a sample, " + where);
            var name = sample.Groups["name"].Value;
            Assert.NotNull(family);
            var allowed = types[family] == "histogram"
                ? new[] { family + "_bucket", family + "_sum", family + "_count" }
                : [family];
            Assert.True(allowed.Contains(name), $"sample outside its family {family}, " + where);
            var labels = ParseLabels(sample.Groups["labels"].Value, where);
            var key = Key(name, labels);
            Assert.True(samples.TryAdd(key, ParseNumber(sample.Groups["value"].Value, where)), "duplicate series, " + where);
        }

        foreach (var (name, type) in types.Where(t => t.Value == "histogram"))
        {
            CheckHistogram(name, samples);
        }

        return samples;
    }

    /// <summary>The key of one sample in <see cref="Parse"/>'s result: <c>name{a="x",b="y"}</c> with labels sorted by name.</summary>
    public static string Key(string name, IEnumerable<KeyValuePair<string, string>> labels)
    {
        var sorted = labels.OrderBy(l => l.Key, StringComparer.Ordinal).ToList();
        return sorted.Count == 0 ? name : $"{name}{{{string.Join(",", sorted.Select(l => $"{l.Key}=\"{l.Value}\""))}}}";
    }

    public static string Key(string name, params (string Name, string Value)[] labels) =>
        Key(name, labels.Select(l => KeyValuePair.Create(l.Name, l.Value)));

    /// <summary>A sample's value, 0 when the series does not exist yet (counters start at zero).</summary>
    public static double Value(this IReadOnlyDictionary<string, double> samples, string name, params (string Name, string Value)[] labels) =>
        samples.GetValueOrDefault(Key(name, labels));

    private static List<KeyValuePair<string, string>> ParseLabels(string text, string where)
    {
        var labels = new List<KeyValuePair<string, string>>();
        if (text.Length == 0)
        {
            return labels;
        }

        var position = 0;
        while (position < text.Length)
        {
            var label = LabelPair().Match(text, position);
            Assert.True(label.Success && label.Index == position, "bad label, " + where);
            var value = new StringBuilder();
            var raw = label.Groups[2].Value;
            for (var i = 0; i < raw.Length; i++)
            {
                if (raw[i] != '\\')
                {
                    value.Append(raw[i]);
                    continue;
                }

                i++;
                value.Append(raw[i] switch
                {
                    '\\' => '\\',
                    '"' => '"',
                    'n' => '\n',
                    _ => throw new Xunit.Sdk.XunitException("bad escape, " + where),
                });
            }

            Assert.DoesNotContain(labels, l => l.Key == label.Groups[1].Value);
            labels.Add(KeyValuePair.Create(label.Groups[1].Value, value.ToString()));
            position += label.Length;
            if (position < text.Length)
            {
                Assert.Equal(',', text[position]);
                position++;
            }
        }

        return labels;
    }

    private static double ParseNumber(string text, string where) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : throw new Xunit.Sdk.XunitException("bad number, " + where),
    };

    /// <summary>Per label set: buckets in increasing <c>le</c>, counts never decreasing, a <c>+Inf</c> bucket equal to <c>_count</c>, and a <c>_sum</c>.</summary>
    private static void CheckHistogram(string name, Dictionary<string, double> samples)
    {
        var buckets = samples.Where(s => s.Key.StartsWith(name + "_bucket{", StringComparison.Ordinal))
            .Select(s => (Labels: ParseLabels(s.Key[(name.Length + 8)..^1], s.Key), Count: s.Value))
            .GroupBy(b => Key(name, b.Labels.Where(l => l.Key != "le")), StringComparer.Ordinal);
        foreach (var series in buckets)
        {
            var ordered = series.Select(b => (Le: ParseNumber(b.Labels.Single(l => l.Key == "le").Value, series.Key), b.Count)).OrderBy(b => b.Le).ToList();
            Assert.Equal(double.PositiveInfinity, ordered[^1].Le);
            for (var i = 1; i < ordered.Count; i++)
            {
                Assert.True(ordered[i].Count >= ordered[i - 1].Count, $"{series.Key}: bucket le={ordered[i].Le} below the one before");
            }

            var labels = series.Key[name.Length..];
            Assert.Equal(ordered[^1].Count, samples[name + "_count" + labels]);
            Assert.True(samples.ContainsKey(name + "_sum" + labels), $"{series.Key}: no _sum");
        }
    }

    [GeneratedRegex(@"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (?:[^\\\n]|\\\\|\\n)*$")]
    private static partial Regex HelpLine();

    [GeneratedRegex(@"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>(?:[^""}]|""(?:[^""\\]|\\.)*"")*)\})? (?<value>[^ ]+)(?: -?[0-9]+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\\n]|\\.)*)""")]
    private static partial Regex LabelPair();
}
