using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Rampart.Operations;

/// <summary>
/// Listens to this process's <see cref="GatewayMetrics"/> meter, the runtime's own <c>System.Runtime</c> meter and
/// Kestrel's connection counts (<see cref="KestrelInstruments"/>), and keeps running totals for <c>/metrics</c>.
/// Recording is lock-free and allocation-free once a series exists: one dictionary read and one atomic add per
/// measurement. A metric stops growing new series at <see cref="MaxSeriesPerMetric"/>; later label sets are counted in one <c>otel_metric_overflow="true"</c> series.
/// </summary>
internal sealed class MetricsCollector : IDisposable
{
    public const int MaxSeriesPerMetric = 2000;

    private const string RuntimeMeter = "System.Runtime";
    private const string KestrelMeter = "Microsoft.AspNetCore.Server.Kestrel";

    /// <summary>
    /// Connections open, and connections closed unanswered at the connection cap. Kestrel logs a warning for each of
    /// the latter, which a burst turns into thousands of lines, so that log category is kept to errors and the count is here.
    /// </summary>
    private static readonly string[] KestrelInstruments = ["kestrel.active_connections", "kestrel.rejected_connections"];

    private readonly MeterListener _listener = new();
    private readonly List<MetricFamily> _families = [];
    private readonly Lock _familiesLock = new();

