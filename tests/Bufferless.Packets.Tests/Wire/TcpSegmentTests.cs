using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Wire;

public class TcpSegmentTests
{
    private static TcpPacket Parse(byte[] b)
    {
        Assert.Equal(TcpPacketStatus.Tcp, TcpPacket.TryParse(b, out var p));
        return p;
    }

    [Fact]
    public void TryParse_CapturedIpv4Syn_Deconstructs()
    {
        var p = Parse(Captures.Ipv4Syn);
        var tcp = p.Tcp;
        Assert.False(p.IsIpv6);
        Assert.Equal(20, p.TcpOffset);
        Assert.Equal(42246, tcp.SourcePort);
        Assert.Equal(80, tcp.DestinationPort);
        Assert.Equal(0x6fa82d78u, tcp.SequenceNumber.Value);
        Assert.Equal(0u, tcp.AcknowledgmentNumber.Value);
        Assert.Equal(TcpFlags.Syn, tcp.Flags);
        Assert.Equal(40, tcp.HeaderLength);
        Assert.Equal(0xfaf0, tcp.Window);
        Assert.Equal(0x7372, tcp.Checksum);
        Assert.Equal(0, tcp.UrgentPointer);
        Assert.Equal(0, tcp.PayloadLength);
        Assert.Equal(1, tcp.SequenceLength);
        Assert.True(p.VerifyChecksum());
        Assert.Equal((UInt128)Captures.V4Client, p.Source);
        Assert.Equal((UInt128)Captures.V4Server, p.Destination);

        var o = tcp.ReadOptions();
        Assert.Equal(new TcpOptionSummary(true, 1460, true, 10, true, 0, true, 0x21ed230d, 0, false), o);
    }

    [Fact]
    public void TryParse_CapturedIpv6Data_Deconstructs()
    {
        var p = Parse(Captures.Ipv6Data);
        Assert.True(p.IsIpv6);
        Assert.Equal(58600, p.Tcp.SourcePort);
        Assert.Equal(TcpFlags.Psh | TcpFlags.Ack, p.Tcp.Flags);
        Assert.Equal(0x11223345u, p.Tcp.AcknowledgmentNumber.Value);
        Assert.Equal(Captures.HttpGet, p.Tcp.Payload.ToArray());
        Assert.Equal(60, p.PayloadOffset);
        Assert.True(p.VerifyChecksum());
        Assert.Equal(Captures.V6Server, p.Destination);
    }

    [Fact]
    public void TryCreate_EveryTruncation_Rejected()
    {
        byte[] b = Captures.Ipv4Syn;
        for (int len = 0; len < 40; len++)
            Assert.False(TcpSegment.TryCreate(b.AsSpan(20, len), out _), $"length {len}");
        Assert.True(TcpSegment.TryCreate(b.AsSpan(20, 40), out _));
    }

    [Fact]
    public void TryParse_IpLengthCutsTcpHeader_Malformed()
    {
        byte[] b = Captures.Ipv4Syn;
        b[3] = 50; // total length 50: 30 bytes of TCP, data offset says 40
        Assert.Equal(TcpPacketStatus.Malformed, TcpPacket.TryParse(b, out _));
        byte[] d = Captures.Ipv4Data;
        d[32] = 0x40; // data offset 4 (< 5)
        Assert.Equal(TcpPacketStatus.Malformed, TcpPacket.TryParse(d, out _));
        Assert.Equal(TcpPacketStatus.Malformed, TcpPacket.TryParse([], out _));
        Assert.Equal(TcpPacketStatus.Malformed, TcpPacket.TryParse([0x55, 0, 0], out _));
    }

    [Fact]
    public void Rewrites_Incremental_EqualFullRecompute()
    {
        foreach (byte[] b in new[] { Captures.Ipv4Data, Captures.Ipv6Data, Captures.Ipv4Syn, Captures.Ipv6Syn })
        {
            var p = Parse(b);
            var tcp = p.Tcp;
            tcp.RewriteSourcePort(443);
            tcp.RewriteDestinationPort(51000);
            tcp.RewriteSequenceNumber(new SeqNumber(0xFFFF_FFF0));
            tcp.RewriteAcknowledgmentNumber(tcp.AcknowledgmentNumber + 1000);
            tcp.RewriteWindow(1234);
            tcp.RewriteFlags(tcp.Flags | TcpFlags.Ece);
            p.RewriteSource(p.IsIpv6 ? Captures.V6Server + 1 : 0xC6120202);
            p.RewriteDestination(p.IsIpv6 ? Captures.V6Client + 7 : 0xC6120102);
            Assert.True(p.VerifyChecksum());
            if (!p.IsIpv6) Assert.True(p.Ip4.VerifyChecksum());
            Assert.Equal(443, tcp.SourcePort);
            Assert.Equal(new SeqNumber(0xFFFF_FFF0), tcp.SequenceNumber);
            ushort incremental = tcp.Checksum;
            p.FillChecksum();
            Assert.Equal(incremental == 0xFFFF ? 0 : incremental, tcp.Checksum == 0xFFFF ? 0 : tcp.Checksum);
        }
    }

