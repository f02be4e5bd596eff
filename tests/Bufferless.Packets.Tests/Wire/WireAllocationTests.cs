using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Wire;

public class WireAllocationTests
{
    [Fact]
    public void HotPath_ParseRewriteChecksumWrite_AllocatesNothing()
    {
        byte[] syn = Captures.Ipv4Syn, data = Captures.Ipv6Data;
        var buf = new byte[1600];
        var payload = new byte[1400];
        Run(syn, data, buf, payload); // JIT and static init first
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) Run(syn, data, buf, payload);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static void Run(byte[] syn, byte[] data, byte[] buf, byte[] payload)
    {
        TcpPacket.TryParse(syn, out var p);
        p.Tcp.ClampMss(1400);
        p.Tcp.RewriteTimestamps(1, 2);
        p.Tcp.RewriteSequenceNumber(p.Tcp.SequenceNumber + 1);
        _ = p.Tcp.ReadOptions();
        p.VerifyChecksum();
        TcpPacket.TryParse(data, out var q);
        q.RewriteDestination(q.Destination);
        q.FillChecksum();
        var spec = new TcpPacketSpec(true, 1, 2, 3, 4, new(5), new(6), TcpFlags.Ack, 7);
        Span<byte> opts = stackalloc byte[12];
        var w = new TcpOptionWriter(opts);
        w.WriteTimestamps(1, 2);
        w.PadToWord();
        TcpPacketWriter.Write(buf, spec, w.WrittenSpan, payload);
    }
}
