using System.Security.Cryptography;
using Bufferless.Crypto.Aead;
using Bufferless.Tls.KeySchedule;

namespace Bufferless.Tls.Records;

/// <summary>
/// One direction's TLS 1.3 record protection (RFC 8446 §5.2-5.3): AEAD key, IV and the next record number.
/// Seals and opens whole records in place; allocation happens only when the key is set.
/// </summary>
internal sealed class RecordProtection : IDisposable
{
    private readonly RecordAead _aead;
    private readonly byte[] _key;
    private readonly byte[] _iv = new byte[AeadAlgorithmInfo.NonceSize];

    private RecordProtection(CipherSuiteInfo suite, TrafficSecret secret)
    {
        Suite = suite;
        _key = new byte[suite.KeyLength];
        secret.DeriveKeyAndIv(_key, _iv);
        _aead = RecordAead.Create(suite.Aead, _key);
    }

    public static RecordProtection Create(TrafficSecret secret) => new(secret.Suite, secret);

    public CipherSuiteInfo Suite { get; }

    /// <summary>The record number the next Seal or Open uses (RFC 8446 §5.3).</summary>
    public ulong Sequence { get; private set; }

    public ReadOnlySpan<byte> Key => _key;
    public ReadOnlySpan<byte> Iv => _iv;

    /// <summary>
    /// Protects the content already placed at <c>record[5..5+contentLength]</c>: appends the inner content type,
    /// seals in place and writes the outer header. Returns the record length (contentLength + 22).
    /// </summary>
    public int SealInPlace(TlsContentType type, Span<byte> record, int contentLength)
    {
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

    /// <summary>
    /// Opens a protected record body in place (RFC 8446 §5.2, §5.4). On success the content is
    /// <c>body[..contentLength]</c> and <paramref name="type"/> the inner type, or <see cref="TlsContentType.Invalid"/>
    /// when the plaintext held no non-zero byte. Returns false when authentication fails; the record number
    /// advances only on success.
    /// </summary>
    public bool TryOpen(ReadOnlySpan<byte> header, Span<byte> body, out TlsContentType type, out int contentLength)
    {
        type = TlsContentType.Invalid;
        contentLength = 0;
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

    private ulong NextSequence()
    {
        // RFC 8446 §5.3: the sequence number MUST NOT wrap; the key is updated long before.
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
