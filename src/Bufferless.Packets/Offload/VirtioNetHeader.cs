using System.Buffers.Binary;

namespace Bufferless.Packets.Offload;

/// <summary>
/// <c>struct virtio_net_hdr</c> (virtio 1.x §5.1.6, linux/virtio_net.h): the 10-byte prefix a TUN opened with
/// IFF_VNET_HDR puts before every packet it hands over and expects before every packet written to it. It says
/// whether the packet is a GSO super-packet (and the segment size to split it at) and whether the transport
/// checksum is still partial (only the pseudo-header sum is in the field).
/// </summary>
/// <remarks>
/// <code>
/// u8  flags        NEEDS_CSUM (1): checksum from CsumStart to the end, store at CsumStart + CsumOffset
///                  DATA_VALID (2): checksum already verified by the kernel
/// u8  gso_type     NONE 0, TCPV4 1, UDP 3, TCPV6 4, UDP_L4 5; ECN (0x80) or-ed in when CWR needs care
/// u16 hdr_len      length of the headers that every segment repeats (a hint only; we compute our own)
/// u16 gso_size     payload bytes per segment
/// u16 csum_start   offset of the transport header
/// u16 csum_offset  offset of the checksum field inside it (16 for TCP)
/// </code>
/// A legacy TUN uses the host's byte order (TUNSETVNETLE/BE only matter for a cross-endian guest); every
/// platform .NET runs this on (x86-64, arm64) is little-endian, so the fields are read little-endian.
/// </remarks>
public readonly record struct VirtioNetHeader(byte Flags, byte GsoType, ushort HeaderLength, ushort GsoSize, ushort CsumStart, ushort CsumOffset)
{
    public const int Size = 10;
    public const byte FlagNeedsCsum = 1, FlagDataValid = 2;
    public const byte GsoNone = 0, GsoTcpV4 = 1, GsoUdp = 3, GsoTcpV6 = 4, GsoUdpL4 = 5, GsoEcn = 0x80;

    public bool NeedsChecksum => (Flags & FlagNeedsCsum) != 0;

    /// <summary>The GSO type without the ECN bit.</summary>
    public byte GsoKind => (byte)(GsoType & ~GsoEcn);

    /// <summary>Reads the header from the first <see cref="Size"/> bytes; false if the buffer is shorter.</summary>
    public static bool TryRead(ReadOnlySpan<byte> buffer, out VirtioNetHeader header)
    {
        header = default;
        if (buffer.Length < Size) return false;
        header = new VirtioNetHeader(buffer[0], buffer[1],
            BinaryPrimitives.ReadUInt16LittleEndian(buffer[2..]),
            BinaryPrimitives.ReadUInt16LittleEndian(buffer[4..]),
            BinaryPrimitives.ReadUInt16LittleEndian(buffer[6..]),
            BinaryPrimitives.ReadUInt16LittleEndian(buffer[8..]));
        return true;
    }

    /// <summary>Writes the header into the first <see cref="Size"/> bytes of <paramref name="buffer"/>.</summary>
    public void Write(Span<byte> buffer)
    {
        buffer[0] = Flags;
        buffer[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[2..], HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[6..], CsumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[8..], CsumOffset);
    }
}
