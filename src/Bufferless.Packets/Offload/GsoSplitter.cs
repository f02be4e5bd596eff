using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Offload;

/// <summary>
/// Cuts a TCP GSO super-packet (as a TUN with TSO offload hands it over) into the MSS-sized packets the kernel
/// would have sent: every segment repeats the IP and TCP headers, the IPv4 identification counts up from the
/// first, the TCP sequence number advances by the payload cut off so far, FIN and PSH stay only on the last
/// segment and CWR only on the first (what the kernel's own tcp_gso_segment does), and every segment gets full,
/// correct IPv4 header and TCP checksums. One segment is produced per <see cref="TryNext"/> call into a buffer the
/// caller owns, so nothing is allocated.
/// </summary>
/// <remarks>
/// <see cref="TryCreateInPlace"/> and <see cref="TryNextInPlace"/> cut the super-packet where it lies instead: each
/// segment's headers are written just before its payload, over the tail of the segment before it (already handed
/// on), so no payload byte is copied. Those segments carry a partial TCP checksum (the pseudo-header sum, as the
/// kernel's CHECKSUM_PARTIAL packets do) rather than a full one, and a zero IPv4 header checksum: the kernel vouched
/// for the data (NEEDS_CSUM), the engine verifies neither checksum, and every packet written back through a virtio
/// header gets a fresh IPv4 header checksum and NEEDS_CSUM again (<see cref="GsoCoalescer"/>). An IPv6 packet with
/// extension headers gets full checksums.
/// </remarks>
/// <remarks>
/// The cut-through engine depends on the split falling exactly on gso_size: a sender with TSO sized each record
/// (plus its header) to one MSS, so cutting at gso_size gives back one record per packet.
/// </remarks>
public ref struct GsoSplitter
{
    private const int TcpSeqOffset = 4, TcpDataOffset = 12, TcpFlagsOffset = 13, TcpChecksumOffset = 16;

    private readonly ReadOnlySpan<byte> _packet;
    private readonly Span<byte> _inPlace, _template;
    private readonly int _tcpOffset, _headerLength, _segmentSize;
    private readonly bool _ipv6;
    private readonly ushort _firstId;
    private readonly uint _firstSeq, _pseudoBase;
    private int _payloadDone, _index;

    private GsoSplitter(ReadOnlySpan<byte> packet, int tcpOffset, int headerLength, int segmentSize, bool ipv6,
        Span<byte> inPlace = default, Span<byte> template = default)
    {
        _packet = packet;
        _inPlace = inPlace;
        _template = template;
        _tcpOffset = tcpOffset;
        _headerLength = headerLength;
        _segmentSize = segmentSize;
        _ipv6 = ipv6;
        _firstId = ipv6 ? (ushort)0 : BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        _firstSeq = BinaryPrimitives.ReadUInt32BigEndian(packet[(tcpOffset + TcpSeqOffset)..]);
        _pseudoBase = ipv6
            ? Checksum.PseudoHeaderV6(packet.Slice(8, 16), packet.Slice(24, 16), IpProtocol.Tcp, 0)
            : Checksum.PseudoHeaderV4(BinaryPrimitives.ReadUInt32BigEndian(packet[12..]),
                BinaryPrimitives.ReadUInt32BigEndian(packet[16..]), IpProtocol.Tcp, 0);
        _payloadDone = 0;
        _index = 0;
    }

    /// <summary>Payload bytes per segment (gso_size).</summary>
    public readonly int SegmentSize => _segmentSize;

    /// <summary>How many segments the packet gives (at least one, even with no payload).</summary>
    public readonly int SegmentCount
    {
        get
        {
            int payload = _packet.Length - _headerLength;
            return payload <= 0 ? 1 : (payload + _segmentSize - 1) / _segmentSize;
        }
    }

    /// <summary>Length of the repeated IP + TCP headers.</summary>
    public readonly int HeaderLength => _headerLength;

    /// <summary>
    /// Checks a TCPV4/TCPV6 super-packet against its header: IP version matching the GSO type, the TCP header
    /// at csum_start (the IPv4 header length exactly; past the fixed IPv6 header and any extension headers),
    /// a whole TCP header, a non-zero gso_size, and segments that fit an IP packet. False for anything else
    /// (the caller counts and drops it).
    /// </summary>
    public static bool TryCreate(ReadOnlySpan<byte> packet, in VirtioNetHeader header, out GsoSplitter splitter)
    {
        splitter = default;
        bool ipv6;
        if (header.GsoKind == VirtioNetHeader.GsoTcpV4) ipv6 = false;
        else if (header.GsoKind == VirtioNetHeader.GsoTcpV6) ipv6 = true;
        else return false;
        if (packet.Length < 1 || packet[0] >> 4 != (ipv6 ? 6 : 4)) return false;
        int tcpOffset = header.CsumStart;
        if (ipv6)
        {
            if (tcpOffset < Ipv6Packet.HeaderLength) return false;
        }
        else
        {
            if (packet.Length < Ipv4Packet.MinHeaderLength || tcpOffset != (packet[0] & 0x0F) * 4
                || tcpOffset < Ipv4Packet.MinHeaderLength || packet[9] != IpProtocol.Tcp) return false;
            // RFC 791: a fragment has no TCP header to repeat.
            if ((BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x3FFF) != 0) return false;
        }
        if (packet.Length < tcpOffset + TcpSegment.MinHeaderLength) return false;
        int tcpHeader = (packet[tcpOffset + TcpDataOffset] >> 4) * 4;
        int headerLength = tcpOffset + tcpHeader;
        if (tcpHeader < TcpSegment.MinHeaderLength || headerLength > packet.Length) return false;
        if (header.GsoSize == 0 || headerLength + header.GsoSize > 65535) return false;
        splitter = new GsoSplitter(packet, tcpOffset, headerLength, header.GsoSize, ipv6);
        return true;
    }

    /// <summary>
    /// Like <see cref="TryCreate"/>, for cutting <paramref name="packet"/> where it lies (<see cref="TryNextInPlace"/>):
    /// the headers are kept in <paramref name="template"/> (the caller's, at least <see cref="HeaderLength"/> bytes;
    /// false if shorter), since the first segment's own are rewritten.
    /// </summary>
    public static bool TryCreateInPlace(Span<byte> packet, in VirtioNetHeader header, Span<byte> template, out GsoSplitter splitter)
    {
        if (!TryCreate(packet, header, out var s) || s._headerLength > template.Length)
        {
            splitter = default;
            return false;
        }
        packet[..s._headerLength].CopyTo(template);
        splitter = new GsoSplitter(packet, s._tcpOffset, s._headerLength, s._segmentSize, s._ipv6, packet, template[..s._headerLength]);
        return true;
    }

    /// <summary>Writes the next segment into <paramref name="destination"/>; false when all were written (or it is too small).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryNext(Span<byte> destination, out int length)
    {
        length = 0;
        int payloadTotal = _packet.Length - _headerLength;
        if (_index > 0 && _payloadDone >= payloadTotal) return false;
        int chunk = Math.Min(_segmentSize, payloadTotal - _payloadDone);
        int total = _headerLength + chunk;
        if (destination.Length < total) return false;
        _packet[.._headerLength].CopyTo(destination);
        _packet.Slice(_headerLength + _payloadDone, chunk).CopyTo(destination[_headerLength..]);
        length = Finish(destination[..total], chunk, payloadTotal, partialChecksum: false);
        return true;
    }

    /// <summary>
    /// The next segment, cut in place (after <see cref="TryCreateInPlace"/>): it is
    /// <c>packet[offset..(offset + length)]</c>, valid until the next call, whose headers overwrite its last bytes.
    /// False when all were given.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryNextInPlace(out int offset, out int length)
    {
        offset = length = 0;
        int payloadTotal = _packet.Length - _headerLength;
        if (_inPlace.IsEmpty || _index > 0 && _payloadDone >= payloadTotal) return false;
        int chunk = Math.Min(_segmentSize, payloadTotal - _payloadDone);
        // The payload of this segment starts at _headerLength + _payloadDone: its headers go just before it.
        offset = _payloadDone;
        Span<byte> seg = _inPlace.Slice(offset, _headerLength + chunk);
        _template.CopyTo(seg);
        length = Finish(seg, chunk, payloadTotal, partialChecksum: !_ipv6 || _tcpOffset == Ipv6Packet.HeaderLength);
        return true;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private int Finish(Span<byte> seg, int chunk, int payloadTotal, bool partialChecksum)
    {
        int total = seg.Length;
        bool first = _index == 0, last = _payloadDone + chunk >= payloadTotal;

        if (_ipv6)
        {
            BinaryPrimitives.WriteUInt16BigEndian(seg[4..], (ushort)(total - Ipv6Packet.HeaderLength));
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(seg[2..], (ushort)total);
            BinaryPrimitives.WriteUInt16BigEndian(seg[4..], (ushort)(_firstId + _index));
            if (partialChecksum)
                BinaryPrimitives.WriteUInt16BigEndian(seg[10..], 0);
            else
                Ipv4Packet.FillHeaderChecksum(seg[.._tcpOffset]);
        }

        Span<byte> tcp = seg[_tcpOffset..];
        BinaryPrimitives.WriteUInt32BigEndian(tcp[TcpSeqOffset..], _firstSeq + (uint)_payloadDone);
        var flags = (TcpFlags)tcp[TcpFlagsOffset];
        if (!last) flags &= ~(TcpFlags.Fin | TcpFlags.Psh);
        if (!first) flags &= ~TcpFlags.Cwr;
        tcp[TcpFlagsOffset] = (byte)flags;
        uint pseudo = Checksum.Add(_pseudoBase, (uint)tcp.Length);
        if (partialChecksum)
        {
            BinaryPrimitives.WriteUInt16BigEndian(tcp[TcpChecksumOffset..], Checksum.Fold(pseudo));
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(tcp[TcpChecksumOffset..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(tcp[TcpChecksumOffset..], Checksum.Finish(Checksum.Sum(tcp, pseudo)));
        }

        _payloadDone += chunk;
        _index++;
        return total;
    }

    /// <summary>
    /// Completes a partial checksum in place (NEEDS_CSUM without GSO): the field at csum_start + csum_offset holds
    /// the pseudo-header sum, so the one's complement sum from csum_start to the end, complemented, is the checksum.
    /// False if the offsets fall outside the packet.
    /// </summary>
    public static bool TryCompleteChecksum(Span<byte> packet, in VirtioNetHeader header)
    {
        int start = header.CsumStart, at = start + header.CsumOffset;
        if (start >= packet.Length || at + 2 > packet.Length) return false;
        BinaryPrimitives.WriteUInt16BigEndian(packet[at..], Checksum.Finish(Checksum.Sum(packet[start..])));
        return true;
    }
}
