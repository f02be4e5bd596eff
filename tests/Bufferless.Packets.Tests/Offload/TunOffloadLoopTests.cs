using System.Buffers.Binary;
using Bufferless.Packets.Engine;
using Bufferless.Packets.Io;
using Bufferless.Packets.Offload;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Offload;

/// <summary>The packet loop and sink with virtio headers: super-packets in, one packet per engine call, GSO writes out.</summary>
public class TunOffloadLoopTests
{
    /// <summary>Forwards every packet unchanged and records what it was given.</summary>
    private sealed class PassEngine(IPacketSink sink, Action onPacket) : IPacketEngine
    {
        public readonly List<byte[]> Seen = [];

        public void OnPacket(Span<byte> ipPacket, long nowMs)
        {
            Seen.Add(ipPacket.ToArray());
            sink.Send(ipPacket);
            onPacket();
        }

        public void OnTimer(long nowMs) { }
        public long NextTimerMs => long.MaxValue;
    }

    private static byte[] Frame(VirtioNetHeader h, byte[] packet)
    {
        var f = new byte[VirtioNetHeader.Size + packet.Length];
        h.Write(f);
        packet.CopyTo(f, VirtioNetHeader.Size);
        return f;
    }

    private static (VirtioNetHeader, byte[]) KernelSuper(uint seq, int payload, int mss)
    {
        var spec = new TcpPacketSpec(false, 0xC6120202, 0xC6120102, 80, 40000, new SeqNumber(seq), new SeqNumber(9), TcpFlags.Ack | TcpFlags.Psh, 1000)
        { IpIdentification = 7 };
        var buf = new byte[65535];
        var data = new byte[payload];
        new Random(3).NextBytes(data);
        int n = TcpPacketWriter.Write(buf, spec, [], data);
        byte[] p = buf[..n];
        TcpPacket.TryParse(p, out var tcp);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(tcp.TcpOffset + 16), Checksum.Fold(tcp.PseudoHeaderSum()));
        return (new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoTcpV4, 40, (ushort)mss, 20, 16), p);
    }

    [Fact]
    public void Run_SuperPacketThroughPassEngine_SegmentsToEngineOneGsoWriteBack()
    {
        var (h, super) = KernelSuper(seq: 1, payload: 10 * 1400 + 77, mss: 1400);
        var tun = new FakeTun();
        tun.Incoming.Enqueue(Frame(h, super));
        var sink = new TunPacketSink(tun, vnetHeader: true);
        using var cts = new CancellationTokenSource();
        var engine = new PassEngine(sink, () => { });
        var loop = new PacketLoop(tun, engine, vnetHeader: true, output: sink);
        byte[] small = Frame(default, super[..40]); // a bare ACK after it: written on its own
        BinaryPrimitives.WriteUInt16BigEndian(small.AsSpan(VirtioNetHeader.Size + 2), 40);
        tun.Incoming.Enqueue(small);

        RunUntilIdle(loop, tun, cts);

        Assert.Equal(2, loop.PacketsRead);
        Assert.Equal(1, loop.SuperPackets);
        Assert.Equal(11, loop.Segments);
        Assert.Equal(2, tun.Written.Count);
        Assert.Equal(Frame(h, super), tun.Written[0]);
        Assert.Equal(12, sink.Sent);
        Assert.Equal(2, sink.Writes);
        Assert.Equal(11, engine.Seen.Count(p => p.Length > 40));
        Assert.All(engine.Seen, p => Assert.True(p.Length <= 40 + 1400));
        // Cut in place: every byte of payload reached the engine once, in order, behind its own headers.
        byte[] payloads = engine.Seen.Where(p => p.Length > 40).SelectMany(p => p[40..]).ToArray();
        Assert.Equal(super[40..], payloads);
        uint seq = 1;
        foreach (var p in engine.Seen.Where(p => p.Length > 40))
        {
            Assert.Equal(seq, BinaryPrimitives.ReadUInt32BigEndian(p.AsSpan(24)));
            seq += (uint)(p.Length - 40);
        }
    }

    [Fact]
    public void Run_SinglePacketWithPartialChecksum_EngineSeesFullChecksum()
    {
        var (h, super) = KernelSuper(seq: 1, payload: 500, mss: 1400);
        var tun = new FakeTun();
        tun.Incoming.Enqueue(Frame(h with { GsoType = VirtioNetHeader.GsoNone, GsoSize = 0 }, super));
        var sink = new TunPacketSink(tun, vnetHeader: true);
        var seen = new List<byte[]>();
        var engine = new RecordingEngine(sink, seen);
        var loop = new PacketLoop(tun, engine, vnetHeader: true, output: sink);
        using var cts = new CancellationTokenSource();
        engine.Stop = cts.Cancel;

        loop.Run(cts.Token);

        var only = Assert.Single(seen);
        Assert.Equal(TcpPacketStatus.Tcp, TcpPacket.TryParse(only, out var p));
        Assert.True(p.VerifyChecksum());
        var written = Assert.Single(tun.Written);
        Assert.Equal(only, GsoOffloadTests.CompletedSingle(written));
    }

    [Fact]
    public void Run_TruncatedVirtioHeader_CountedAndDropped()
    {
        var tun = new FakeTun();
        tun.Incoming.Enqueue([1, 2, 3]);
        var sink = new TunPacketSink(tun, vnetHeader: true);
        var seen = new List<byte[]>();
        var engine = new RecordingEngine(sink, seen);
        var loop = new PacketLoop(tun, engine, vnetHeader: true, output: sink);
        using var cts = new CancellationTokenSource();
        cts.CancelAfter(200);

        loop.Run(cts.Token);

        Assert.Empty(seen);
        Assert.Equal(1, loop.OffloadErrors);
        Assert.Empty(tun.Written);
    }

    [Fact]
    public void Run_IdleAfterPackets_OnIdleOncePerQuietSpell()
    {
        long clock = 0;
        var tun = new FakeTun();
        var sink = new TunPacketSink(tun);
        var engine = new RecordingEngine(sink, []);
        int idles = 0;
        long idleAt = -1;
        using var cts = new CancellationTokenSource();
        var loop = new PacketLoop(tun, engine, clock: () => clock)
        {
            IdleMs = 500,
            OnIdle = () => { idles++; idleAt = clock; },
        };
        byte[] packet = new byte[60];
        packet[0] = 0x45;
        int step = 0;
        // Each loop turn advances the fake clock by 100 ms; packets at 0 ms and (after the first idle call) at 2,000 ms.
        engine.Stop = null;
        tun.Incoming.Enqueue(packet);
        var t = new Thread(() => loop.Run(cts.Token));
        tun.OnWait = () =>
        {
            clock += 100;
            if (++step == 20) tun.Incoming.Enqueue(packet);
            if (step == 60) cts.Cancel();
        };
        t.Start();
        t.Join();

        Assert.Equal(2, idles);
        Assert.Equal(2, loop.PacketsRead);
        Assert.InRange(idleAt, 2000 + 500, 2000 + 700);
    }

    private sealed class RecordingEngine(IPacketSink sink, List<byte[]> seen) : IPacketEngine
    {
        public Action? Stop;

        public void OnPacket(Span<byte> ipPacket, long nowMs)
        {
            seen.Add(ipPacket.ToArray());
            sink.Send(ipPacket);
            Stop?.Invoke();
        }

        public void OnTimer(long nowMs) { }
        public long NextTimerMs => long.MaxValue;
    }

    private static void RunUntilIdle(PacketLoop loop, FakeTun tun, CancellationTokenSource cts)
    {
        // The fake device is never readable once drained, so the loop idles in 100 ms sleeps: stop it then.
        var t = new Thread(() => loop.Run(cts.Token));
        t.Start();
        while (tun.Incoming.Count > 0) Thread.Sleep(5);
        Thread.Sleep(50);
        cts.Cancel();
        t.Join();
    }
}
