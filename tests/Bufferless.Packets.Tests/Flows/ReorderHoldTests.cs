using Bufferless.Packets.Flows;

namespace Bufferless.Packets.Tests.Flows;

public class ReorderHoldTests
{
    [Fact]
    public void TryTake_GapClosesInOrder_ReturnsHeldSegmentsThenNothing()
    {
        var hold = new ReorderHold();
        Assert.True(hold.TryAdd(2000, new byte[1000], fin: false));
        Assert.True(hold.TryAdd(3000, new byte[500], fin: true));
        Assert.False(hold.TryTake(1000, out _, out _, out _)); // the gap [1000, 2000) is still open

        Assert.True(hold.TryTake(2000, out uint seq, out ReadOnlySpan<byte> data, out bool fin));
        Assert.Equal(2000u, seq);
        Assert.Equal(1000, data.Length);
        Assert.False(fin);
        Assert.True(hold.TryTake(3000, out seq, out data, out fin));
        Assert.Equal(3000u, seq);
        Assert.True(fin);
        Assert.Equal(0, hold.Count);
        hold.Release();
        Assert.Equal(0, hold.RentedBytes);
    }

    [Fact]
    public void TryTake_RetransmissionCoveredHeldBytes_StaleSegmentsDiscarded()
    {
        var hold = new ReorderHold();
        Assert.True(hold.TryAdd(2000, new byte[1000], false));
        Assert.True(hold.TryAdd(3000, new byte[1000], false));
        // A coalesced retransmission [1000, 3500) was processed: next is 3500; the first is stale, the second overlaps.
        Assert.True(hold.TryTake(3500, out uint seq, out ReadOnlySpan<byte> data, out _));
        Assert.Equal(3000u, seq);
        Assert.Equal(1000, data.Length);
        Assert.Equal(0, hold.Count);
        hold.Release();
    }

    [Fact]
    public void TryAdd_Bounded_RefusesPastCapacityAndSegmentCount()
    {
        var hold = new ReorderHold();
        int added = 0;
        while (hold.TryAdd((uint)(10_000 + added * 1500), new byte[1500], false))
            added++;
        Assert.True(added <= ReorderHold.MaxSegments);
        Assert.True(added * 1500 <= ReorderHold.Capacity);
        Assert.True(added >= ReorderHold.MaxSegments / 2, $"only {added} segments fit");
        hold.Release();
    }

    [Fact]
    public void TryAdd_SameSegmentTwice_KeptOnce()
    {
        var hold = new ReorderHold();
        Assert.True(hold.TryAdd(5000, new byte[100], false));
        Assert.True(hold.TryAdd(5000, new byte[100], false));
        Assert.Equal(1, hold.Count);
        hold.Release();
    }

    [Fact]
    public void TryAdd_AfterManyTakes_CompactsInsteadOfRefusing()
    {
        var hold = new ReorderHold();
        uint next = 0;
        byte[] segment = new byte[1400];
        // A long reordering episode: one segment always waits while others come and go; far more bytes pass
        // through than the capacity, and the hold must keep accepting (the bug: space was never reused).
        Assert.True(hold.TryAdd(100_000_000, segment, false));
        for (int i = 0; i < 2000; i++)
        {
            segment[0] = (byte)i;
            Assert.True(hold.TryAdd(next + 1400, segment, false), $"refused at segment {i}");
            Assert.True(hold.TryTake(next + 1400, out uint seq, out ReadOnlySpan<byte> data, out _));
            Assert.Equal(next + 1400, seq);
            Assert.Equal((byte)i, data[0]);
            next += 1400;
        }
        Assert.Equal(1, hold.Count);
        hold.Release();
    }

    [Fact]
    public void SackEdges_HeldRanges_NewestBlockFirstThenHighestDown()
    {
        var hold = new ReorderHold();
        byte[] segment = new byte[100];
        hold.TryAdd(1000, segment, false);
        hold.TryAdd(1100, segment, false); // merges with the one before
        hold.TryAdd(1500, segment, false);
        hold.TryAdd(1300, segment, false); // newest
        Span<uint> edges = stackalloc uint[8];
        int n = hold.SackEdges(edges, 3);
        Assert.Equal(6, n);
        Assert.Equal([1300u, 1400u, 1500u, 1600u, 1000u, 1200u], edges[..n].ToArray());
        Assert.Equal(4, hold.SackEdges(edges, 2));
        hold.Release();
        Assert.Equal(0, hold.SackEdges(edges, 3));
    }
}
