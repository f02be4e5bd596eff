using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Wire;

public class TcpPacketWriterTests
{
    [Fact]
    public void Write_CapturedIpv4DataFields_ReproducesCaptureByteForByte()
    {
        var spec = new TcpPacketSpec(false, Captures.V4Client, Captures.V4Server, 42246, 80,
            new(0x6fa82d79), new(0x11223345), TcpFlags.Psh | TcpFlags.Ack, 0xfaf0) { IpIdentification = 0x8ae1 };
        var buf = new byte[100];
        int n = TcpPacketWriter.Write(buf, spec, default, Captures.HttpGet);
        Assert.Equal(Captures.Ipv4Data, buf[..n]);
    }

    [Fact]
    public void Write_CapturedIpv6SynFields_ReproducesCaptureByteForByte()
    {
        var w = new TcpOptionWriter(new byte[40]);
        w.WriteMss(1440); w.WriteSackPermitted(); w.WriteTimestamps(0x08e007ca, 0); w.WriteNop(); w.WriteWindowScale(10);
        Assert.True(w.PadToWord());
        var spec = new TcpPacketSpec(true, Captures.V6Client, Captures.V6Server, 58600, 80,
            new(0x0c03b887), new(0), TcpFlags.Syn, 0xfd20) { FlowLabel = 0xbb681 };
        var buf = new byte[100];
        int n = TcpPacketWriter.Write(buf, spec, w.WrittenSpan, default);
        Assert.Equal(Captures.Ipv6Syn, buf[..n]);
    }

    [Fact]
    public void Write_PayloadAlreadyInPlace_SameBytesAsCopy()
    {
        var spec = new TcpPacketSpec(true, Captures.V6Server, Captures.V6Client, 443, 58600, new(7), new(9), TcpFlags.Ack, 100);
        var a = new byte[2000];
        var b = new byte[2000];
        byte[] payload = new byte[1400];
        new Random(3).NextBytes(payload);
        int off = TcpPacketWriter.PayloadOffset(true, 0);
        payload.CopyTo(b, off);
        int na = TcpPacketWriter.Write(a, spec, default, payload);
        int nb = TcpPacketWriter.Write(b, spec, default, b.AsSpan(off, payload.Length));
        Assert.Equal(a[..na], b[..nb]);
        Assert.Equal(TcpPacketStatus.Tcp, TcpPacket.TryParse(a.AsSpan(0, na), out var p));
        Assert.True(p.VerifyChecksum());
    }

    [Fact]
    public void Write_TooSmallOrTooManyOptions_ReturnsMinusOne()
    {
        var spec = new TcpPacketSpec(false, 1, 2, 3, 4, new(5), new(6), TcpFlags.Rst, 0);
        Assert.Equal(-1, TcpPacketWriter.Write(new byte[39], spec, default, default));
        Assert.Equal(40, TcpPacketWriter.Write(new byte[40], spec, default, default));
        Assert.Equal(-1, TcpPacketWriter.Write(new byte[200], spec, new byte[41], default));
    }

    [Fact]
    public void TryResizePayload_ShorterPlaintext_LengthsAndChecksumsValid()
    {
        foreach (byte[] original in new[] { Captures.Ipv4Data, Captures.Ipv6Data })
        {
            var buf = new byte[200];
            original.CopyTo(buf, 0);
            Assert.Equal(TcpPacketStatus.Tcp, TcpPacket.TryParse(buf.AsSpan(0, original.Length), out var p));
            "OK"u8.CopyTo(buf.AsSpan(p.PayloadOffset));
            Assert.True(p.TryResizePayload(buf, 2, out var q));
            q.FillChecksum();
            Assert.Equal(TcpPacketStatus.Tcp, TcpPacket.TryParse(buf, out var r));
            Assert.Equal("OK"u8.ToArray(), r.Tcp.Payload.ToArray());
            Assert.True(r.VerifyChecksum());
            if (!r.IsIpv6) Assert.True(r.Ip4.VerifyChecksum());
            Assert.True(r.TryResizePayload(buf, 100, out var grown));
            Assert.Equal(100, grown.Tcp.PayloadLength);
            Assert.False(r.TryResizePayload(buf, 1000, out _));
        }
    }
}
