using System.Globalization;

namespace Rampart.LoadClient;

internal sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    private Arguments(string mode) => Mode = mode;

    public string Mode { get; }

    public List<KeyValuePair<string, string>> Headers { get; } = [];

    public static Arguments Parse(string[] args)
    {
        if (args.Length == 0)
        {
            throw new ArgumentException("Usage: Rampart.LoadClient ttfb|rate|streams --url URL --body FILE [--header \"Name: value\"]… (see Program.cs)");
        }

        var parsed = new Arguments(args[0]);
        for (var i = 1; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--name value' at '{args[i]}'.");
            }

            var name = args[i][2..];
            if (name == "header")
            {
                var colon = args[i + 1].IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    throw new ArgumentException($"A header is 'Name: value', not '{args[i + 1]}'.");
                }

                parsed.Headers.Add(new(args[i + 1][..colon].Trim(), args[i + 1][(colon + 1)..].Trim()));
            }
            else
            {
                parsed._values[name] = args[i + 1];
            }
        }

        return parsed;
    }

    public string Text(string name) =>
        _values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required.");

    public int Int(string name, int fallback) =>
        _values.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public string? OptionalText(string name) => _values.GetValueOrDefault(name);

    public int? OptionalInt(string name) =>
        _values.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : null;
}
