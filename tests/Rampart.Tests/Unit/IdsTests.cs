using Rampart.Data;

namespace Rampart.Tests.Unit;

public sealed class IdsTests
{
    [Fact]
    public void TimeOrderedIds_SortAsTheirTimes_AndDifferWithinOneMillisecond()
    {
        var start = new DateTimeOffset(2026, 11, 22, 4, 30, 0, TimeSpan.Zero);
        var times = Enumerable.Range(0, 2000).Select(i => start.AddMilliseconds(i * 37 % 1000 + i / 10 * 1000)).ToList();

        var byTime = times.Select(t => (Time: t, Id: Ids.TimeOrderedBase62(t))).OrderBy(x => x.Time).ToList();

        Assert.All(byTime, x => Assert.Matches("^[0-9A-Za-z]{22}$", x.Id));
        foreach (var (a, b) in byTime.Zip(byTime.Skip(1)))
        {
            var order = string.CompareOrdinal(a.Id[..8], b.Id[..8]);
            Assert.True(a.Time == b.Time ? order == 0 : order < 0, $"{a.Time:O} {a.Id} before {b.Time:O} {b.Id}");
        }

        var sameMillisecond = Enumerable.Range(0, 1000).Select(_ => Ids.TimeOrderedBase62(start)).ToList();
        Assert.Equal(1000, sameMillisecond.Distinct(StringComparer.Ordinal).Count());
        Assert.All(sameMillisecond, id => Assert.Equal(sameMillisecond[0][..8], id[..8]));
    }

    [Fact]
    public void TimeOrderedIds_KeepTheirOrderAcrossYears()
    {
        var earlier = Ids.TimeOrderedBase62(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var later = Ids.TimeOrderedBase62(new DateTimeOffset(2226, 1, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.True(string.CompareOrdinal(earlier, later) < 0);
    }
}
