using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Bufferless.Packets.Flows;

/// <summary>What one <see cref="RecordAssembler.Feed"/> step found.</summary>
internal enum AssemblerStep : byte
{
    /// <summary>Prefix bytes were taken; the header (and TLS 1.2 explicit nonce) is not complete yet.</summary>
    HeaderPartial,
    /// <summary>The prefix completed and checks out; <see cref="RecordAssembler.BodyLength"/> is known.</summary>
    HeaderComplete,
    /// <summary>Body bytes were taken (the last <c>BodyBytes</c> of the consumed input).</summary>
    Body,
    /// <summary>The header is not a protected record this flow accepts: the flow must end.</summary>
    Malformed,
}

/// <summary>The record prefix kept while it arrives: the 5-byte header and, for TLS 1.2 AES-GCM, the 8-byte explicit nonce.</summary>
[InlineArray(RecordAssembler.MaxPrefix)]
internal struct RecordPrefixBytes
{
    private byte _first;
}

/// <summary>
/// Finds record boundaries in the client's ciphertext stream, segment by segment, without buffering bodies: a
/// prefix split across segments is carried (at most 12 bytes: a header less one byte plus an explicit nonce), a
/// record may span many segments, and a segment may hold several records. A small struct inside the flow slot.
/// The body is what the AEAD opens: ciphertext then the 16-byte tag (TLS 1.2's explicit nonce is prefix).
/// </summary>
internal struct RecordAssembler
{
    public const int HeaderSize = 5;
    public const int TagSize = 16;
    public const int MaxPrefix = HeaderSize + 8;
    /// <summary>RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256.</summary>
    public const int MaxBody = (1 << 14) + 256;
    /// <summary>A TLS 1.3 protected record holds at least the inner content type and the tag.</summary>
    public const int MinBody = 1 + TagSize;
    /// <summary>RFC 5246 §6.2.3: a TLS 1.2 GenericAEADCipher fragment holds at most 2^14 bytes of plaintext.</summary>
    private const int MaxPlaintext12 = 1 << 14;

    private RecordPrefixBytes _prefix;
    private byte _fill;
    private byte _explicitNonce;
    private bool _tls12;

    /// <summary>Body length (ciphertext and tag) from the current header (valid once the prefix is complete).</summary>
    public int BodyLength { get; private set; }

    /// <summary>Body bytes of the current record taken so far.</summary>
    public int BodyFill { get; private set; }

    private readonly int PrefixSize => HeaderSize + _explicitNonce;

    public readonly bool InHeader => _fill < PrefixSize;

    /// <summary>True at a record boundary (nothing of the next record seen).</summary>
    public readonly bool AtBoundary => _fill == 0;

    public readonly bool BodyComplete => _fill == PrefixSize && BodyFill == BodyLength;

    /// <summary>Bytes of the current record (prefix included) taken so far.</summary>
    public readonly int RecordOffset => _fill + BodyFill;

    /// <summary>Record bytes before the body: 5, or 13 for TLS 1.2 AES-GCM.</summary>
    public readonly int Prefix => PrefixSize;

    /// <summary>The 5-byte record header (TLS 1.3's AAD).</summary>
    [UnscopedRef]
    public readonly ReadOnlySpan<byte> Header => ((ReadOnlySpan<byte>)_prefix)[..HeaderSize];

    /// <summary>The record's content type from its header (TLS 1.2: the real type; TLS 1.3: always 23).</summary>
    public readonly byte OuterType => _prefix[0];

    /// <summary>TLS 1.2 AES-GCM: the explicit nonce after the header (RFC 5288 §3).</summary>
    public readonly ulong ExplicitNonce => BinaryPrimitives.ReadUInt64BigEndian(((ReadOnlySpan<byte>)_prefix)[HeaderSize..]);

    /// <summary>Selects the record format once the handshake chose a version (call at a record boundary).</summary>
    public void Configure(bool tls12, int explicitNonceLength)
    {
        _tls12 = tls12;
        _explicitNonce = (byte)explicitNonceLength;
        Reset();
    }

    public void Reset()
    {
        _fill = 0;
        BodyLength = 0;
        BodyFill = 0;
    }

    /// <summary>
    /// Takes bytes from <paramref name="input"/> up to the end of the prefix or of the body, whichever comes
    /// first. Returns how many were consumed; <paramref name="bodyBytes"/> of them (the last ones) are body bytes
    /// starting at body offset <paramref name="bodyOffset"/>. Call <see cref="NextRecord"/> once the body is complete.
    /// </summary>
    public AssemblerStep Feed(ReadOnlySpan<byte> input, out int consumed, out int bodyOffset, out int bodyBytes)
    {
        bodyOffset = BodyFill;
        bodyBytes = 0;
        int prefix = PrefixSize;
        if (_fill < prefix)
        {
            int n = Math.Min(prefix - _fill, input.Length);
            input[..n].CopyTo(((Span<byte>)_prefix)[_fill..]);
            bool headerWasPartial = _fill < HeaderSize;
            _fill += (byte)n;
            consumed = n;
            // The header is checked as soon as it is whole, before any explicit nonce arrives.
            if (headerWasPartial && _fill >= HeaderSize && !CheckHeader())
                return AssemblerStep.Malformed;
            return _fill < prefix ? AssemblerStep.HeaderPartial : AssemblerStep.HeaderComplete;
        }
        int take = Math.Min(BodyLength - BodyFill, input.Length);
        BodyFill += take;
        consumed = take;
        bodyBytes = take;
        return AssemblerStep.Body;
    }

    private bool CheckHeader()
    {
        ReadOnlySpan<byte> h = _prefix;
        int length = BinaryPrimitives.ReadUInt16BigEndian(h[3..]);
        if (h[1] != 3 || h[2] != 3)
            return false;
        if (_tls12)
        {
            // RFC 5246 §6.2.1/§6.2.3: after the handshake only application_data and alert records; a handshake
            // record would be renegotiation, which this engine refuses (RFC 5746 not offered). The fragment holds
            // the explicit nonce, at most 2^14 bytes of plaintext and the tag.
            if (h[0] is not (23 or 21))
                return false;
            int plain = length - _explicitNonce - TagSize;
            if (plain < 0 || plain > MaxPlaintext12)
                return false;
            BodyLength = length - _explicitNonce;
            BodyFill = 0;
            return true;
        }
        // RFC 8446 §5.2: protected records have opaque_type application_data(23) and legacy_record_version 0x0303.
        // (A change_cipher_spec after the handshake is unexpected_message, RFC 8446 §5.)
        if (h[0] != 23)
            return false;
        // RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256 (record_overflow).
        if (length > MaxBody || length < MinBody)
            return false;
        BodyLength = length;
        BodyFill = 0;
        return true;
    }

    /// <summary>Moves to the next record after the current body completed.</summary>
    public void NextRecord() => Reset();
}
