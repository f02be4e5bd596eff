using System.Buffers.Binary;

namespace Bufferless.Packets.Wire;

/// <summary>What <see cref="TcpPacket.TryParse"/> found.</summary>
public enum TcpPacketStatus
{
    /// <summary>A whole, length-valid TCP segment in IPv4 or IPv6.</summary>
    Tcp,
    /// <summary>A valid IP packet that is not TCP (or whose extension headers we do not walk): pass it on.</summary>
    NotTcp,
    /// <summary>An IP fragment: TCP headers cannot be seen; the engine passes or drops it, never rewrites it.</summary>
    Fragment,
    /// <summary>Not a valid IPv4/IPv6 packet, or a TCP header that does not fit.</summary>
    Malformed,
}

/// <summary>
/// An IPv4 or IPv6 packet carrying TCP: the one view the engine works with. Addresses are numeric big-endian
/// values in a <see cref="UInt128"/> (IPv4 in the low 32 bits), so one flow key serves both families.
/// </summary>
public readonly ref struct TcpPacket
{
    private readonly Span<byte> _b;

    private TcpPacket(Span<byte> packet, bool isIpv6, int tcpOffset, TcpSegment tcp)
    {
        _b = packet;
        IsIpv6 = isIpv6;
        TcpOffset = tcpOffset;
        Tcp = tcp;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static TcpPacketStatus TryParse(Span<byte> buffer, out TcpPacket packet)
    {
        packet = default;
        if (buffer.IsEmpty) return TcpPacketStatus.Malformed;
        switch (buffer[0] >> 4)
        {
            case 4:
            {
                if (!Ipv4Packet.TryCreate(buffer, out var ip)) return TcpPacketStatus.Malformed;
                if (ip.IsFragment) return TcpPacketStatus.Fragment;
                if (ip.Protocol != IpProtocol.Tcp) return TcpPacketStatus.NotTcp;
                if (!TcpSegment.TryCreate(ip.Payload, out var tcp)) return TcpPacketStatus.Malformed;
                packet = new TcpPacket(ip.Bytes, false, ip.HeaderLength, tcp);
                return TcpPacketStatus.Tcp;
            }
            case 6:
            {
                if (!Ipv6Packet.TryCreate(buffer, out var ip)) return TcpPacketStatus.Malformed;
                switch (ip.TryFindUpperLayer(out byte protocol, out int offset))
                {
                    case Ipv6Packet.UpperLayerStatus.Fragment: return TcpPacketStatus.Fragment;
                    case Ipv6Packet.UpperLayerStatus.Malformed: return TcpPacketStatus.Malformed;
                    case Ipv6Packet.UpperLayerStatus.Unsupported: return TcpPacketStatus.NotTcp;
                }
                if (protocol != IpProtocol.Tcp) return TcpPacketStatus.NotTcp;
                if (!TcpSegment.TryCreate(ip.Bytes[offset..], out var tcp)) return TcpPacketStatus.Malformed;
                packet = new TcpPacket(ip.Bytes, true, offset, tcp);
                return TcpPacketStatus.Tcp;
            }
            default:
                return TcpPacketStatus.Malformed;
        }
    }

    public bool IsIpv6 { get; }
    /// <summary>The whole IP packet (exactly its length).</summary>
    public Span<byte> Bytes => _b;
    public int Length => _b.Length;
    /// <summary>Offset of the TCP header (IP header plus any IPv4 options or IPv6 extension headers).</summary>
    public int TcpOffset { get; }
    public TcpSegment Tcp { get; }
    /// <summary>Offset of the TCP payload in the packet.</summary>
    public int PayloadOffset => TcpOffset + Tcp.HeaderLength;

    public UInt128 Source => IsIpv6 ? Ip6.SourceAddress : Ip4.SourceAddress;
    public UInt128 Destination => IsIpv6 ? Ip6.DestinationAddress : Ip4.DestinationAddress;

    /// <summary>The IPv4 header view (valid only when !<see cref="IsIpv6"/>).</summary>
    public Ipv4Packet Ip4 { get { Ipv4Packet.TryCreate(_b, out var p); return p; } }
    /// <summary>The IPv6 header view (valid only when <see cref="IsIpv6"/>).</summary>
    public Ipv6Packet Ip6 { get { Ipv6Packet.TryCreate(_b, out var p); return p; } }

    /// <summary>The pseudo-header sum for this packet's addresses and current TCP length.</summary>
    public uint PseudoHeaderSum() => PseudoHeaderSum(Tcp.Length);

    private uint PseudoHeaderSum(int tcpLength) => IsIpv6
        ? Checksum.PseudoHeaderV6(_b.Slice(8, 16), _b.Slice(24, 16), IpProtocol.Tcp, tcpLength)
        : Checksum.PseudoHeaderV4(Ip4.SourceAddress, Ip4.DestinationAddress, IpProtocol.Tcp, tcpLength);

    public bool VerifyChecksum() => Tcp.VerifyChecksum(PseudoHeaderSum());

    /// <summary>Recomputes the TCP checksum over the whole segment (after the payload changed).</summary>
    public void FillChecksum() => Tcp.FillChecksum(PseudoHeaderSum());

    /// <summary>Rewrites the source address (same family), updating the IPv4 header and TCP checksums incrementally.</summary>
    public void RewriteSource(UInt128 address) => RewriteAddress(address, source: true);

    public void RewriteDestination(UInt128 address) => RewriteAddress(address, source: false);

    private void RewriteAddress(UInt128 address, bool source)
    {
        uint before = PseudoHeaderSum();
        if (IsIpv6)
        {
            var ip6 = Ip6;
            if (source) ip6.SourceAddress = address; else ip6.DestinationAddress = address;
        }
        else if (source) Ip4.RewriteSourceAddress((uint)address);
        else Ip4.RewriteDestinationAddress((uint)address);
        Tcp.UpdateChecksumForPseudoHeader(before, PseudoHeaderSum());
    }

    /// <summary>
    /// Sets the IP length fields for a new TCP payload length and returns the resized view. <paramref name="buffer"/>
    /// is the buffer this packet starts at (it may be longer); the caller writes the payload at
    /// <see cref="PayloadOffset"/> before or after, then calls <see cref="FillChecksum"/> on the result.
    /// </summary>
    public bool TryResizePayload(Span<byte> buffer, int payloadLength, out TcpPacket resized)
    {
        resized = default;
        int total = PayloadOffset + payloadLength;
        if (payloadLength < 0 || total > buffer.Length) return false;
        bool set = IsIpv6 ? Ipv6Packet.TrySetPayloadLength(buffer, total - Ipv6Packet.HeaderLength)
                          : Ipv4Packet.TrySetTotalLength(buffer, total);
        return set && TryParse(buffer[..total], out resized) == TcpPacketStatus.Tcp;
    }
}

/// <summary>Header fields of a segment the engine originates. Addresses as in <see cref="TcpPacket"/>.</summary>
public readonly record struct TcpPacketSpec(
    bool IsIpv6, UInt128 Source, UInt128 Destination, ushort SourcePort, ushort DestinationPort,
    SeqNumber Seq, SeqNumber Ack, TcpFlags Flags, ushort Window)
{
    public byte Ttl { get; init; } = 64;
    public ushort IpIdentification { get; init; }
    /// <summary>IPv6 flow label (RFC 6437); keep the flow's own label on segments the engine originates.</summary>
    public uint FlowLabel { get; init; }
}

/// <summary>
/// Builds a complete IPv4 or IPv6 + TCP packet with correct checksums into a caller span (handshake flight,
/// ACKs, RST, alerts). To encrypt straight into the packet, write the payload at
/// <see cref="PayloadOffset"/> first and pass that same region as <c>payload</c>: the copy is then a no-op.
/// </summary>
public static class TcpPacketWriter
{
    public static int PayloadOffset(bool isIpv6, int optionsLength)
        => (isIpv6 ? Ipv6Packet.HeaderLength : Ipv4Packet.MinHeaderLength) + TcpSegment.MinHeaderLength + ((optionsLength + 3) & ~3);

    /// <summary>Returns the packet length, or -1 if it does not fit in <paramref name="destination"/> (or options exceed 40 bytes).</summary>
    /// <param name="partialChecksum">
    /// Leave the TCP checksum partial: the folded pseudo-header sum, not complemented, as in the kernel's
    /// CHECKSUM_PARTIAL packets, for a sink that has it completed downstream (a TUN write marked NEEDS_CSUM); the
    /// IPv4 header checksum is then left zero too, for that sink to fill once per write (<c>GsoCoalescer</c>).
    /// </param>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static int Write(Span<byte> destination, in TcpPacketSpec spec, ReadOnlySpan<byte> options, ReadOnlySpan<byte> payload,
        bool partialChecksum = false)
    {
        if (options.Length > TcpSegment.MaxHeaderLength - TcpSegment.MinHeaderLength) return -1;
        int ipHeader = spec.IsIpv6 ? Ipv6Packet.HeaderLength : Ipv4Packet.MinHeaderLength;
        int payloadOffset = PayloadOffset(spec.IsIpv6, options.Length);
        int total = payloadOffset + payload.Length;
        if (total > destination.Length || total - (spec.IsIpv6 ? ipHeader : 0) > ushort.MaxValue) return -1;

        payload.CopyTo(destination[payloadOffset..]); // first: payload may alias the destination region
        var tcp = destination[ipHeader..total];
        TcpSegment.WriteHeader(tcp, spec.SourcePort, spec.DestinationPort, spec.Seq, spec.Ack, spec.Flags, spec.Window, options);
        uint pseudo;
        if (spec.IsIpv6)
        {
            Ipv6Packet.TryWriteHeader(destination, spec.Source, spec.Destination, IpProtocol.Tcp, total - ipHeader, spec.Ttl, spec.FlowLabel);
            pseudo = Checksum.PseudoHeaderV6(destination.Slice(8, 16), destination.Slice(24, 16), IpProtocol.Tcp, tcp.Length);
        }
        else
        {
            Ipv4Packet.TryWriteHeader(destination, (uint)spec.Source, (uint)spec.Destination, IpProtocol.Tcp, total,
                spec.IpIdentification, spec.Ttl, headerChecksum: !partialChecksum);
            pseudo = Checksum.PseudoHeaderV4((uint)spec.Source, (uint)spec.Destination, IpProtocol.Tcp, tcp.Length);
        }
        if (partialChecksum)
        {
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Checksum.Fold(pseudo));
            return total;
        }
        TcpSegment.TryCreate(tcp, out var segment);
        segment.FillChecksum(pseudo);
        return total;
    }
}
