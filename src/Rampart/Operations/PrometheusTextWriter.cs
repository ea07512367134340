using System.Globalization;
using System.Text;

namespace Rampart.Operations;

/// <summary>
/// The Prometheus text exposition format, version 0.0.4: <c># HELP</c> and <c># TYPE</c> once per family, then one
/// <c>name{label="value",…} number</c> line per series, label values escaped (<c>\\</c>, <c>\"</c>, <c>\n</c>).
/// </summary>
internal sealed class PrometheusTextWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>The labels of the series that collects measurements beyond a metric's series limit (OpenTelemetry's convention).</summary>
    public const string OverflowLabels = "otel_metric_overflow=\"true\"";

    private readonly StringBuilder _text = new();

    /// <summary>
    /// An OpenTelemetry instrument name as Prometheus expects it: <c>rampart.request.duration</c> in seconds becomes
    /// <c>rampart_request_duration_seconds</c>; counters end in <c>_total</c>.
    /// </summary>
    public static string MetricName(string instrument, string? unit, MetricKind kind)
    {
        var name = new StringBuilder(instrument.Length + 16);
        foreach (var c in instrument)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
        }

        var suffix = unit switch
        {
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            _ => "",
        };
        if (suffix.Length > 0 && !name.ToString().EndsWith(suffix, StringComparison.Ordinal))
        {
            name.Append(suffix);
        }

        if (kind == MetricKind.Counter)
        {
            name.Append("_total");
        }

        return name.ToString();
    }

    /// <summary>A label set in exposition form; tag names are made valid label names, values escaped.</summary>
    public static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in tags)
        {
            if (text.Length > 0)
            {
                text.Append(',');
            }

            foreach (var c in key)
            {
                text.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
            }

            text.Append("=\"");
            foreach (var c in Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")
            {
                _ = c switch
                {
                    '\\' => text.Append(@"\\"),
                    '"' => text.Append("\\\""),
                    '\n' => text.Append(@"\n"),
                    _ => text.Append(c),
                };
            }

            text.Append('"');
        }

        return text.ToString();
    }

    public static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    public void Family(string name, string help, MetricKind kind)
    {
        _text.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", @"\\", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal)).Append('\n');
        _text.Append("# TYPE ").Append(name).Append(' ').Append(kind switch
        {
            MetricKind.Counter => "counter",
            MetricKind.Histogram => "histogram",
            _ => "gauge",
        }).Append('\n');
    }

    public void Sample(string name, string labels, double value)
    {
        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{').Append(labels).Append('}');
        }

        _text.Append(' ').Append(Number(value)).Append('\n');
    }

    public void Bucket(string name, string labels, string upperBound, long count)
    {
        _text.Append(name).Append("_bucket{");
        if (labels.Length > 0)
        {
            _text.Append(labels).Append(',');
        }

        _text.Append("le=\"").Append(upperBound).Append("\"} ").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    public override string ToString() => _text.ToString();
}
