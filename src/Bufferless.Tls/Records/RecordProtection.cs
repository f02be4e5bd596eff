using System.Buffers.Binary;
using System.Security.Cryptography;
using Bufferless.Crypto.Aead;
using Bufferless.Tls.KeySchedule;

namespace Bufferless.Tls.Records;

/// <summary>
/// One direction's record protection: AEAD key, IV and the next record number. Seals and opens whole records in
/// place; allocation happens only when the key is set.
/// <list type="bullet">
/// <item>TLS 1.3 (RFC 8446 §5.2-5.3): the inner content type follows the content, the outer type is application_data,
/// the header is the AAD, the nonce is IV XOR record number.</item>
/// <item>TLS 1.2 (RFC 5246 §6.2.3.3): the outer type is the real type, AAD = seq_num + type + version + length.
/// AES-GCM (RFC 5288 §3): nonce = 4-byte salt + 8-byte explicit nonce sent before the ciphertext (we send the record
/// number, so a nonce never repeats under one key). ChaCha20-Poly1305 (RFC 7905 §2): nonce = IV XOR record number,
/// nothing explicit.</item>
/// </list>
/// </summary>
internal sealed class RecordProtection : IDisposable
{
    private readonly RecordAead _aead;
    private readonly byte[] _key;
    private readonly byte[] _iv = new byte[AeadAlgorithmInfo.NonceSize];
    private readonly int _ivLength;

    private RecordProtection(CipherSuiteInfo suite, TrafficSecret secret)
    {
        Suite = suite;
        _key = new byte[suite.KeyLength];
        _ivLength = AeadAlgorithmInfo.NonceSize;
        secret.DeriveKeyAndIv(_key, _iv);
        _aead = RecordAead.Create(suite.Aead, _key);
    }

    private RecordProtection(CipherSuiteInfo suite, ReadOnlySpan<byte> key, ReadOnlySpan<byte> fixedIv)
    {
        Suite = suite;
        _key = key.ToArray();
        _ivLength = suite.FixedIvLength;
        fixedIv[.._ivLength].CopyTo(_iv);
        _aead = RecordAead.Create(suite.Aead, _key);
    }

    public static RecordProtection Create(TrafficSecret secret) => new(secret.Suite, secret);

    /// <summary>TLS 1.2 record protection from key-block material (RFC 5246 §6.3).</summary>
    public static RecordProtection CreateTls12(CipherSuiteInfo suite, ReadOnlySpan<byte> key, ReadOnlySpan<byte> fixedIv) => new(suite, key, fixedIv);

    public CipherSuiteInfo Suite { get; }

    public bool IsTls12 => Suite.IsTls12;

    /// <summary>The record number the next Seal or Open uses (RFC 8446 §5.3, RFC 5246 §6.1).</summary>
    public ulong Sequence { get; private set; }

    public ReadOnlySpan<byte> Key => _key;

    /// <summary>TLS 1.3 and 1.2 ChaCha20-Poly1305: the 12-byte IV. TLS 1.2 AES-GCM: the 4-byte salt.</summary>
    public ReadOnlySpan<byte> Iv => _iv.AsSpan(0, _ivLength);

    /// <summary>Where the content starts in a protected record (header, then the explicit nonce if any).</summary>
    public int ContentOffset => TlsRecordHeader.Size + Suite.ExplicitNonceLength;

    /// <summary>Bytes a protected record adds to its content.</summary>
    public int Overhead => IsTls12 ? ContentOffset + TlsRecordLimits.TagSize : TlsRecordLimits.ProtectedOverhead;

    /// <summary>
    /// Protects the content already placed at <c>record[ContentOffset..ContentOffset+contentLength]</c> and writes the
    /// header (and explicit nonce). Returns the record length (contentLength + <see cref="Overhead"/>).
    /// </summary>
    public int SealInPlace(TlsContentType type, Span<byte> record, int contentLength)
    {
        if (IsTls12)
            return Seal12(type, record, contentLength);
        int innerLength = contentLength + 1;
        int bodyLength = innerLength + TlsRecordLimits.TagSize;
        record[TlsRecordHeader.Size + contentLength] = (byte)type;
        // RFC 8446 §5.2: opaque_type is application_data, legacy_record_version 0x0303; the header is the AAD.
        TlsRecordHeader.Write(record, TlsContentType.ApplicationData, TlsVersion.Tls12, bodyLength);
        Span<byte> nonce = stackalloc byte[AeadAlgorithmInfo.NonceSize];
        RecordNonce.Compute(_iv, NextSequence(), nonce);
        Span<byte> body = record.Slice(TlsRecordHeader.Size, bodyLength);
        _aead.Seal(nonce, record[..TlsRecordHeader.Size], body[..innerLength], body);
        return TlsRecordHeader.Size + bodyLength;
    }

