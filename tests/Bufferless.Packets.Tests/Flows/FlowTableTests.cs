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
    public void Add_FreshTable_TouchesSlotsInOrderAndReusesFreedOnesFirst()
    {
        // The table's memory is resident only for slots it has used: fresh slots are taken in order, and a freed
        // slot is taken before any fresh one, so the high-water mark follows the peak number of flows, not the churn.
        var table = new FlowTable(1000, 3);
        Assert.Equal(0, table.HighWater);
        for (int i = 0; i < 10; i++)
            Assert.Equal(i, table.Add(Key(i)));
        Assert.Equal(10, table.HighWater);
        table.Remove(table.Find(Key(3)));
        table.Remove(table.Find(Key(7)));
        for (int round = 0; round < 100; round++)
        {
            int a = table.Add(Key(500 + round));
            int b = table.Add(Key(600 + round));
            Assert.True(a is 3 or 7 && b is 3 or 7 && a != b, $"round {round}: got {a}, {b}");
            table.Remove(a);
            table.Remove(b);
        }
        Assert.Equal(10, table.HighWater);
        Assert.Equal(8, table.Count);
        for (int i = 0; i < 10; i++)
            Assert.Equal(i is 3 or 7 ? -1 : i, table.Find(Key(i)));
        Assert.False(table.IsLive(10));
    }

    [Fact]
    public void Find_ManyKeysInFewBuckets_ChainsStayIntact()
    {
        // A capacity of 4 gives 8 buckets: 200 adds and removes in random order exercise long chains and unlinking
        // from the middle of a chain, against a dictionary as the model.
        var table = new FlowTable(4, 11);
        var model = new Dictionary<int, int>();
        var rng = new Random(5);
        for (int step = 0; step < 2000; step++)
        {
            int k = rng.Next(12);
            if (model.TryGetValue(k, out int h))
            {
                Assert.Equal(h, table.Find(Key(k)));
                table.Remove(h);
                model.Remove(k);
            }
            else
            {
                int added = table.Add(Key(k));
                Assert.Equal(model.Count < 4, added >= 0);
                if (added >= 0)
                    model[k] = added;
            }
            for (int j = 0; j < 12; j++)
                Assert.Equal(model.TryGetValue(j, out int e) ? e : -1, table.Find(Key(j)));
        }
        Assert.True(table.HighWater <= 4);
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
