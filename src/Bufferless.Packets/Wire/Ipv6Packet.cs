using System.Buffers.Binary;

namespace Bufferless.Packets.Wire;

/// <summary>
/// A view over an IPv6 packet (RFC 8200 §3). <see cref="TryCreate"/> checks the fixed header and Payload
/// Length once. <see cref="TryFindUpperLayer"/> walks the extension headers.
/// </summary>
/// <remarks>
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Traffic Class |           Flow Label                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Payload Length        |  Next Header  |   Hop Limit   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                         Source Address (128 bits)             +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                      Destination Address (128 bits)           +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// Extension headers supported: Hop-by-Hop (0), Destination Options (60) and Routing (43) with Segments Left 0
/// are skipped by their length; a Fragment header (44) marks the packet <see cref="UpperLayerStatus.Fragment"/>;
/// Routing with Segments Left &gt; 0 (the pseudo-header would need the final destination), AH, ESP, No Next
/// Header and anything unknown are reported as <see cref="UpperLayerStatus.Unsupported"/>, so the engine passes
/// the packet on untouched. Jumbograms (Payload Length 0) are unsupported.
/// </remarks>
public readonly ref struct Ipv6Packet
{
    public const int HeaderLength = 40;
    private const int VersionTc = 0, PayloadLengthOffset = 4, NextHeaderOffset = 6, HopLimitOffset = 7,
        Source = 8, Destination = 24;
    private const int MaxExtensionHeaders = 8; // bounds the walk on hostile chains

    private readonly Span<byte> _b;

    private Ipv6Packet(Span<byte> packet) => _b = packet;

    /// <summary>Validates version 6 and 40 + Payload Length &lt;= buffer length.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool TryCreate(Span<byte> buffer, out Ipv6Packet packet)
    {
        packet = default;
        if (buffer.Length < HeaderLength || buffer[VersionTc] >> 4 != 6) return false;
        int total = HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(buffer[PayloadLengthOffset..]);
        if (total > buffer.Length) return false;
        packet = new Ipv6Packet(buffer[..total]);
        return true;
    }

    public Span<byte> Bytes => _b;
    public byte TrafficClass => (byte)(BinaryPrimitives.ReadUInt16BigEndian(_b) >> 4);
    public uint FlowLabel => BinaryPrimitives.ReadUInt32BigEndian(_b) & 0xFFFFF;
    public ushort PayloadLength => BinaryPrimitives.ReadUInt16BigEndian(_b[PayloadLengthOffset..]);
    public byte NextHeader { get => _b[NextHeaderOffset]; set => _b[NextHeaderOffset] = value; }
    public byte HopLimit { get => _b[HopLimitOffset]; set => _b[HopLimitOffset] = value; }
    public Span<byte> SourceAddressBytes => _b.Slice(Source, 16);
    public Span<byte> DestinationAddressBytes => _b.Slice(Destination, 16);
    /// <summary>Source address as a numeric big-endian 128-bit value.</summary>
    public UInt128 SourceAddress
    {
        get => BinaryPrimitives.ReadUInt128BigEndian(_b[Source..]);
        set => BinaryPrimitives.WriteUInt128BigEndian(_b[Source..], value);
    }
    public UInt128 DestinationAddress
    {
        get => BinaryPrimitives.ReadUInt128BigEndian(_b[Destination..]);
        set => BinaryPrimitives.WriteUInt128BigEndian(_b[Destination..], value);
    }
    /// <summary>Everything after the fixed header (extension headers included).</summary>
    public Span<byte> Payload => _b[HeaderLength..];

    public enum UpperLayerStatus { Found, Fragment, Unsupported, Malformed }

    /// <summary>
    /// Walks the extension headers to the upper-layer header. On <see cref="UpperLayerStatus.Found"/>,
    /// <paramref name="protocol"/> is its protocol number and <paramref name="offset"/> its offset in the packet.
    /// </summary>
    public UpperLayerStatus TryFindUpperLayer(out byte protocol, out int offset)
    {
        protocol = NextHeader;
        offset = HeaderLength;
        for (int i = 0; i <= MaxExtensionHeaders; i++)
        {
            switch (protocol)
            {
                case IpProtocol.HopByHop when i != 0: // RFC 8200 §4.3: only immediately after the fixed header
                    return UpperLayerStatus.Malformed;
                case IpProtocol.HopByHop:
                case IpProtocol.Ipv6DestinationOptions:
                case IpProtocol.Ipv6Routing:
                    if (offset + 8 > _b.Length) return UpperLayerStatus.Malformed;
                    if (protocol == IpProtocol.Ipv6Routing && _b[offset + 3] != 0) return UpperLayerStatus.Unsupported;
                    int length = (_b[offset + 1] + 1) * 8; // RFC 8200 §4.3: 8-octet units, not counting the first 8
                    if (offset + length > _b.Length) return UpperLayerStatus.Malformed;
                    protocol = _b[offset];
                    offset += length;
                    break;
                case IpProtocol.Ipv6Fragment:
                    return offset + 8 > _b.Length ? UpperLayerStatus.Malformed : UpperLayerStatus.Fragment;
                case IpProtocol.Ah:
                case IpProtocol.Esp:
                case IpProtocol.Ipv6NoNext:
                    return UpperLayerStatus.Unsupported;
                default:
                    return UpperLayerStatus.Found;
            }
        }
        return UpperLayerStatus.Unsupported;
    }

    /// <summary>Writes the 40-byte fixed header (no extension headers). False if the buffer is too small.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool TryWriteHeader(Span<byte> buffer, UInt128 source, UInt128 destination, byte nextHeader,
        int payloadLength, byte hopLimit = 64, uint flowLabel = 0, byte trafficClass = 0)
    {
        if (payloadLength < 0 || payloadLength > ushort.MaxValue || buffer.Length < HeaderLength + payloadLength) return false;
        BinaryPrimitives.WriteUInt32BigEndian(buffer, (6u << 28) | ((uint)trafficClass << 20) | (flowLabel & 0xFFFFF));
        BinaryPrimitives.WriteUInt16BigEndian(buffer[PayloadLengthOffset..], (ushort)payloadLength);
        buffer[NextHeaderOffset] = nextHeader;
        buffer[HopLimitOffset] = hopLimit;
        BinaryPrimitives.WriteUInt128BigEndian(buffer[Source..], source);
        BinaryPrimitives.WriteUInt128BigEndian(buffer[Destination..], destination);
        return true;
    }

    /// <summary>Sets Payload Length in a buffer that holds a packet (IPv6 has no header checksum).</summary>
    public static bool TrySetPayloadLength(Span<byte> buffer, int payloadLength)
    {
        if (buffer.Length < HeaderLength || payloadLength < 0 || payloadLength > ushort.MaxValue
            || HeaderLength + payloadLength > buffer.Length) return false;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[PayloadLengthOffset..], (ushort)payloadLength);
        return true;
    }
}
