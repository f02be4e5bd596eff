using Bufferless.Packets.Timers;

namespace Bufferless.Packets.Tests.Flows;

public class TimerQueueTests
{
    [Fact]
    public void TryPopDue_AtDeadline_NothingFires_OneTickLater_FiresOnce()
    {
        var q = new TimerQueue(8, (_, _) => true);
        q.Schedule(1000, 3);
        Assert.False(q.TryPopDue(1000, out _, out _));
        Assert.True(q.TryPopDue(1001, out int h, out long d));
        Assert.Equal((3, 1000L), (h, d));
        Assert.False(q.TryPopDue(1001, out _, out _));
    }

    [Fact]
    public void TryPopDue_PopsInDeadlineOrder()
    {
        var q = new TimerQueue(64, (_, _) => true);
        var rng = new Random(5);
        var deadlines = Enumerable.Range(0, 50).Select(_ => (long)rng.Next(10_000)).ToArray();
        for (int i = 0; i < deadlines.Length; i++)
            q.Schedule(deadlines[i], i);
        var popped = new List<long>();
        while (q.TryPopDue(long.MaxValue, out _, out long d))
            popped.Add(d);
        Assert.Equal(deadlines.Order(), popped);
    }

    [Fact]
    public void Schedule_WhenFull_DropsStaleEntries()
    {
        var live = new HashSet<int> { 1 };
        var q = new TimerQueue(4, (h, _) => live.Contains(h));
        for (int i = 0; i < 4; i++)
            q.Schedule(100 + i, i);
        q.Schedule(50, 9);
        live.Add(9);
        Assert.Equal(2, q.Count);
        Assert.Equal(50, q.EarliestDeadline);
    }
}