    /// <param name="meter">This gateway's meter (<see cref="GatewayMetrics.Meter"/>): another gateway in the same process has its own.</param>
    public MetricsCollector(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Kestrel's meter comes from this host's meter factory, like ours: another host in the process has its own.
            if (instrument.Meter == meter || instrument.Meter.Name == RuntimeMeter
                || (instrument.Meter.Name == KestrelMeter && instrument.Meter.Scope == meter.Scope && KestrelInstruments.Contains(instrument.Name)))
            {
                var family = new MetricFamily(instrument);
                lock (_familiesLock)
                {
                    _families.Add(family);
                }

                listener.EnableMeasurementEvents(instrument, family);
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>Every metric now, in the Prometheus text exposition format (version 0.0.4).</summary>
    public string Scrape()
    {
        // Observable instruments (audit queue, runtime) report when asked; their callbacks land in the same families.
        _listener.RecordObservableInstruments();
        MetricFamily[] families;
        lock (_familiesLock)
        {
            families = [.. _families];
        }

        var text = new PrometheusTextWriter();
        foreach (var family in families.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            family.WriteTo(text);
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>One instrument's series. Observable instruments report whole values; the others report increments.</summary>
    private sealed class MetricFamily
    {
        private readonly ConcurrentDictionary<SeriesKey, Series> _series = new();
        private readonly bool _reportsTotals;
        private readonly double[]? _bounds;
        private Series? _overflow;
        private int _seriesCount;

        public MetricFamily(Instrument instrument)
        {
            var type = instrument.GetType();
            var definition = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
            _reportsTotals = instrument.IsObservable;
            Kind = definition == typeof(Counter<>) || definition == typeof(ObservableCounter<>) ? MetricKind.Counter
                : definition == typeof(Histogram<>) ? MetricKind.Histogram
                : MetricKind.Gauge;
            Name = PrometheusTextWriter.MetricName(instrument.Name, instrument.Unit, Kind);
            Help = instrument.Description ?? instrument.Name;
            if (Kind == MetricKind.Histogram)
            {
                _bounds = (instrument as Histogram<double>)?.Advice?.HistogramBucketBoundaries?.ToArray() ?? DefaultBounds;
            }
        }

        /// <summary>OpenTelemetry's default explicit bucket boundaries, for a histogram without advice.</summary>
        private static double[] DefaultBounds { get; } = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

        public string Name { get; }

        public string Help { get; }

        public MetricKind Kind { get; }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = Find(tags);
            if (_bounds is not null)
            {
                series.Observe(value, _bounds);
            }
            else if (_reportsTotals)
            {
                series.Set(value);
            }
            else
            {
                series.Add(value);
            }
        }

        public void WriteTo(PrometheusTextWriter text)
        {
            var all = _series.Values.Concat(_overflow is { } overflow ? [overflow] : []).OrderBy(s => s.Labels, StringComparer.Ordinal).ToList();
            if (all.Count == 0)
            {
                return;
            }

            text.Family(Name, Help, Kind);
            foreach (var series in all)
            {
                if (_bounds is null)
                {
                    text.Sample(Name, series.Labels, series.Value);
                }
                else
                {
                    series.WriteHistogram(text, Name, _bounds);
                }
            }
        }

        private Series Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var key = new SeriesKey(tags);
            if (_series.TryGetValue(key, out var series))
            {
                return series;
            }

            if (key.Count < 0 || Volatile.Read(ref _seriesCount) >= MaxSeriesPerMetric)
            {
                return _overflow ?? Interlocked.CompareExchange(ref _overflow, new Series(PrometheusTextWriter.OverflowLabels, _bounds), null) ?? _overflow;
            }

            var created = new Series(PrometheusTextWriter.Labels(tags), _bounds);
            var stored = _series.GetOrAdd(key, created);
            if (ReferenceEquals(stored, created))
            {
                Interlocked.Increment(ref _seriesCount);
            }

            return stored;
        }
    }

    /// <summary>
    /// Up to four tags as they were given, by reference to their strings: no allocation to look a series up. Instruments
    /// are always recorded with their tags in the same order, so the order is part of the key (names are compared, only
    /// values hashed). More than four tags marks the key as unusable (<see cref="Count"/> −1) and the measurement overflows.
    /// </summary>
    private readonly struct SeriesKey : IEquatable<SeriesKey>
    {
        private readonly string? _name0, _value0, _name1, _value1, _name2, _value2, _name3, _value3;
        private readonly int _hash;

        public SeriesKey(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            Count = tags.Length;
            if (tags.Length > 4)
            {
                Count = -1;
                return;
            }

            var hash = new HashCode();
            for (var i = 0; i < tags.Length; i++)
            {
                var name = tags[i].Key;
                // Rampart's own tags are strings; a runtime metric may tag with a number, formatted here (observable, once per scrape).
                var value = tags[i].Value as string ?? Convert.ToString(tags[i].Value, System.Globalization.CultureInfo.InvariantCulture);
                hash.Add(value, StringComparer.Ordinal);
                switch (i)
                {
                    case 0: (_name0, _value0) = (name, value); break;
                    case 1: (_name1, _value1) = (name, value); break;
                    case 2: (_name2, _value2) = (name, value); break;
                    default: (_name3, _value3) = (name, value); break;
                }
            }

            _hash = hash.ToHashCode();
        }

        public int Count { get; }

        public bool Equals(SeriesKey other) =>
            _hash == other._hash && Count == other.Count
            && string.Equals(_name0, other._name0, StringComparison.Ordinal) && string.Equals(_value0, other._value0, StringComparison.Ordinal)
            && string.Equals(_name1, other._name1, StringComparison.Ordinal) && string.Equals(_value1, other._value1, StringComparison.Ordinal)
            && string.Equals(_name2, other._name2, StringComparison.Ordinal) && string.Equals(_value2, other._value2, StringComparison.Ordinal)
            && string.Equals(_name3, other._name3, StringComparison.Ordinal) && string.Equals(_value3, other._value3, StringComparison.Ordinal);

        public override bool Equals(object? obj) => obj is SeriesKey other && Equals(other);

        public override int GetHashCode() => _hash;
    }

    /// <summary>One label set's running value, or a histogram's bucket counts and sum, updated with atomic operations only.</summary>
    private sealed class Series(string labels, double[]? bounds)
    {
        private readonly long[]? _buckets = bounds is null ? null : new long[bounds.Length + 1];
        private double _value;

        /// <summary>The label set as written in the exposition, e.g. <c>provider="openai"</c>; empty for none.</summary>
        public string Labels { get; } = labels;

        public double Value => Volatile.Read(ref _value);

        public void Add(double amount)
        {
            var current = Volatile.Read(ref _value);
            while (true)
            {
                var seen = Interlocked.CompareExchange(ref _value, current + amount, current);
                if (seen.Equals(current))
                {
                    return;
                }

                current = seen;
            }
        }

        public void Set(double value) => Volatile.Write(ref _value, value);

        /// <summary>A histogram observation: one bucket (the first bound at or above it, else +Inf) and the sum.</summary>
        public void Observe(double value, double[] bounds)
        {
            var index = Array.BinarySearch(bounds, value);
            Interlocked.Increment(ref _buckets![index >= 0 ? index : ~index]);
            Add(value);
        }

        /// <summary>
        /// Cumulative buckets, then sum and count. The count is the buckets' total as read, so <c>+Inf</c> and
        /// <c>_count</c> always agree even while observations arrive.
        /// </summary>
        public void WriteHistogram(PrometheusTextWriter text, string name, double[] bounds)
        {
            long cumulative = 0;
            for (var i = 0; i < bounds.Length; i++)
            {
                cumulative += Interlocked.Read(ref _buckets![i]);
                text.Bucket(name, Labels, PrometheusTextWriter.Number(bounds[i]), cumulative);
            }

            cumulative += Interlocked.Read(ref _buckets![bounds.Length]);
            text.Bucket(name, Labels, "+Inf", cumulative);
            text.Sample(name + "_sum", Labels, Value);
            text.Sample(name + "_count", Labels, cumulative);
        }
    }
}

internal enum MetricKind
{
    Counter,
    Gauge,
    Histogram,
}
