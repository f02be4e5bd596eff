using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Wire;

public class Ipv4PacketTests
{
    [Fact]
    public void TryCreate_CapturedSyn_Deconstructs()
    {
        byte[] b = Captures.Ipv4Syn;
        Assert.True(Ipv4Packet.TryCreate(b, out var ip));
        Assert.Equal(20, ip.HeaderLength);
        Assert.Equal(60, ip.TotalLength);
        Assert.Equal(0x8adf, ip.Identification);
        Assert.True(ip.DontFragment);
        Assert.False(ip.IsFragment);
        Assert.Equal(64, ip.TimeToLive);
        Assert.Equal(IpProtocol.Tcp, ip.Protocol);
        Assert.Equal(0x5db4, ip.HeaderChecksum);
        Assert.Equal(Captures.V4Client, ip.SourceAddress);
        Assert.Equal(Captures.V4Server, ip.DestinationAddress);
        Assert.Equal(40, ip.Payload.Length);
        Assert.True(ip.VerifyChecksum());
    }

    [Fact]
    public void TryWriteHeader_CapturedFields_ReproducesCapturedHeader()
    {
        var buf = new byte[60];
        Assert.True(Ipv4Packet.TryWriteHeader(buf, Captures.V4Client, Captures.V4Server, IpProtocol.Tcp, 60, identification: 0x8adf));
        Assert.Equal(Captures.Ipv4Syn.AsSpan(0, 20).ToArray(), buf.AsSpan(0, 20).ToArray());
    }

    [Fact]
    public void TryCreate_EveryTruncation_Rejected()
    {
        byte[] b = Captures.Ipv4Syn;
        for (int len = 0; len < b.Length; len++)
            Assert.False(Ipv4Packet.TryCreate(b.AsSpan(0, len), out _), $"length {len}");
    }

    [Theory]
    [InlineData(0x44)] // IHL 4 < 5
    [InlineData(0x4F)] // IHL 15: a 60-byte header in a 58-byte packet
    [InlineData(0x65)] // version 6
    public void TryCreate_BadVersionOrIhl_Rejected(byte versionIhl)
    {
        byte[] b = Captures.Ipv4Data; // total length 58 < 60 so IHL 15 does not fit either
        b[0] = versionIhl;
        Assert.False(Ipv4Packet.TryCreate(b, out _));
    }

    [Fact]
    public void TryCreate_TrailingLinkPadding_ViewCoversTotalLengthOnly()
    {
        byte[] b = [.. Captures.Ipv4Data, 0, 0, 0, 0];
        Assert.True(Ipv4Packet.TryCreate(b, out var ip));
        Assert.Equal(Captures.Ipv4Data.Length, ip.Bytes.Length);
    }

    [Theory]
    [InlineData(0x20, 0x00, true)]  // MF
    [InlineData(0x00, 0x01, true)]  // offset 8
    [InlineData(0x40, 0x00, false)] // DF only
    public void IsFragment_FlagsAndOffset_Reported(byte hi, byte lo, bool fragment)
    {
        byte[] b = Captures.Ipv4Data;
        b[6] = hi; b[7] = lo;
        Assert.True(Ipv4Packet.TryCreate(b, out var ip));
        Assert.Equal(fragment, ip.IsFragment);
        Assert.Equal(fragment ? TcpPacketStatus.Fragment : TcpPacketStatus.Tcp, TcpPacket.TryParse(b, out _));
    }

    [Fact]
    public void RewriteTtlAndAddresses_Incremental_ChecksumStaysValid()
    {
        byte[] b = Captures.Ipv4Syn;
        Assert.True(Ipv4Packet.TryCreate(b, out var ip));
        ip.RewriteTimeToLive(63);
        ip.RewriteSourceAddress(0xC6120102);
        ip.RewriteDestinationAddress(0xC6120202);
        Assert.True(ip.VerifyChecksum());
        ushort incremental = ip.HeaderChecksum;
        ip.FillChecksum();
        Assert.Equal(incremental, ip.HeaderChecksum);
    }

    [Fact]
    public void TrySetTotalLength_Shrink_ChecksumStaysValid()
    {
        byte[] b = Captures.Ipv4Data;
        Assert.True(Ipv4Packet.TrySetTotalLength(b, 40));
        Assert.True(Ipv4Packet.TryCreate(b, out var ip));
        Assert.Equal(40, ip.TotalLength);
        Assert.True(ip.VerifyChecksum());
        Assert.False(Ipv4Packet.TrySetTotalLength(b, b.Length + 1));
        Assert.False(Ipv4Packet.TrySetTotalLength(b, 19));
    }
}
