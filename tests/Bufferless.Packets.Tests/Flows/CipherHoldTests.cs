using Bufferless.Packets.Flows;

namespace Bufferless.Packets.Tests.Flows;

public class CipherHoldTests
{
    internal static byte[] Bytes(int n, byte v = 1) => Enumerable.Repeat(v, n).ToArray();

    /// <summary>The hold's SACK blocks above <paramref name="ack"/> as (left, right) pairs, at most 4.</summary>
    internal static List<(uint, uint)> Blocks(CipherHold hold, uint ack)
    {
        Span<uint> edges = stackalloc uint[8];
        int n = hold.SackEdges(ack, edges, 4);
        var list = new List<(uint, uint)>();
        for (int i = 0; i < n; i += 2)
            list.Add((edges[i], edges[i + 1]));
        return list;
    }

    [Fact]
    public void SackEdges_NewestWithheld_NamedWhenLaterSegmentsCome()
    {
        var hold = new CipherHold();
        Assert.True(hold.TryAdd(1000, Bytes(100), withhold: true));
        Assert.Empty(Blocks(hold, 900));
        Assert.True(hold.TryAdd(1100, Bytes(100), withhold: true));
        Assert.True(hold.TryAdd(1200, Bytes(100), withhold: true));
        // Two newest withheld, the oldest named.
        Assert.Equal([(1000u, 1100u)], Blocks(hold, 900));
        hold.Release();
    }

    [Fact]
    public void Reveal_AfterTimeout_NamesOneWithheldAboveAck()
    {
        var hold = new CipherHold();
        hold.TryAdd(1000, Bytes(100), withhold: false);
        Assert.True(hold.TryKeepNewest(5000, Bytes(100), bound: 2000));
        Assert.True(hold.TryKeepNewest(5100, Bytes(100), bound: 2000));
        hold.Forget(1000);
        Assert.Equal([(1001u, 1100u)], Blocks(hold, 1000));
        hold.Reveal(1000);
        Assert.Equal([(5000u, 5100u), (1001u, 1100u)], Blocks(hold, 1000));
        hold.Forget(1100);
        hold.Reveal(1100);
        Assert.Equal([(5000u, 5200u)], Blocks(hold, 1100));
        Assert.True(hold.TryNext(5050, out uint seq, out ReadOnlySpan<byte> data));
        Assert.Equal(5000u, seq);
        Assert.Equal(100, data.Length);
        hold.Release();
    }

    [Fact]
    public void TryKeepNewest_KeepsOnlyTheNewestFew()
    {
        var hold = new CipherHold();
        hold.TryAdd(1000, Bytes(100), withhold: false);
        for (uint s = 5000; s < 5000 + 10 * 100; s += 100)
            Assert.True(hold.TryKeepNewest(s, Bytes(100), bound: 2000));
        Assert.Equal(1 + CipherHold.MaxBeyond, hold.Count);
        hold.Reveal(999);
        Assert.Equal((5700u, 5800u), Blocks(hold, 999)[0]);
        hold.Release();
    }

    [Fact]
    public void KeepFin_AfterNamedData_ExtendsItsBlockAndCountsAsHeld()
    {
        var hold = new CipherHold();
        Assert.True(hold.TryAdd(2000, Bytes(100), withhold: false));
        Assert.True(hold.KeepFin(2100));
        Assert.False(hold.KeepFin(2100)); // the same FIN again is not new
        Assert.Equal([(2000u, 2101u)], Blocks(hold, 1000));
        Assert.Equal(2, hold.Count);
        Assert.Equal(2100u, hold.Fin);
        hold.Forget(2100); // data acknowledged, the FIN not yet
        Assert.Equal(1, hold.Count);
        Assert.Equal([(2100u, 2101u)], Blocks(hold, 1000));
        hold.Forget(2101);
        Assert.Equal(0, hold.Count);
        Assert.Null(hold.Fin);
        hold.Release();
    }

    [Fact]
    public void KeepFin_AloneAheadOfHole_IsItsOwnBlockAndFirst()
    {
        var hold = new CipherHold();
        Assert.True(hold.TryAdd(3000, Bytes(100), withhold: false));
        Assert.True(hold.KeepFin(3500));
        // The FIN came last, so its block leads (RFC 2018 §4); the data's block follows.
        Assert.Equal([(3500u, 3501u), (3000u, 3100u)], Blocks(hold, 2000));
        Assert.True(hold.TakeSackMoved());
        // A FIN at or below the ACK is not named.
        Assert.Equal([], Blocks(hold, 3500));
        hold.Release();
        Assert.Equal(0, hold.Count);
    }
}
