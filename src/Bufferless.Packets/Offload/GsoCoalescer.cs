using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Offload;

/// <summary>
/// Gathers consecutive output packets of one TCP flow and direction into one GSO super-packet for a TUN opened
/// with IFF_VNET_HDR, so the kernel takes a whole train in one write and cuts it again at gso_size (what
/// wireguard-go does on its write path). Every packet passes through the one preallocated buffer, which always
/// starts with room for the <see cref="VirtioNetHeader"/>; nothing is allocated.
/// </summary>
/// <remarks>
/// A packet joins the pending train only if the kernel's segmentation would give it back byte for byte:
/// same addresses, ports, IP TOS/TTL/DF (IPv6 class, flow label, hop limit), TCP ack, window and options,
/// sequence number exactly where the train ends, payload no longer than the first one's (gso_size) and the
/// train not yet closed by a shorter segment; no SYN, FIN, RST or URG anywhere, CWR only on the first. PSH is the
/// one bit that does not come back as it was: the kernel puts it on the last segment only (see <see cref="TryAdd"/>).
/// IPv4 packets with options and IPv6 packets with extension headers are written alone. A longer train gets the
/// total length; every IPv4 header written gets a fresh checksum. Every TCP packet written, a train of one included, goes out with
/// NEEDS_CSUM and the pseudo-header sum in its TCP checksum field (the kernel's CHECKSUM_PARTIAL convention): the
/// kernel completes the checksum only where a packet leaves through a device without checksum offload, and a
/// veth hop or local delivery never needs it. So whatever a packet's TCP checksum field held when it was added
/// is replaced, and producers need not compute full checksums (<see cref="Io.IPacketSink.CompletesChecksums"/>).
/// A packet that is not TCP is written unchanged (gso_type NONE).
/// </remarks>
public sealed class GsoCoalescer
{
    public const int MaxPacket = 65535;
    private const int TcpSeqOffset = 4, TcpAckOffset = 8, TcpDataOffset = 12, TcpFlagsOffset = 13, TcpChecksumOffset = 16;
    private const TcpFlags NeverCoalesced = TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Rst | TcpFlags.Urg;

    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(VirtioNetHeader.Size + MaxPacket, pinned: true);
    private int _length, _count, _segmentSize, _lastPayload, _tcpOffset, _headerLength;
    private bool _open, _ipv6, _tcp;
    private uint _nextSeq;

    /// <summary>Packets in the pending train (0: nothing to write).</summary>
    public int Count => _count;

