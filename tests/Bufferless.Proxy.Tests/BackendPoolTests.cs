using System.Net;

namespace Bufferless.Proxy.Tests;

public class BackendPoolTests
{
    private static readonly EndPoint[] Three =
        [new IPEndPoint(IPAddress.Loopback, 1001), new IPEndPoint(IPAddress.Loopback, 1002), new IPEndPoint(IPAddress.Loopback, 1003)];

    /// <summary>The backend indexes a connection starting at <paramref name="start"/> would try, in order.</summary>
    private static List<int> Order(BackendPool pool, uint start)
    {
        ulong down = pool.DownMask(start);
        var order = new List<int>();
        for (int attempt = 0; attempt < 2 * pool.Count; attempt++)
        {
            if (pool.TryPick(start, attempt, down, out int index))
                order.Add(index);
        }
        return order;
    }

    [Fact]
    public void AllUp_RoundRobinFromTheStart_EachOnce()
    {
        var pool = new BackendPool(Three, TimeSpan.FromSeconds(10), () => 1000);
        Assert.Equal([0, 1, 2], Order(pool, 0));
        Assert.Equal([1, 2, 0], Order(pool, 1));
        Assert.Equal([2, 0, 1], Order(pool, 5));
    }

    [Fact]
    public void FailedConnect_TriedLastUntilTheFailTimeout_ThenInTurnAgain()
    {
        long now = 1000;
        var pool = new BackendPool(Three, TimeSpan.FromSeconds(10), () => now);
        Assert.True(pool.MarkDown(1));
        Assert.False(pool.MarkDown(1)); // already down: no second "marked down"
        Assert.True(pool.IsDown(1));
        Assert.Equal([0, 2, 1], Order(pool, 0));
        Assert.Equal([2, 0, 1], Order(pool, 1));
        now += 9_999;
        Assert.Equal([2, 0, 1], Order(pool, 1));
        now += 1;
        Assert.False(pool.IsDown(1));
        Assert.Equal([1, 2, 0], Order(pool, 1));
        Assert.True(pool.MarkUp(1)); // it had been marked: "connects again" is logged once
        Assert.False(pool.MarkUp(1));
    }

    [Fact]
    public void AllDown_StillAllTried_InRoundRobinOrder()
    {
        var pool = new BackendPool(Three, TimeSpan.FromSeconds(10), () => 1000);
        pool.MarkDown(0); pool.MarkDown(1); pool.MarkDown(2);
        Assert.Equal([1, 2, 0], Order(pool, 1));
    }

    [Fact]
    public void ZeroFailTimeout_PlainRoundRobin_NothingMarked()
    {
        var pool = new BackendPool(Three, TimeSpan.Zero, () => 1000);
        Assert.False(pool.MarkDown(0));
        Assert.False(pool.IsDown(0));
        Assert.Equal([0, 1, 2], Order(pool, 0));
    }
}
