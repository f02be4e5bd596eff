using Bufferless.Packets.Flows;

namespace Bufferless.Packets.Tests.Flows;

public class FlowTableTests
{
    private static FlowKey Key(int i) =>
        FlowKey.Create([198, 18, (byte)(i >> 8), (byte)i], [198, 18, 2, 2], (ushort)(1024 + i));

    [Fact]
    public void Add_Find_Remove_RoundTrips()
    {
        var table = new FlowTable(8, 42);
        int h = table.Add(Key(1));
        table[h].State = FlowState.SynSeen;
        Assert.Equal(h, table.Find(Key(1)));
        Assert.Equal(-1, table.Find(Key(2)));
        int gen = table[h].Generation;
        table.Remove(h);
        Assert.Equal(-1, table.Find(Key(1)));
        Assert.Equal(gen + 1, table[h].Generation);
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Add_WhenFull_RefusesAndKeepsOthers()
    {
        var table = new FlowTable(100, 7);
        for (int i = 0; i < 100; i++)
            Assert.True(table.Add(Key(i)) >= 0);
        Assert.Equal(-1, table.Add(Key(100)));
        for (int i = 0; i < 100; i++)
            Assert.True(table.Find(Key(i)) >= 0);
        table.Remove(table.Find(Key(50)));
        Assert.True(table.Add(Key(100)) >= 0);
        Assert.True(table.Find(Key(99)) >= 0);
    }

    [Fact]
    public void FlowKey_IPv4AndIPv6_RoundTripAddresses()
    {
        var v4 = FlowKey.Create([198, 18, 1, 2], [198, 18, 2, 2], 5000);
        Span<byte> a = stackalloc byte[16];
        Assert.Equal(4, v4.WriteClientAddress(a));
        Assert.Equal(new byte[] { 198, 18, 1, 2 }, a[..4].ToArray());
        byte[] v6addr = [0x20, 0x01, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2];
        var v6 = FlowKey.Create(v6addr, v6addr, 5000);
        Assert.Equal(16, v6.WriteServerAddress(a));
        Assert.Equal(v6addr, a.ToArray());
        Assert.NotEqual(v4, v6);
    }
}
