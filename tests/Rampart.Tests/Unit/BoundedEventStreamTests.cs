using System.Text;
using Rampart.Providers;

namespace Rampart.Tests.Unit;

public sealed class BoundedEventStreamTests
{
    private const int Limit = 64;

    [Fact]
    public async Task EventsWithinTheLimit_PassThroughUnchanged_HoweverTheReadsSplitThem()
    {
        var random = new Random(20261122);
        for (var run = 0; run < 2_000; run++)
        {
            var bytes = Encoding.UTF8.GetBytes(Events(random, count: random.Next(1, 40)));

            var read = await ReadAllAsync(bytes, random, Limit);

            Assert.Equal(bytes, read);
        }
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public async Task AnEventLongerThanTheLimit_EndsTheStream_EvenInShortLines(string newline)
    {
        var random = new Random(7);
        var ordinary = Events(random, count: 5);
        var runaway = string.Concat(Enumerable.Repeat("data: abcdefgh" + newline, 10)); // 150+ bytes, no blank line

        var ex = await Assert.ThrowsAsync<EventTooLargeException>(() => ReadAllAsync(Encoding.UTF8.GetBytes(ordinary + runaway), random, Limit));

        Assert.Equal(Limit, ex.MaxEventBytes);
    }

    [Fact]
    public async Task ALongLineWithoutAnyBreak_EndsTheStream()
    {
        var bytes = Encoding.UTF8.GetBytes("data: {}\n\ndata: " + new string('x', 10 * Limit));

        await Assert.ThrowsAsync<EventTooLargeException>(() => ReadAllAsync(bytes, new Random(3), Limit));
    }

    /// <summary>Events of at most <see cref="Limit"/> − 2 bytes: data, event and comment lines, every line ending SSE allows.</summary>
    private static string Events(Random random, int count)
    {
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            var newline = random.Next(3) switch { 0 => "\n", 1 => "\r\n", _ => "\r" };
            var ev = new StringBuilder();
            var lines = random.Next(1, 4);
            for (var line = 0; line < lines; line++)
            {
                var field = random.Next(3) switch { 0 => "data: ", 1 => "event: ", _ => ": " };
                ev.Append(field).Append(new string('v', random.Next(0, 10))).Append(newline);
            }

            Assert.True(ev.Length + newline.Length <= Limit - 2);
            text.Append(ev).Append(newline);
        }

        return text.ToString();
    }

    /// <summary>Reads everything through a bounded stream in reads of random sizes (1 byte up to the whole rest).</summary>
    private static async Task<byte[]> ReadAllAsync(byte[] source, Random random, long limit)
    {
        await using var bounded = new BoundedEventStream(new MemoryStream(source), limit);
        var result = new MemoryStream();
        var buffer = new byte[source.Length + 1];
        int read;
        while ((read = await bounded.ReadAsync(buffer.AsMemory(0, random.Next(1, buffer.Length + 1)))) > 0)
        {
            result.Write(buffer, 0, read);
        }

        return result.ToArray();
    }
}
