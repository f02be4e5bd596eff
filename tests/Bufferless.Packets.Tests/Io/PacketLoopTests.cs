using Bufferless.Packets.Engine;
using Bufferless.Packets.Io;

namespace Bufferless.Packets.Tests.Io;

public class PacketLoopTests
{
    /// <summary>An in-memory device with a fake clock: WaitReadable advances time by the timeout when idle.</summary>
    private sealed class FakeDevice(Func<long> now, Action<int> sleep) : IPacketDevice
    {
        public readonly Queue<(long At, byte[] Packet)> Incoming = new();
        public readonly List<byte[]> Written = [];
        public Action? OnIdle;

        public int Read(Span<byte> buffer)
        {
            if (Incoming.Count == 0 || Incoming.Peek().At > now()) return 0;
            var p = Incoming.Dequeue().Packet;
            p.CopyTo(buffer);
            return p.Length;
        }

        public bool Write(ReadOnlySpan<byte> packet)
        {
            Written.Add(packet.ToArray());
            return true;
        }

        public bool WaitReadable(int timeoutMs)
        {
            if (Incoming.Count > 0 && Incoming.Peek().At <= now()) return true;
            long wake = now() + timeoutMs;
            if (Incoming.Count > 0) wake = Math.Min(wake, Incoming.Peek().At);
            sleep((int)(wake - now()));
            OnIdle?.Invoke();
            return Incoming.Count > 0 && Incoming.Peek().At <= now();
        }
    }

    /// <summary>Echoes packets after upper-casing byte 0, and has a timer at a fixed time that records when it ran.</summary>
    private sealed class EchoEngine(IPacketSink sink, long timerAt) : IPacketEngine
    {
        public readonly List<(long Now, int Length)> Seen = [];
        public readonly List<long> TimerRuns = [];
        private long _timer = timerAt;

        public void OnPacket(Span<byte> ipPacket, long nowMs)
        {
            Seen.Add((nowMs, ipPacket.Length));
            ipPacket[0] ^= 0x20;
            sink.Send(ipPacket);
        }

        public void OnTimer(long nowMs)
        {
            if (nowMs < _timer) return;
            TimerRuns.Add(nowMs);
            _timer = long.MaxValue;
        }

        public long NextTimerMs => _timer;
    }

    [Fact]
    public void Run_PacketsAndTimer_ProcessedInPlaceTimerOnceAtDeadline()
    {
        long clock = 1000;
        var device = new FakeDevice(() => clock, ms => clock += ms);
        var engine = new EchoEngine(new TunPacketSink(device), timerAt: 1250);
        device.Incoming.Enqueue((1010, "abc"u8.ToArray()));
        device.Incoming.Enqueue((1010, "defg"u8.ToArray()));
        device.Incoming.Enqueue((1400, "h"u8.ToArray()));
        using var cts = new CancellationTokenSource();
        device.OnIdle = () => { if (clock >= 2000) cts.Cancel(); };
        var loop = new PacketLoop(device, engine, bufferSize: 2048, clock: () => clock);

        loop.Run(cts.Token);

        Assert.Equal(["Abc", "Defg", "H"], device.Written.Select(w => System.Text.Encoding.ASCII.GetString(w)));
        Assert.Equal([(1010L, 3), (1010L, 4), (1400L, 1)], engine.Seen);
        Assert.Equal([1250L], engine.TimerRuns); // not before the deadline, exactly once
        Assert.Equal(3, loop.PacketsRead);
    }

    [Fact]
    public void Run_Cancelled_ReturnsWithinOneSleep()
    {
        long clock = 0;
        var device = new FakeDevice(() => clock, ms => clock += ms);
        var engine = new EchoEngine(new TunPacketSink(device), long.MaxValue);
        using var cts = new CancellationTokenSource();
        int idles = 0;
        device.OnIdle = () => { if (++idles == 3) cts.Cancel(); };
        new PacketLoop(device, engine, clock: () => clock).Run(cts.Token);
        Assert.Equal(3 * PacketLoop.MaxSleepMs, clock);
    }

    [Fact]
    public void Run_SteadyState_AllocatesNothingPerPacket()
    {
        long clock = 0;
        var device = new NullDevice { Budget = 20_000 };
        var engine = new MeasuringEngine();
        using var cts = new CancellationTokenSource();
        device.Exhausted = cts.Cancel;
        new PacketLoop(device, engine, clock: () => clock++).Run(cts.Token);
        Assert.Equal(20_000, engine.Count);
        // Measured from inside the loop, between packet 1,000 and packet 20,000 (after JIT warm-up).
        Assert.Equal(0, engine.AllocatedAtEnd - engine.AllocatedAtStart);
    }

    private sealed class NullDevice : IPacketDevice
    {
        public int Budget;
        public Action? Exhausted;
        public int Read(Span<byte> buffer)
        {
            if (Budget == 0) return 0;
            Budget--;
            buffer[..60].Clear();
            return 60;
        }
        public bool Write(ReadOnlySpan<byte> packet) => true;
        public bool WaitReadable(int timeoutMs)
        {
            if (Budget == 0) Exhausted?.Invoke();
            return Budget > 0;
        }
    }

    private sealed class MeasuringEngine : IPacketEngine
    {
        public int Count;
        public long AllocatedAtStart, AllocatedAtEnd;
        public void OnPacket(Span<byte> ipPacket, long nowMs)
        {
            Count++;
            if (Count == 1_000) AllocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
            if (Count == 20_000) AllocatedAtEnd = GC.GetAllocatedBytesForCurrentThread();
        }
        public void OnTimer(long nowMs) { }
        public long NextTimerMs => long.MaxValue;
    }
}
