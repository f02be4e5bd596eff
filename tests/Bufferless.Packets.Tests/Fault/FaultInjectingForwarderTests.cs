using Bufferless.Packets.Engine;
using Bufferless.Packets.Io;

namespace Bufferless.Packets.Tests.Fault;

public class FaultInjectingForwarderTests
{
    private sealed class RecordingSink : IPacketSink
    {
        public readonly List<int> Ids = [];
        public void Send(ReadOnlySpan<byte> ipPacket) => Ids.Add(BitConverter.ToInt32(ipPacket));
    }

    // Feeds packets 0..count-1 (each 4 bytes: its id) one millisecond apart, then flushes held ones.
    private static RecordingSink Run(FaultOptions options, int count, out FaultInjectingForwarder forwarder)
    {
        var sink = new RecordingSink();
        forwarder = new FaultInjectingForwarder(sink, options);
        var packet = new byte[4];
        long now = 0;
        for (int i = 0; i < count; i++, now++)
        {
            if (forwarder.NextTimerMs <= now) forwarder.OnTimer(now);
            BitConverter.TryWriteBytes(packet, i);
            forwarder.OnPacket(packet, now);
        }
        forwarder.OnTimer(now + 1000);
        return sink;
    }

    [Fact]
    public void PassThrough_ZeroRates_EveryPacketOnceInOrder()
    {
        var sink = Run(new FaultOptions(), 1000, out var f);
        Assert.Equal(Enumerable.Range(0, 1000), sink.Ids);
        Assert.Equal(1000, f.Forwarded);
        Assert.Equal(long.MaxValue, f.NextTimerMs);
    }

    [Fact]
    public void Faults_TwoPercentLoss_DropsAboutTwoPercentAndCountsMatch()
    {
        var sink = Run(new FaultOptions(Loss: 0.02, Duplicate: 0.01, Reorder: 0.05, ReorderDelayMs: 3, Seed: 42), 20000, out var f);
        Assert.InRange(f.Dropped, 300, 500); // binomial(20000, 0.02): mean 400, sd 20
        Assert.InRange(f.Duplicated, 100, 300);
        Assert.InRange(f.Reordered, 700, 1300);
        Assert.Equal(20000 - f.Dropped + f.Duplicated, sink.Ids.Count);
        Assert.Equal(20000 - f.Dropped, sink.Ids.Distinct().Count());
        int inversions = sink.Ids.Zip(sink.Ids.Skip(1)).Count(p => p.Second < p.First);
        Assert.True(inversions >= f.Reordered / 2, $"{inversions} inversions for {f.Reordered} held packets");
    }

    [Fact]
    public void Faults_SameSeed_SameOutput()
    {
        var options = new FaultOptions(0.05, 0.05, 0.1, 2, Seed: 9);
        Assert.Equal(Run(options, 3000, out _).Ids, Run(options, 3000, out _).Ids);
        Assert.NotEqual(Run(options, 3000, out _).Ids, Run(options with { Seed = 10 }, 3000, out _).Ids);
    }

    [Fact]
    public void Reorder_HeldPacket_ReleasedAtDelayNotBefore()
    {
        var sink = new RecordingSink();
        var f = new FaultInjectingForwarder(sink, new FaultOptions(Reorder: 1, ReorderDelayMs: 5));
        f.OnPacket(BitConverter.GetBytes(7), 100);
        Assert.Empty(sink.Ids);
        Assert.Equal(105, f.NextTimerMs);
        f.OnTimer(104);
        Assert.Empty(sink.Ids);
        f.OnTimer(105);
        Assert.Equal([7], sink.Ids);
        f.OnTimer(106);
        Assert.Single(sink.Ids);
    }

    [Fact]
    public void Faults_SteadyState_AllocatesNothing()
    {
        var sink = new CountingSink();
        var f = new FaultInjectingForwarder(sink, new FaultOptions(0.02, 0.02, 0.05, 3, 1));
        var packet = new byte[1500];
        for (int i = 0; i < 100; i++) { f.OnPacket(packet, i); f.OnTimer(i); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 100; i < 5100; i++) { f.OnPacket(packet, i); if (f.NextTimerMs <= i) f.OnTimer(i); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(sink.Count > 4000);
    }

    private sealed class CountingSink : IPacketSink
    {
        public int Count;
        public void Send(ReadOnlySpan<byte> ipPacket) => Count++;
    }
}