    private int Seal12(TlsContentType type, Span<byte> record, int contentLength)
    {
        int explicitLength = Suite.ExplicitNonceLength;
        int bodyLength = explicitLength + contentLength + TlsRecordLimits.TagSize;
        ulong sequence = NextSequence();
        TlsRecordHeader.Write(record, type, TlsVersion.Tls12, bodyLength);
        Span<byte> nonce = stackalloc byte[AeadAlgorithmInfo.NonceSize];
        ComputeNonce12(sequence, record.Slice(TlsRecordHeader.Size, explicitLength), write: true, nonce);
        Span<byte> aad = stackalloc byte[13];
        WriteAdditionalData(aad, sequence, type, TlsVersion.Tls12, contentLength);
        Span<byte> content = record.Slice(ContentOffset, contentLength + TlsRecordLimits.TagSize);
        _aead.Seal(nonce, aad, content[..contentLength], content);
        return TlsRecordHeader.Size + bodyLength;
    }

    /// <summary>
    /// Opens a TLS 1.3 protected record body in place (RFC 8446 §5.2, §5.4). On success the content is
    /// <c>body[..contentLength]</c> and <paramref name="type"/> the inner type, or <see cref="TlsContentType.Invalid"/>
    /// when the plaintext held no non-zero byte. Returns false when authentication fails; the record number
    /// advances only on success.
    /// </summary>
    public bool TryOpen(ReadOnlySpan<byte> header, Span<byte> body, out TlsContentType type, out int contentLength)
    {
        bool ok = TryOpen(header, body, out type, out int offset, out contentLength);
        return ok && offset == 0;
    }

    /// <summary>Opens a record of either version in place; the content is <c>body.Slice(contentOffset, contentLength)</c>.</summary>
    public bool TryOpen(ReadOnlySpan<byte> header, Span<byte> body, out TlsContentType type, out int contentOffset, out int contentLength)
    {
        type = TlsContentType.Invalid;
        contentOffset = 0;
        contentLength = 0;
        if (IsTls12)
            return Open12(header, body, out type, out contentOffset, out contentLength);
        if (body.Length < TlsRecordLimits.TagSize + 1)
            return false;
        Span<byte> nonce = stackalloc byte[AeadAlgorithmInfo.NonceSize];
        RecordNonce.Compute(_iv, Sequence, nonce);
        Span<byte> inner = body[..^TlsRecordLimits.TagSize];
        if (!_aead.Open(nonce, header, body, inner))
            return false;
        NextSequence();
        int last = inner.LastIndexOfAnyExcept((byte)0);
        if (last < 0)
            return true;
        type = (TlsContentType)inner[last];
        contentLength = last;
        return true;
    }

    private bool Open12(ReadOnlySpan<byte> header, Span<byte> body, out TlsContentType type, out int contentOffset, out int contentLength)
    {
        type = TlsContentType.Invalid;
        int explicitLength = Suite.ExplicitNonceLength;
        contentOffset = explicitLength;
        contentLength = body.Length - explicitLength - TlsRecordLimits.TagSize;
        if (contentLength < 0)
        {
            contentLength = 0;
            return false;
        }
        Span<byte> nonce = stackalloc byte[AeadAlgorithmInfo.NonceSize];
        ComputeNonce12(Sequence, body[..explicitLength], write: false, nonce);
        var recordType = (TlsContentType)header[0];
        Span<byte> aad = stackalloc byte[13];
        WriteAdditionalData(aad, Sequence, recordType, BinaryPrimitives.ReadUInt16BigEndian(header[1..]), contentLength);
        Span<byte> sealedBody = body[explicitLength..];
        if (!_aead.Open(nonce, aad, sealedBody, sealedBody[..contentLength]))
            return false;
        NextSequence();
        type = recordType;
        return true;
    }

    /// <summary>RFC 5288 §3 (salt + explicit) or RFC 7905 §2 (IV XOR sequence).</summary>
    private void ComputeNonce12(ulong sequence, Span<byte> explicitNonce, bool write, Span<byte> nonce)
    {
        if (explicitNonce.IsEmpty)
        {
            RecordNonce.Compute(_iv, sequence, nonce);
            return;
        }
        if (write)
            BinaryPrimitives.WriteUInt64BigEndian(explicitNonce, sequence);
        _iv.AsSpan(0, 4).CopyTo(nonce);
        explicitNonce.CopyTo(nonce[4..]);
    }

    /// <summary>RFC 5246 §6.2.3.3: additional_data = seq_num + TLSCompressed.type + TLSCompressed.version + TLSCompressed.length.</summary>
    private static void WriteAdditionalData(Span<byte> aad, ulong sequence, TlsContentType type, ushort version, int length)
    {
        BinaryPrimitives.WriteUInt64BigEndian(aad, sequence);
        aad[8] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(aad[9..], version);
        BinaryPrimitives.WriteUInt16BigEndian(aad[11..], (ushort)length);
    }

    private ulong NextSequence()
    {
        // RFC 8446 §5.3 / RFC 5246 §6.1: the sequence number MUST NOT wrap.
        if (Sequence == ulong.MaxValue)
            throw new InvalidOperationException("record sequence exhausted");
        return Sequence++;
    }

    public void Dispose()
    {
        _aead.Dispose();
        CryptographicOperations.ZeroMemory(_key);
        CryptographicOperations.ZeroMemory(_iv);
    }
}
