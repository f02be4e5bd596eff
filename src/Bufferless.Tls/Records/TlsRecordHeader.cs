using System.Buffers.Binary;

namespace Bufferless.Tls.Records;

/// <summary>
/// View over the 5-byte record header, RFC 8446 §5.1:
/// <code>
///  0        1        2        3        4
/// +--------+--------+--------+--------+--------+
/// |  type  | legacy_record_version   |  length  |
/// +--------+--------+--------+--------+--------+
/// </code>
/// </summary>
internal readonly ref struct TlsRecordHeader
{
    public const int Size = 5;
    private const int TypeOffset = 0;
    private const int VersionOffset = 1;
    private const int LengthOffset = 3;

    private readonly ReadOnlySpan<byte> _bytes;

    private TlsRecordHeader(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    public static bool TryCreate(ReadOnlySpan<byte> bytes, out TlsRecordHeader header)
    {
        header = bytes.Length >= Size ? new TlsRecordHeader(bytes[..Size]) : default;
        return bytes.Length >= Size;
    }

    public TlsContentType ContentType => (TlsContentType)_bytes[TypeOffset];
    public ushort LegacyVersion => BinaryPrimitives.ReadUInt16BigEndian(_bytes[VersionOffset..]);
    public int Length => BinaryPrimitives.ReadUInt16BigEndian(_bytes[LengthOffset..]);

    public static void Write(Span<byte> destination, TlsContentType type, ushort legacyVersion, int length)
    {
        destination[TypeOffset] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[VersionOffset..], legacyVersion);
        BinaryPrimitives.WriteUInt16BigEndian(destination[LengthOffset..], checked((ushort)length));
    }
}

internal static class TlsRecordLimits
{
    /// <summary>RFC 8446 §5.1: TLSPlaintext.length MUST NOT exceed 2^14.</summary>
    public const int MaxPlaintext = 1 << 14;

    /// <summary>RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256.</summary>
    public const int MaxCiphertext = (1 << 14) + 256;

    public const int TagSize = 16;

    /// <summary>Header, content type byte and tag around a protected record's content.</summary>
    public const int ProtectedOverhead = TlsRecordHeader.Size + 1 + TagSize;

    public const int MaxRecord = TlsRecordHeader.Size + MaxCiphertext;

    /// <summary>
    /// RFC 8446 §5.5: AES-GCM may protect at most 2^24.5 full-size records under one key; the engine updates
    /// its write key well before that (ChaCha20-Poly1305's margin is larger; one limit keeps it simple).
    /// </summary>
    public const ulong DefaultKeyUpdateThreshold = 1UL << 24;
}
