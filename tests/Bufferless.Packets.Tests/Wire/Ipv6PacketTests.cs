using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Wire;

public class Ipv6PacketTests
{
    [Fact]
    public void TryCreate_CapturedSyn_Deconstructs()
    {
        Assert.True(Ipv6Packet.TryCreate(Captures.Ipv6Syn, out var ip));
        Assert.Equal(0, ip.TrafficClass);
        Assert.Equal(0xbb681u, ip.FlowLabel);
        Assert.Equal(40, ip.PayloadLength);
        Assert.Equal(IpProtocol.Tcp, ip.NextHeader);
        Assert.Equal(64, ip.HopLimit);
        Assert.Equal(Captures.V6Client, ip.SourceAddress);
        Assert.Equal(Captures.V6Server, ip.DestinationAddress);
        Assert.Equal(Ipv6Packet.UpperLayerStatus.Found, ip.TryFindUpperLayer(out byte proto, out int offset));
        Assert.Equal(IpProtocol.Tcp, proto);
        Assert.Equal(40, offset);
    }

    [Fact]
    public void TryWriteHeader_CapturedFields_ReproducesCapturedHeader()
    {
        var buf = new byte[80];
        Assert.True(Ipv6Packet.TryWriteHeader(buf, Captures.V6Client, Captures.V6Server, IpProtocol.Tcp, 40, flowLabel: 0xbb681));
        Assert.Equal(Captures.Ipv6Syn.AsSpan(0, 40).ToArray(), buf.AsSpan(0, 40).ToArray());
    }

    [Fact]
    public void TryCreate_EveryTruncation_Rejected()
    {
        byte[] b = Captures.Ipv6Syn;
        for (int len = 0; len < b.Length; len++)
            Assert.False(Ipv6Packet.TryCreate(b.AsSpan(0, len), out _), $"length {len}");
    }

    // Inserts an 8-byte extension header of the given type before the TCP header of the captured data packet.
    private static byte[] WithExtension(byte type, byte b2 = 0, byte b3 = 0, int extraUnits = 0)
    {
        byte[] src = Captures.Ipv6Data;
        int extLength = 8 * (1 + extraUnits);
        var b = new byte[src.Length + extLength];
        src.AsSpan(0, 40).CopyTo(b);
        b[6] = type;
        b[4] = (byte)((src.Length - 40 + extLength) >> 8);
        b[5] = (byte)(src.Length - 40 + extLength);
        b[40] = IpProtocol.Tcp;
        b[41] = (byte)extraUnits;
        b[42] = b2;
        b[43] = b3;
        src.AsSpan(40).CopyTo(b.AsSpan(40 + extLength));
        return b;
    }

    [Fact]
    public void TryFindUpperLayer_HopByHopAndDestOptions_Skipped()
    {
        foreach (byte t in new[] { IpProtocol.HopByHop, IpProtocol.Ipv6DestinationOptions })
        {
            byte[] b = WithExtension(t, extraUnits: 1);
            Assert.True(Ipv6Packet.TryCreate(b, out var ip));
            Assert.Equal(Ipv6Packet.UpperLayerStatus.Found, ip.TryFindUpperLayer(out byte proto, out int offset));
            Assert.Equal(IpProtocol.Tcp, proto);
            Assert.Equal(56, offset);
            Assert.Equal(TcpPacketStatus.Tcp, TcpPacket.TryParse(b, out var tcp));
            Assert.True(tcp.VerifyChecksum()); // the pseudo-header length is the TCP length, not Payload Length
            Assert.Equal(Captures.HttpGet, tcp.Tcp.Payload.ToArray());
        }
    }

    [Fact]
    public void TryFindUpperLayer_FragmentHeader_ReportsFragment()
    {
        byte[] b = WithExtension(IpProtocol.Ipv6Fragment);
        Assert.True(Ipv6Packet.TryCreate(b, out var ip));
        Assert.Equal(Ipv6Packet.UpperLayerStatus.Fragment, ip.TryFindUpperLayer(out _, out _));
        Assert.Equal(TcpPacketStatus.Fragment, TcpPacket.TryParse(b, out _));
    }

    [Fact]
    public void TryFindUpperLayer_RoutingWithSegmentsLeft_Unsupported()
    {
        Assert.True(Ipv6Packet.TryCreate(WithExtension(IpProtocol.Ipv6Routing, b3: 1), out var ip));
        Assert.Equal(Ipv6Packet.UpperLayerStatus.Unsupported, ip.TryFindUpperLayer(out _, out _));
        Assert.True(Ipv6Packet.TryCreate(WithExtension(IpProtocol.Ipv6Routing, b3: 0), out var done));
        Assert.Equal(Ipv6Packet.UpperLayerStatus.Found, done.TryFindUpperLayer(out _, out _));
    }

    [Fact]
    public void TryFindUpperLayer_ExtensionLengthPastEnd_Malformed()
    {
        byte[] b = WithExtension(IpProtocol.Ipv6DestinationOptions);
        b[41] = 200;
        Assert.True(Ipv6Packet.TryCreate(b, out var ip));
        Assert.Equal(Ipv6Packet.UpperLayerStatus.Malformed, ip.TryFindUpperLayer(out _, out _));
        Assert.Equal(TcpPacketStatus.Malformed, TcpPacket.TryParse(b, out _));
    }

    [Fact]
    public void TryFindUpperLayer_HopByHopNotFirst_Malformed()
    {
        byte[] b = WithExtension(IpProtocol.Ipv6DestinationOptions);
        b[40] = IpProtocol.HopByHop;
        Assert.True(Ipv6Packet.TryCreate(b, out var ip));
        Assert.Equal(Ipv6Packet.UpperLayerStatus.Malformed, ip.TryFindUpperLayer(out _, out _));
    }

    [Fact]
    public void TryParse_Udp_NotTcp()
    {
        byte[] b = Captures.Ipv6Data;
        b[6] = IpProtocol.Udp;
        Assert.Equal(TcpPacketStatus.NotTcp, TcpPacket.TryParse(b, out _));
        b[6] = IpProtocol.Esp;
        Assert.Equal(TcpPacketStatus.NotTcp, TcpPacket.TryParse(b, out _));
    }
}
