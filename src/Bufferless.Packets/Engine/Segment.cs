using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Engine;

/// <summary>
/// The meaning of one parsed TCP/IP packet (validated once by <see cref="SegmentCodec.TryParse"/>): addresses stay
/// in the packet, everything else is copied out. The payload is a slice of the packet.
/// </summary>
internal ref struct Segment
{
    public bool IsIPv6;
    public ReadOnlySpan<byte> Source;
    public ReadOnlySpan<byte> Destination;
    public byte Ttl;
    public byte TrafficClass;
    public ushort SourcePort;
    public ushort DestinationPort;
    public uint SequenceNumber;
    public uint AcknowledgementNumber;
    public TcpFlags Flags;
    public ushort Window;
    public ushort Mss;            // 0: absent
    public byte WindowScale;      // 0xFF: absent
    public bool SackPermitted;
    public bool HasTimestamps;
    public uint TsVal;
    public uint TsEcr;
    public Span<byte> Payload;

    public readonly bool Has(TcpFlags flag) => (Flags & flag) != 0;

    /// <summary>Sequence space the segment occupies (SYN and FIN count one each, RFC 9293 §3.4).</summary>
    public readonly int SequenceLength => Payload.Length + (Has(TcpFlags.Syn) ? 1 : 0) + (Has(TcpFlags.Fin) ? 1 : 0);
}

/// <summary>What to write into an outgoing segment's headers (the payload is written by the caller in place).</summary>
internal struct OutSegment
{
    public bool IsIPv6;
    public byte Ttl;
    public byte TrafficClass;
    public ushort SourcePort;
    public ushort DestinationPort;
    public uint SequenceNumber;
    public uint AcknowledgementNumber;
    public TcpFlags Flags;
    public ushort Window;
    public ushort Mss;            // written when SYN and non-zero
    public byte WindowScale;      // written when SYN and not 0xFF
    public bool HasTimestamps;
    public uint TsVal;
    public uint TsEcr;
}
