using System.Buffers.Binary;

namespace Bufferless.Packets.Wire;

/// <summary>
/// A view over an IPv4 packet (RFC 791 §3.1). <see cref="TryCreate"/> checks every length once; afterwards
/// every getter and setter is in bounds. Options are not interpreted, only skipped via IHL.
/// </summary>
/// <remarks>
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version|  IHL  |Type of Service|          Total Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Identification        |Flags|      Fragment Offset    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Time to Live |    Protocol   |         Header Checksum       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       Source Address                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Destination Address                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Options                    |    Padding    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// The view covers exactly Total Length bytes; link-layer padding after it is ignored.
/// </remarks>
public readonly ref struct Ipv4Packet
{
    public const int MinHeaderLength = 20;
    private const int VersionIhl = 0, Tos = 1, TotalLengthOffset = 2, Id = 4, FlagsFragment = 6, Ttl = 8,
        ProtocolOffset = 9, ChecksumOffset = 10, Source = 12, Destination = 16;
    private const ushort MoreFragments = 0x2000, DontFragmentBit = 0x4000, OffsetMask = 0x1FFF;

    private readonly Span<byte> _b;

    private Ipv4Packet(Span<byte> packet) => _b = packet;

    /// <summary>Validates version 4, IHL &gt;= 5, IHL*4 &lt;= Total Length &lt;= buffer length.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool TryCreate(Span<byte> buffer, out Ipv4Packet packet)
    {
        packet = default;
        if (buffer.Length < MinHeaderLength) return false;
        if (buffer[VersionIhl] >> 4 != 4) return false;
        int headerLength = (buffer[VersionIhl] & 0x0F) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(buffer[TotalLengthOffset..]);
        if (headerLength < MinHeaderLength || total < headerLength || total > buffer.Length) return false;
        packet = new Ipv4Packet(buffer[..total]);
        return true;
    }

    /// <summary>The whole packet (header and payload).</summary>
    public Span<byte> Bytes => _b;
    public int HeaderLength => (_b[VersionIhl] & 0x0F) * 4;
    public byte TypeOfService { get => _b[Tos]; set => _b[Tos] = value; }
    public ushort TotalLength => BinaryPrimitives.ReadUInt16BigEndian(_b[TotalLengthOffset..]);
    public ushort Identification
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[Id..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[Id..], value);
    }
    public bool DontFragment => (FlagsAndOffset & DontFragmentBit) != 0;
    public bool MoreFragmentsFlag => (FlagsAndOffset & MoreFragments) != 0;
    /// <summary>Fragment offset in bytes.</summary>
    public int FragmentOffset => (FlagsAndOffset & OffsetMask) * 8;
    /// <summary>Any fragment, first or later (RFC 791: MF set or offset non-zero). The engine passes these on untouched.</summary>
    public bool IsFragment => (FlagsAndOffset & (MoreFragments | OffsetMask)) != 0;
    private ushort FlagsAndOffset => BinaryPrimitives.ReadUInt16BigEndian(_b[FlagsFragment..]);
    public byte TimeToLive { get => _b[Ttl]; set => _b[Ttl] = value; }
    public byte Protocol { get => _b[ProtocolOffset]; set => _b[ProtocolOffset] = value; }
    public ushort HeaderChecksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[ChecksumOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[ChecksumOffset..], value);
    }
    /// <summary>Source address as a numeric big-endian value (198.18.1.2 is 0xC6120102).</summary>
    public uint SourceAddress
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_b[Source..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(_b[Source..], value);
    }
    public uint DestinationAddress
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_b[Destination..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(_b[Destination..], value);
    }
    public Span<byte> SourceAddressBytes => _b.Slice(Source, 4);
    public Span<byte> DestinationAddressBytes => _b.Slice(Destination, 4);
    public Span<byte> Options => _b[MinHeaderLength..HeaderLength];
    public Span<byte> Payload => _b[HeaderLength..];

    /// <summary>RFC 791 §3.1: the checksum over the header (with its own field) sums to zero.</summary>
    public bool VerifyChecksum() => Checksum.Fold(Checksum.Sum(_b[..HeaderLength])) == 0xFFFF;

    public void FillChecksum()
    {
        HeaderChecksum = 0;
        HeaderChecksum = Checksum.Compute(_b[..HeaderLength]);
    }

    /// <summary>Sets TTL and updates the header checksum incrementally (RFC 1624).</summary>
    public void RewriteTimeToLive(byte ttl)
    {
        ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(_b[Ttl..]);
        _b[Ttl] = ttl;
        HeaderChecksum = Checksum.Update(HeaderChecksum, oldWord, BinaryPrimitives.ReadUInt16BigEndian(_b[Ttl..]));
    }

    /// <summary>Sets the source address and updates the header checksum incrementally. The caller updates any transport checksum.</summary>
    public void RewriteSourceAddress(uint address)
    {
        HeaderChecksum = Checksum.Update32(HeaderChecksum, SourceAddress, address);
        SourceAddress = address;
    }

    public void RewriteDestinationAddress(uint address)
    {
        HeaderChecksum = Checksum.Update32(HeaderChecksum, DestinationAddress, address);
        DestinationAddress = address;
    }

    /// <summary>
    /// Writes a 20-byte header without options at the start of <paramref name="buffer"/> and fills its checksum
    /// (left zero with <c>headerChecksum: false</c>, for a writer that fills it later).
    /// Returns false if the buffer cannot hold <paramref name="totalLength"/> bytes.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool TryWriteHeader(Span<byte> buffer, uint source, uint destination, byte protocol, int totalLength,
        ushort identification = 0, byte ttl = 64, bool dontFragment = true, byte tos = 0, bool headerChecksum = true)
    {
        if (totalLength < MinHeaderLength || totalLength > ushort.MaxValue || buffer.Length < totalLength) return false;
        buffer[VersionIhl] = 0x45;
        buffer[Tos] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[TotalLengthOffset..], (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[Id..], identification);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[FlagsFragment..], dontFragment ? DontFragmentBit : (ushort)0);
        buffer[Ttl] = ttl;
        buffer[ProtocolOffset] = protocol;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[ChecksumOffset..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[Source..], source);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[Destination..], destination);
        if (headerChecksum)
            BinaryPrimitives.WriteUInt16BigEndian(buffer[ChecksumOffset..], Checksum.Compute(buffer[..MinHeaderLength]));
        return true;
    }

    /// <summary>Fills the header checksum of the IPv4 header <paramref name="header"/> (all IHL bytes, options included).</summary>
    public static void FillHeaderChecksum(Span<byte> header)
    {
        BinaryPrimitives.WriteUInt16BigEndian(header[ChecksumOffset..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(header[ChecksumOffset..], Checksum.Compute(header));
    }

    /// <summary>
    /// Sets Total Length after the payload changed size and updates the header checksum incrementally.
    /// <paramref name="buffer"/> is the buffer the packet lives in (it may be longer than the old packet).
    /// </summary>
    public static bool TrySetTotalLength(Span<byte> buffer, int totalLength)
    {
        if (buffer.Length < MinHeaderLength || totalLength > buffer.Length || totalLength > ushort.MaxValue
            || totalLength < (buffer[VersionIhl] & 0x0F) * 4) return false;
        ushort old = BinaryPrimitives.ReadUInt16BigEndian(buffer[TotalLengthOffset..]);
        ushort sum = BinaryPrimitives.ReadUInt16BigEndian(buffer[ChecksumOffset..]);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[TotalLengthOffset..], (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[ChecksumOffset..], Checksum.Update(sum, old, (ushort)totalLength));
        return true;
    }
}
