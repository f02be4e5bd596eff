using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Engine;

/// <summary>
/// The engine's bridge to the Wire header views: one parse of a packet into a <see cref="Segment"/> (the validated
/// meaning the engine works with), and whole-packet output through <see cref="TcpPacketWriter"/> with the options
/// the engine keeps end to end (MSS and window scale on SYNs, timestamps on every segment when negotiated).
/// </summary>
internal static class SegmentCodec
{
    public const int MaxHeaders = 40 + 60;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool TryParse(Span<byte> packet, out Segment s)
    {
        s = default;
        s.WindowScale = 0xFF;
        if (TcpPacket.TryParse(packet, out TcpPacket p) != TcpPacketStatus.Tcp)
            return false;
        s.IsIPv6 = p.IsIpv6;
        if (p.IsIpv6)
        {
            Ipv6Packet ip = p.Ip6;
            s.Source = ip.SourceAddressBytes;
            s.Destination = ip.DestinationAddressBytes;
            s.Ttl = ip.HopLimit;
            s.TrafficClass = ip.TrafficClass;
        }
        else
        {
            Ipv4Packet ip = p.Ip4;
            s.Source = ip.SourceAddressBytes;
            s.Destination = ip.DestinationAddressBytes;
            s.Ttl = ip.TimeToLive;
            s.TrafficClass = ip.TypeOfService;
        }
        TcpSegment tcp = p.Tcp;
        TcpOptionSummary options = tcp.ReadOptions();
        if (options.Malformed)
            return false;
        s.SourcePort = tcp.SourcePort;
        s.DestinationPort = tcp.DestinationPort;
        s.SequenceNumber = tcp.SequenceNumber.Value;
        s.AcknowledgementNumber = tcp.AcknowledgmentNumber.Value;
        s.Flags = tcp.Flags & (TcpFlags.Fin | TcpFlags.Syn | TcpFlags.Rst | TcpFlags.Psh | TcpFlags.Ack);
        s.Window = tcp.Window;
        s.Mss = options.HasMss ? options.Mss : (ushort)0;
        // RFC 7323 §2.3: a shift above 14 is used as 14.
        s.WindowScale = options.HasWindowScale ? Math.Min(options.WindowScale, (byte)14) : (byte)0xFF;
        s.SackPermitted = options.SackPermitted;
        s.HasTimestamps = options.HasTimestamps;
        s.TsVal = options.TsVal;
        s.TsEcr = options.TsEcr;
        s.Payload = tcp.Payload;
        return true;
    }

    /// <summary>Bytes before the payload in a packet <see cref="Write"/> builds for <paramref name="o"/>.</summary>
    public static int HeaderLength(in OutSegment o) => TcpPacketWriter.PayloadOffset(o.IsIPv6, OptionsLength(o));

    private static int OptionsLength(in OutSegment o)
    {
        int n = 0;
        if ((o.Flags & TcpFlags.Syn) != 0)
        {
            if (o.Mss != 0) n += 4;
            if (o.WindowScale != 0xFF) n += 4;
        }
        if (o.HasTimestamps) n += 12;
        return n;
    }

    /// <summary>SACK blocks fit beside timestamps: 40 option bytes, 12 for timestamps, 2 + 8 per block (RFC 2018 §3).</summary>
    public static int MaxSackBlocks(in OutSegment o) => o.HasTimestamps ? 3 : 4;

    /// <summary>
    /// Writes a payload-less packet (a SYN-ACK, an ACK) with the options of <paramref name="o"/> plus SACK-permitted on a
    /// SYN (RFC 2018 §2) or SACK blocks (<paramref name="sackEdges"/>: left, right pairs; RFC 2018 §3). Returns the length.
    /// </summary>
    public static int WriteControl(Span<byte> packet, in OutSegment o, UInt128 source, UInt128 destination, bool sackPermitted, ReadOnlySpan<uint> sackEdges) =>
        WriteCore(packet, o, source, destination, 0, sackPermitted, sackEdges);

    /// <summary>
    /// Writes a whole packet whose payload the caller already placed at <c>packet[HeaderLength(o)..]</c>; both
    /// checksums are computed, or with <paramref name="partialTcpChecksum"/> the TCP one is left partial (pseudo-header
    /// sum) for a sink that has it completed (<see cref="IPacketSink.CompletesChecksums"/>). Returns the packet length.
    /// </summary>
    public static int Write(Span<byte> packet, in OutSegment o, UInt128 source, UInt128 destination, int payloadLength,
        bool partialTcpChecksum = false) =>
        WriteCore(packet, o, source, destination, payloadLength, false, default, partialTcpChecksum);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static int WriteCore(Span<byte> packet, in OutSegment o, UInt128 source, UInt128 destination, int payloadLength,
        bool sackPermitted, ReadOnlySpan<uint> sackEdges, bool partialTcpChecksum = false)
    {
        Span<byte> options = stackalloc byte[40];
        var w = new TcpOptionWriter(options);
        if ((o.Flags & TcpFlags.Syn) != 0)
        {
            if (o.Mss != 0)
                w.WriteMss(o.Mss);
            if (o.WindowScale != 0xFF)
            {
                w.WriteNop();
                w.WriteWindowScale(o.WindowScale);
            }
            if (sackPermitted)
            {
                w.WriteNop();
                w.WriteNop();
                w.WriteSackPermitted();
            }
        }
        if (o.HasTimestamps)
        {
            // RFC 7323 Appendix A: two NOPs keep the timestamps 4-byte aligned.
            w.WriteNop();
            w.WriteNop();
            w.WriteTimestamps(o.TsVal, o.TsEcr);
        }
        if (sackEdges.Length >= 2)
        {
            Span<SeqNumber> edges = stackalloc SeqNumber[8];
            int n = Math.Min(sackEdges.Length & ~1, 2 * MaxSackBlocks(o));
            for (int i = 0; i < n; i++)
                edges[i] = new SeqNumber(sackEdges[i]);
            w.WriteNop();
            w.WriteNop();
            w.WriteSack(edges[..n]);
        }
        w.PadToWord();
        var spec = new TcpPacketSpec(o.IsIPv6, source, destination, o.SourcePort, o.DestinationPort,
            new SeqNumber(o.SequenceNumber), new SeqNumber(o.AcknowledgementNumber), o.Flags, o.Window) { Ttl = o.Ttl };
        int offset = TcpPacketWriter.PayloadOffset(o.IsIPv6, w.Written);
        int length = TcpPacketWriter.Write(packet, spec, w.WrittenSpan, packet.Slice(offset, payloadLength), partialTcpChecksum);
        if (length < 0)
            throw new InvalidOperationException("output packet does not fit");
        return length;
    }

    /// <summary>True when the packet is TCP with a correct checksum (the simulator checks everything it carries).</summary>
    public static bool VerifyTcpChecksum(Span<byte> packet) =>
        TcpPacket.TryParse(packet, out TcpPacket p) == TcpPacketStatus.Tcp && p.VerifyChecksum();
}
