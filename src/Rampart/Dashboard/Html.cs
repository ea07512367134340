using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;

namespace Rampart.Dashboard;

/// <summary>
/// A fragment of HTML that is already safe to write. The only ways to make one are <see cref="Of"/>, whose
/// interpolated values are HTML-encoded unless they are themselves <see cref="Html"/>, and <see cref="Raw"/>,
/// kept for constant markup. So a user-provided string can reach a page only encoded.
/// </summary>
internal readonly record struct Html(string Value)
{
    public static readonly Html Empty = new("");

    public static Html Of([InterpolatedStringHandlerArgument] ref HtmlInterpolation html) => html.ToHtml();

    /// <summary>Constant markup written by this code; never pass it data.</summary>
    public static Html Raw(string markup) => new(markup);

    public static Html Join(IEnumerable<Html> parts)
    {
        var builder = new StringBuilder();
        foreach (var part in parts)
        {
            builder.Append(part.Value);
        }

        return new Html(builder.ToString());
    }

    public static Html When(bool condition, Html html) => condition ? html : Empty;

    public static string Encode(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    public override string ToString() => Value;
}

[InterpolatedStringHandler]
internal ref struct HtmlInterpolation
{
    private readonly StringBuilder _builder;

    public HtmlInterpolation(int literalLength, int formattedCount)
    {
        _builder = new StringBuilder(literalLength + (formattedCount * 16));
    }

    public readonly void AppendLiteral(string literal) => _builder.Append(literal);

    public readonly void AppendFormatted(Html html) => _builder.Append(html.Value);

    public readonly void AppendFormatted(string? text) => _builder.Append(Html.Encode(text));

    public readonly void AppendFormatted<T>(T value) =>
        _builder.Append(Html.Encode(value is IFormattable formattable ? formattable.ToString(null, CultureInfo.InvariantCulture) : value?.ToString()));

    public readonly void AppendFormatted<T>(T value, string format)
        where T : IFormattable => _builder.Append(Html.Encode(value.ToString(format, CultureInfo.InvariantCulture)));

    public readonly Html ToHtml() => new(_builder.ToString());
}