    [Fact]
    public void ClampMss_Larger_LoweredAndChecksumValid()
    {
        var p = Parse(Captures.Ipv4Syn);
        Assert.True(p.Tcp.ClampMss(1460 - 22));
        Assert.Equal(1438, p.Tcp.ReadOptions().Mss);
        Assert.True(p.VerifyChecksum());
        Assert.False(p.Tcp.ClampMss(1460)); // already below
        Assert.Equal(1438, p.Tcp.ReadOptions().Mss);
        Assert.False(Parse(Captures.Ipv4Data).Tcp.ClampMss(100)); // no MSS option
    }

    [Fact]
    public void RewriteTimestamps_OddOffsetOption_ChecksumValid()
    {
        // In the captured SYN the timestamps option starts at options offset 8 (even); in the v6 one too. Shift it
        // to an odd offset by writing a fresh SYN whose options start with a single NOP.
        var w = new TcpOptionWriter(new byte[40]);
        w.WriteNop();
        w.WriteTimestamps(1, 2);
        w.WriteMss(1400);
        w.WriteSackPermitted();
        w.PadToWord();
        var buf = new byte[100];
        var spec = new TcpPacketSpec(false, Captures.V4Client, Captures.V4Server, 1, 2, new(10), new(0), TcpFlags.Syn, 100);
        int n = TcpPacketWriter.Write(buf, spec, w.WrittenSpan, default);
        var p = Parse(buf[..n]);
        Assert.True(p.Tcp.TryGetTimestamps(out uint v, out uint e));
        Assert.Equal((1u, 2u), (v, e));
        Assert.True(p.Tcp.RewriteTimestamps(0xDEADBEEF, 0x01020304));
        Assert.True(p.Tcp.TryGetTimestamps(out v, out e));
        Assert.Equal((0xDEADBEEFu, 0x01020304u), (v, e));
        Assert.True(p.VerifyChecksum());
        Assert.True(p.Tcp.ClampMss(1300)); // MSS now at an odd offset as well
        Assert.True(p.VerifyChecksum());
        Assert.True(p.Tcp.RemoveSackPermitted()); // and SACK-permitted at an odd offset
        Assert.True(p.VerifyChecksum());
        Assert.False(p.Tcp.ReadOptions().SackPermitted);
        Assert.False(p.Tcp.ReadOptions().Malformed);
    }

    [Fact]
    public void RemoveSackPermitted_CapturedSyn_NopsAndOtherOptionsKept()
    {
        var p = Parse(Captures.Ipv6Syn);
        Assert.True(p.Tcp.RemoveSackPermitted());
        Assert.True(p.VerifyChecksum());
        var o = p.Tcp.ReadOptions();
        Assert.False(o.SackPermitted);
        Assert.Equal((true, (ushort)1440, true, (byte)10, true), (o.HasMss, o.Mss, o.HasWindowScale, o.WindowScale, o.HasTimestamps));
        Assert.False(p.Tcp.RemoveSackPermitted());
        Assert.False(p.Tcp.TryGetSackBlock(0, out _, out _));
    }

    [Fact]
    public void SackBlocks_ReadRewriteRemove_ChecksumValid()
    {
        var w = new TcpOptionWriter(new byte[40]);
        w.WriteNop(); w.WriteNop();
        w.WriteTimestamps(5, 6);
        w.WriteNop(); w.WriteNop();
        SeqNumber[] edges = [new(100), new(200), new(0xFFFF_FFF0), new(16)];
        Assert.True(w.WriteSack(edges));
        Assert.True(w.PadToWord());
        var buf = new byte[200];
        var spec = new TcpPacketSpec(true, Captures.V6Server, Captures.V6Client, 80, 58600, new(1), new(100), TcpFlags.Ack, 500);
        int n = TcpPacketWriter.Write(buf, spec, w.WrittenSpan, "data"u8);
        var p = Parse(buf[..n]);
        Assert.Equal(2, p.Tcp.SackBlockCount);
        Assert.Equal(2, p.Tcp.ReadOptions().SackBlockCount);
        Assert.True(p.Tcp.TryGetSackBlock(1, out var l, out var r));
        Assert.Equal((edges[2], edges[3]), (l, r));
        Assert.False(p.Tcp.TryGetSackBlock(2, out _, out _));
        Assert.True(p.Tcp.RewriteSackBlock(1, l + 1000, r + 1000));
        Assert.True(p.VerifyChecksum());
        Assert.True(p.Tcp.TryGetSackBlock(1, out l, out r));
        Assert.Equal((edges[2] + 1000, edges[3] + 1000), (l, r));
        Assert.True(p.Tcp.RemoveSackBlocks());
        Assert.True(p.VerifyChecksum());
        Assert.Equal(0, p.Tcp.SackBlockCount);
        Assert.True(p.Tcp.TryGetTimestamps(out uint tv, out _));
        Assert.Equal(5u, tv);
        Assert.Equal("data"u8.ToArray(), p.Tcp.Payload.ToArray());
    }
}