    /// <summary>
    /// Adds <paramref name="packet"/> to the pending train. An empty coalescer takes any packet up to 65,535 bytes
    /// (a non-TCP or ineligible one is then written alone). False if the packet cannot join: the caller writes
    /// <see cref="Finish"/> and adds it again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryAdd(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > MaxPacket || packet.Length == 0) return false;
        if (_count == 0) return Start(packet);
        if (!_open || !CanJoin(packet, out int payload, out TcpFlags flags)) return false;
        packet[_headerLength..].CopyTo(_buffer.AsSpan(VirtioNetHeader.Size + _length));
        _length += payload;
        _count++;
        _lastPayload = payload;
        _nextSeq += (uint)payload;
        // The kernel keeps PSH only on the last segment it cuts, so a PSH anywhere in the train ends up on its last
        // packet. That is allowed: RFC 9293 §3.9.1.2 (MUST-61) only asks for PSH on the last segment of the data
        // queued, and a sender may collapse successive pushes; Linux's own TSO does the same. The engine marks every
        // record it seals with PSH, so closing the train at each PSH would leave nothing to coalesce.
        if ((flags & TcpFlags.Psh) != 0)
            _buffer[VirtioNetHeader.Size + _tcpOffset + TcpFlagsOffset] |= (byte)TcpFlags.Psh;
        if (payload < _segmentSize) _open = false;
        return true;
    }

    /// <summary>
    /// True when <paramref name="packet"/> belongs to the same TCP connection and direction as the pending train
    /// (addresses and ports), or when either is not TCP: the caller must then write the train before it, so that
    /// nothing of one direction of a connection overtakes what went before it. False when nothing is pending.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool MustPrecede(ReadOnlySpan<byte> packet)
    {
        if (_count == 0) return false;
        if (!_tcp || !TryTcpOffset(packet, out bool ipv6, out int tcpOffset) || ipv6 != _ipv6) return true;
        ReadOnlySpan<byte> head = _buffer.AsSpan(VirtioNetHeader.Size, _length);
        ReadOnlySpan<byte> addresses = ipv6 ? head.Slice(8, 32) : head.Slice(12, 8);
        return packet.Slice(ipv6 ? 8 : 12, addresses.Length).SequenceEqual(addresses)
            && packet.Slice(tcpOffset, 4).SequenceEqual(head.Slice(_tcpOffset, 4));
    }

    /// <summary>
    /// Replaces a pending lone pure ACK with <paramref name="packet"/> when that is a later pure ACK of the same
    /// connection and direction: same sequence number, an acknowledgement number strictly beyond the pending one
    /// (RFC 9293 §3.10.7.4: ACKs are cumulative, so the later one carries everything the earlier one said, its window
    /// included, and it is the newer word on both). An ACK that does not move the acknowledgement (a duplicate ACK a
    /// sender counts for fast retransmit, RFC 5681 §3.2, or a window update) is never replaced. False if not replaced.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryReplaceAck(ReadOnlySpan<byte> packet)
    {
        if (_count != 1 || !_tcp || _length != _headerLength) return false;
        ReadOnlySpan<byte> head = _buffer.AsSpan(VirtioNetHeader.Size, _length);
        if ((TcpFlags)head[_tcpOffset + TcpFlagsOffset] != TcpFlags.Ack) return false;
        if (packet.Length > MaxPacket || !TryTcpOffset(packet, out bool ipv6, out int tcpOffset) || ipv6 != _ipv6) return false;
        if ((TcpFlags)packet[tcpOffset + TcpFlagsOffset] != TcpFlags.Ack
            || packet.Length != tcpOffset + (packet[tcpOffset + TcpDataOffset] >> 4) * 4) return false;
        if (!MustPrecede(packet)) return false;
        if (!packet.Slice(tcpOffset + TcpSeqOffset, 4).SequenceEqual(head.Slice(_tcpOffset + TcpSeqOffset, 4))) return false;
        uint ack = BinaryPrimitives.ReadUInt32BigEndian(packet[(tcpOffset + TcpAckOffset)..]);
        uint pendingAck = BinaryPrimitives.ReadUInt32BigEndian(head[(_tcpOffset + TcpAckOffset)..]);
        if ((int)(ack - pendingAck) <= 0) return false;
        Start(packet);
        return true;
    }

    /// <summary>
    /// Completes the pending train and returns the bytes to write (virtio header + packet); empty if nothing is
    /// pending. The span stays valid until the next <see cref="TryAdd"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ReadOnlySpan<byte> Finish()
    {
        if (_count == 0) return default;
        Span<byte> ip = _buffer.AsSpan(VirtioNetHeader.Size, _length);
        if (!_tcp)
        {
            default(VirtioNetHeader).Write(_buffer);
        }
        else
        {
            // A train gets its total length; one packet's lengths are its own. The IPv4 header checksum is filled here
            // either way (a producer that leaves checksums to the sink left it zero); the TCP one is left to the kernel.
            bool train = _count > 1;
            if (train && _ipv6)
                BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(_length - Ipv6Packet.HeaderLength));
            else if (train)
                BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)_length);
            if (!_ipv6)
                Ipv4Packet.FillHeaderChecksum(ip[.._tcpOffset]);
            WritePartialChecksum(ip);
            byte gsoType = !train ? VirtioNetHeader.GsoNone : _ipv6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4;
            new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, gsoType, train ? (ushort)_headerLength : (ushort)0,
                train ? (ushort)_segmentSize : (ushort)0, (ushort)_tcpOffset, TcpChecksumOffset).Write(_buffer);
        }
        int total = VirtioNetHeader.Size + _length;
        _count = 0;
        _length = 0;
        _open = false;
        return _buffer.AsSpan(0, total);
    }

    /// <summary>
    /// NEEDS_CSUM: the TCP checksum field holds the folded pseudo-header sum, not complemented (what the kernel's own
    /// CHECKSUM_PARTIAL packets carry); segmentation adjusts it per segment, and the kernel (or the device) finishes it.
    /// </summary>
    private void WritePartialChecksum(Span<byte> ip)
    {
        int tcpLength = _length - _tcpOffset;
        uint pseudo = _ipv6
            ? Checksum.PseudoHeaderV6(ip.Slice(8, 16), ip.Slice(24, 16), IpProtocol.Tcp, tcpLength)
            : Checksum.PseudoHeaderV4(BinaryPrimitives.ReadUInt32BigEndian(ip[12..]),
                BinaryPrimitives.ReadUInt32BigEndian(ip[16..]), IpProtocol.Tcp, tcpLength);
        BinaryPrimitives.WriteUInt16BigEndian(ip[(_tcpOffset + TcpChecksumOffset)..], Checksum.Fold(pseudo));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool Start(ReadOnlySpan<byte> packet)
    {
        packet.CopyTo(_buffer.AsSpan(VirtioNetHeader.Size));
        _length = packet.Length;
        _count = 1;
        _tcp = TryTcpOffset(packet, out _ipv6, out _tcpOffset);
        _open = _tcp && TryTemplate(packet, out _headerLength);
        if (!_open) return true;
        _segmentSize = packet.Length - _headerLength;
        _lastPayload = _segmentSize;
        _nextSeq = BinaryPrimitives.ReadUInt32BigEndian(packet[(_tcpOffset + TcpSeqOffset)..]) + (uint)_segmentSize;
        return true;
    }

    /// <summary>
    /// Where the TCP header of a whole, unfragmented TCP packet starts: IPv4 (options allowed) or IPv6 with TCP as
    /// the next header; false for anything else (written unchanged).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static bool TryTcpOffset(ReadOnlySpan<byte> p, out bool ipv6, out int tcpOffset)
    {
        ipv6 = false;
        tcpOffset = 0;
        if (p.Length < Ipv4Packet.MinHeaderLength) return false;
        int version = p[0] >> 4;
        if (version == 4)
        {
            int ihl = (p[0] & 0x0F) * 4;
            if (ihl < Ipv4Packet.MinHeaderLength || p[9] != IpProtocol.Tcp) return false;
            // RFC 791: only a whole datagram has a TCP header and checksum of its own.
            if ((BinaryPrimitives.ReadUInt16BigEndian(p[6..]) & 0x3FFF) != 0) return false;
            if (BinaryPrimitives.ReadUInt16BigEndian(p[2..]) != p.Length) return false;
            tcpOffset = ihl;
        }
        else if (version == 6)
        {
            if (p.Length < Ipv6Packet.HeaderLength || p[6] != IpProtocol.Tcp) return false;
            if (BinaryPrimitives.ReadUInt16BigEndian(p[4..]) != p.Length - Ipv6Packet.HeaderLength) return false;
            ipv6 = true;
            tcpOffset = Ipv6Packet.HeaderLength;
        }
        else return false;
        if (p.Length < tcpOffset + TcpSegment.MinHeaderLength) return false;
        int tcpHeader = (p[tcpOffset + TcpDataOffset] >> 4) * 4;
        return tcpHeader >= TcpSegment.MinHeaderLength && tcpOffset + tcpHeader <= p.Length;
    }

    /// <summary>Whether a TCP packet can head a train: IPv4 without options, a payload, no SYN/FIN/RST/URG.</summary>
    private bool TryTemplate(ReadOnlySpan<byte> p, out int headerLength)
    {
        headerLength = _tcpOffset + (p[_tcpOffset + TcpDataOffset] >> 4) * 4;
        if (!_ipv6 && _tcpOffset != Ipv4Packet.MinHeaderLength) return false;
        if (headerLength >= p.Length) return false;
        var flags = (TcpFlags)p[_tcpOffset + TcpFlagsOffset];
        return (flags & NeverCoalesced) == 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool CanJoin(ReadOnlySpan<byte> p, out int payload, out TcpFlags flags)
    {
        payload = p.Length - _headerLength;
        flags = 0;
        if (payload <= 0 || payload > _segmentSize || _lastPayload != _segmentSize) return false;
        if (_length + payload > MaxPacket) return false;
        ReadOnlySpan<byte> head = _buffer.AsSpan(VirtioNetHeader.Size, _headerLength);
        if (p[0] >> 4 != head[0] >> 4) return false;
        if (_ipv6)
        {
            // Version/class/flow label, next header, hop limit, addresses; the payload length must be this packet's.
            if (!p[..4].SequenceEqual(head[..4]) || !p[6..40].SequenceEqual(head[6..40])) return false;
            if (BinaryPrimitives.ReadUInt16BigEndian(p[4..]) != p.Length - Ipv6Packet.HeaderLength) return false;
        }
        else
        {
            // Version/IHL and TOS; flags/fragment, TTL, protocol; addresses. Identification may differ (the kernel renumbers).
            if (p[0] != head[0] || p[1] != head[1] || !p.Slice(6, 4).SequenceEqual(head.Slice(6, 4))
                || !p.Slice(12, 8).SequenceEqual(head.Slice(12, 8))) return false;
            if (BinaryPrimitives.ReadUInt16BigEndian(p[2..]) != p.Length) return false;
        }
        ReadOnlySpan<byte> tcp = p[_tcpOffset..], headTcp = head[_tcpOffset..];
        if (tcp[TcpDataOffset] != headTcp[TcpDataOffset]) return false;
        if (BinaryPrimitives.ReadUInt32BigEndian(tcp[TcpSeqOffset..]) != _nextSeq) return false;
        // Ports; ack number; window; options.
        if (!tcp[..4].SequenceEqual(headTcp[..4]) || !tcp.Slice(8, 4).SequenceEqual(headTcp.Slice(8, 4))
            || !tcp.Slice(14, 2).SequenceEqual(headTcp.Slice(14, 2))
            || !tcp[TcpSegment.MinHeaderLength..(_headerLength - _tcpOffset)].SequenceEqual(headTcp[TcpSegment.MinHeaderLength..])) return false;
        flags = (TcpFlags)tcp[TcpFlagsOffset];
        var headFlags = (TcpFlags)headTcp[TcpFlagsOffset];
        // RFC 3168 §6.1.2: CWR marks only the first segment after a window reduction, so it may only lead.
        if ((flags & TcpFlags.Cwr) != 0) return false;
        return (flags & ~TcpFlags.Psh) == (headFlags & ~(TcpFlags.Psh | TcpFlags.Cwr));
    }
}
