using Rampart.OpenAI;

namespace Rampart.Guardrails.Rules;

/// <summary>One piece of text the caller wrote, and where it was (<c>messages[2].content</c>).</summary>
internal readonly record struct CallerText(string Location, string Text);

internal static class CallerTexts
{
    /// <summary>
    /// The <c>system</c> field and the content (string or text parts) of the caller's user, system and developer
    /// messages; with <paramref name="includeToolResults"/> also tool results, where indirect prompt injection arrives.
    /// Assistant turns are the model's own earlier answers and are not the caller's text.
    /// </summary>
    public static IEnumerable<CallerText> Of(ChatCompletionRequest request, bool includeToolResults)
    {
        if (!string.IsNullOrEmpty(request.System))
        {
            yield return new CallerText("system", request.System);
        }

        var messages = request.Messages ?? [];
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Role is not ("user" or "system" or "developer") && !(includeToolResults && message.Role == "tool"))
            {
                continue;
            }

            if (message.Content?.Text is { Length: > 0 } text)
            {
                yield return new CallerText($"messages[{i}].content", text);
            }
            else if (message.Content?.Parts is { } parts)
            {
                for (var j = 0; j < parts.Count; j++)
                {
                    if (parts[j].Text is { Length: > 0 } partText)
                    {
                        yield return new CallerText($"messages[{i}].content[{j}].text", partText);
                    }
                }
            }
        }
    }
}
