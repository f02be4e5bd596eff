using System.Buffers.Binary;

namespace Bufferless.Packets.Engine;

/// <summary>
/// STOP-GAP until the Wire layer lands (branch <c>wire</c>): parses IPv4/IPv6 + TCP into a <see cref="Segment"/>
/// and writes whole packets. Replaced by the Wire header views after the merge.
/// </summary>
internal static class SegmentCodec
{
    public const int MaxHeaders = 40 + 60;

    public static bool TryParse(Span<byte> packet, out Segment s)
    {
        s = default;
        s.WindowScale = 0xFF;
        if (packet.Length < 20)
            return false;
        int version = packet[0] >> 4;
        int tcpOffset, tcpLength;
        if (version == 4)
        {
            int ihl = (packet[0] & 0x0F) * 4;
            int total = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
            if (ihl < 20 || total < ihl || total > packet.Length || packet[9] != 6)
                return false;
            // Fragments cannot be handled packet by packet.
            if ((BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x3FFF) != 0)
                return false;
            s.TrafficClass = packet[1];
            s.Ttl = packet[8];
            s.Source = packet.Slice(12, 4);
            s.Destination = packet.Slice(16, 4);
            tcpOffset = ihl;
            tcpLength = total - ihl;
        }
        else if (version == 6)
        {
            if (packet.Length < 40 || packet[6] != 6)
                return false;
            int payload = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
            if (40 + payload > packet.Length)
                return false;
            s.IsIPv6 = true;
            s.TrafficClass = (byte)(BinaryPrimitives.ReadUInt16BigEndian(packet) >> 4);
            s.Ttl = packet[7];
            s.Source = packet.Slice(8, 16);
            s.Destination = packet.Slice(24, 16);
            tcpOffset = 40;
            tcpLength = payload;
        }
        else
        {
            return false;
        }
        if (tcpLength < 20)
            return false;
        Span<byte> tcp = packet.Slice(tcpOffset, tcpLength);
        int dataOffset = (tcp[12] >> 4) * 4;
        if (dataOffset < 20 || dataOffset > tcpLength)
            return false;
        s.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(tcp);
        s.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(tcp[2..]);
        s.SequenceNumber = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
        s.AcknowledgementNumber = BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]);
        s.Flags = (Tcp)(tcp[13] & 0x1F);
        s.Window = BinaryPrimitives.ReadUInt16BigEndian(tcp[14..]);
        if (!ParseOptions(tcp[20..dataOffset], ref s))
            return false;
        s.Payload = tcp[dataOffset..];
        return true;
    }

    private static bool ParseOptions(ReadOnlySpan<byte> o, ref Segment s)
    {
        int i = 0;
        while (i < o.Length)
        {
            byte kind = o[i];
            if (kind == 0)
                break;
            if (kind == 1)
            {
                i++;
                continue;
            }
            if (i + 1 >= o.Length)
                return false;
            int len = o[i + 1];
            if (len < 2 || i + len > o.Length)
                return false;
            ReadOnlySpan<byte> v = o.Slice(i + 2, len - 2);
            switch (kind)
            {
                case 2 when len == 4: s.Mss = BinaryPrimitives.ReadUInt16BigEndian(v); break;
                case 3 when len == 3: s.WindowScale = Math.Min(v[0], (byte)14); break;
                case 4 when len == 2: s.SackPermitted = true; break;
                case 8 when len == 10:
                    s.HasTimestamps = true;
                    s.TsVal = BinaryPrimitives.ReadUInt32BigEndian(v);
                    s.TsEcr = BinaryPrimitives.ReadUInt32BigEndian(v[4..]);
                    break;
            }
            i += len;
        }
        return true;
    }

    /// <summary>Header bytes (IP + TCP) <see cref="Write"/> puts before the payload.</summary>
    public static int HeaderLength(in OutSegment o)
    {
        int ip = o.IsIPv6 ? 40 : 20;
        return ip + 20 + OptionsLength(o);
    }

    private static int OptionsLength(in OutSegment o)
    {
        int n = 0;
        if (o.Flags.HasFlag(Tcp.Syn))
        {
            if (o.Mss != 0) n += 4;
            if (o.WindowScale != 0xFF) n += 4;
        }
        if (o.HasTimestamps) n += 12;
        return n;
    }

    /// <summary>
    /// Writes IP and TCP headers for a payload already placed at <c>packet[HeaderLength(o)..]</c> and fills both
    /// checksums. Returns the packet length.
    /// </summary>
    public static int Write(Span<byte> packet, in OutSegment o, ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, int payloadLength)
    {
        int ipLen = o.IsIPv6 ? 40 : 20;
        int optLen = OptionsLength(o);
        int tcpLen = 20 + optLen + payloadLength;
        int total = ipLen + tcpLen;
        if (o.IsIPv6)
        {
            BinaryPrimitives.WriteUInt32BigEndian(packet, (6u << 28) | ((uint)o.TrafficClass << 20));
            BinaryPrimitives.WriteUInt16BigEndian(packet[4..], (ushort)tcpLen);
            packet[6] = 6;
            packet[7] = o.Ttl;
            source.CopyTo(packet[8..]);
            destination.CopyTo(packet[24..]);
        }
        else
        {
            packet[0] = 0x45;
            packet[1] = o.TrafficClass;
            BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)total);
            BinaryPrimitives.WriteUInt32BigEndian(packet[4..], 0x0000_4000); // id 0, DF
            packet[8] = o.Ttl;
            packet[9] = 6;
            packet[10] = 0;
            packet[11] = 0;
            source.CopyTo(packet[12..]);
            destination.CopyTo(packet[16..]);
            BinaryPrimitives.WriteUInt16BigEndian(packet[10..], Finish(Sum(packet[..20], 0)));
        }
        Span<byte> tcp = packet.Slice(ipLen, tcpLen);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, o.SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], o.DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], o.SequenceNumber);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], o.AcknowledgementNumber);
        tcp[12] = (byte)(((20 + optLen) / 4) << 4);
        tcp[13] = (byte)o.Flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], o.Window);
        tcp[16] = 0;
        tcp[17] = 0;
        tcp[18] = 0;
        tcp[19] = 0;
        int p = 20;
        if (o.Flags.HasFlag(Tcp.Syn))
        {
            if (o.Mss != 0)
            {
                tcp[p] = 2; tcp[p + 1] = 4;
                BinaryPrimitives.WriteUInt16BigEndian(tcp[(p + 2)..], o.Mss);
                p += 4;
            }
            if (o.WindowScale != 0xFF)
            {
                tcp[p] = 1; tcp[p + 1] = 3; tcp[p + 2] = 3; tcp[p + 3] = o.WindowScale;
                p += 4;
            }
        }
        if (o.HasTimestamps)
        {
            tcp[p] = 1; tcp[p + 1] = 1; tcp[p + 2] = 8; tcp[p + 3] = 10;
            BinaryPrimitives.WriteUInt32BigEndian(tcp[(p + 4)..], o.TsVal);
            BinaryPrimitives.WriteUInt32BigEndian(tcp[(p + 8)..], o.TsEcr);
        }
        // RFC 9293 §3.1: the checksum covers a pseudo-header, the TCP header and the payload.
        uint sum = Sum(source, 0);
        sum = Sum(destination, sum);
        sum += 6u + (uint)tcpLen;
        sum = Sum(tcp, sum);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Finish(sum));
        return total;
    }

    private static uint Sum(ReadOnlySpan<byte> data, uint sum)
    {
        ulong acc = sum;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong v = BinaryPrimitives.ReadUInt64BigEndian(data[i..]);
            acc += (v >> 48) + ((v >> 32) & 0xFFFF) + ((v >> 16) & 0xFFFF) + (v & 0xFFFF);
        }
        for (; i + 1 < data.Length; i += 2)
            acc += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length)
            acc += (uint)data[i] << 8;
        while (acc >> 16 != 0)
            acc = (acc & 0xFFFF) + (acc >> 16);
        return (uint)acc;
    }

    private static ushort Finish(uint sum)
    {
        while (sum >> 16 != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>True when the TCP checksum of a parsed packet checks out (the simulator verifies what it carries).</summary>
    public static bool VerifyTcpChecksum(ReadOnlySpan<byte> packet)
    {
        bool v6 = packet[0] >> 4 == 6;
        int ipLen = v6 ? 40 : (packet[0] & 0x0F) * 4;
        int tcpLen = v6 ? BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) : BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) - ipLen;
        ReadOnlySpan<byte> src = v6 ? packet.Slice(8, 16) : packet.Slice(12, 4);
        ReadOnlySpan<byte> dst = v6 ? packet.Slice(24, 16) : packet.Slice(16, 4);
        uint sum = Sum(src, 0);
        sum = Sum(dst, sum);
        sum += 6u + (uint)tcpLen;
        sum = Sum(packet.Slice(ipLen, tcpLen), sum);
        while (sum >> 16 != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return sum == 0xFFFF;
    }
}
