using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Bufferless.Packets.Flows;

/// <summary>What one <see cref="RecordAssembler.Feed"/> step found.</summary>
internal enum AssemblerStep : byte
{
    /// <summary>Header bytes were taken; the header is not complete yet (it may be split across segments).</summary>
    HeaderPartial,
    /// <summary>The header completed and checks out; <see cref="RecordAssembler.BodyLength"/> is known.</summary>
    HeaderComplete,
    /// <summary>Body bytes were taken (the last <c>BodyBytes</c> of the consumed input).</summary>
    Body,
    /// <summary>The header is not a TLS 1.3 protected record (RFC 8446 §5.2): the flow must end.</summary>
    Malformed,
}

/// <summary>The 5-byte TLS record header kept while it arrives (it is also the record's AAD).</summary>
[InlineArray(RecordAssembler.HeaderSize)]
internal struct RecordHeaderBytes
{
    private byte _first;
}

/// <summary>
/// Finds TLS 1.3 record boundaries in the client's ciphertext stream, segment by segment, without buffering
/// bodies: a header split across segments is carried (at most 4 bytes), a record may span many segments, and a
/// segment may hold several records. A small struct that lives inside the flow slot.
/// </summary>
internal struct RecordAssembler
{
    public const int HeaderSize = 5;
    public const int TagSize = 16;
    /// <summary>RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256.</summary>
    public const int MaxBody = (1 << 14) + 256;
    /// <summary>A protected record holds at least the inner content type and the tag.</summary>
    public const int MinBody = 1 + TagSize;

    private RecordHeaderBytes _header;
    private int _headerFill;

    /// <summary>Body length from the current header (valid once the header is complete).</summary>
    public int BodyLength { get; private set; }

    /// <summary>Body bytes of the current record taken so far.</summary>
    public int BodyFill { get; private set; }

    public readonly bool InHeader => _headerFill < HeaderSize;

    /// <summary>True at a record boundary (nothing of the next record seen).</summary>
    public readonly bool AtBoundary => _headerFill == 0;

    public readonly bool BodyComplete => _headerFill == HeaderSize && BodyFill == BodyLength;

    /// <summary>Bytes of the current record (header included) taken so far.</summary>
    public readonly int RecordOffset => _headerFill + BodyFill;

    [UnscopedRef]
    public readonly ReadOnlySpan<byte> Header => _header;

    public void Reset()
    {
        _headerFill = 0;
        BodyLength = 0;
        BodyFill = 0;
    }

    /// <summary>
    /// Takes bytes from <paramref name="input"/> up to the end of the header or of the body, whichever comes
    /// first. Returns how many were consumed; <paramref name="bodyBytes"/> of them (the last ones) are body bytes
    /// starting at body offset <paramref name="bodyOffset"/>. Call <see cref="NextRecord"/> once the body is complete.
    /// </summary>
    public AssemblerStep Feed(ReadOnlySpan<byte> input, out int consumed, out int bodyOffset, out int bodyBytes)
    {
        bodyOffset = BodyFill;
        bodyBytes = 0;
        if (_headerFill < HeaderSize)
        {
            int n = Math.Min(HeaderSize - _headerFill, input.Length);
            input[..n].CopyTo(((Span<byte>)_header)[_headerFill..]);
            _headerFill += n;
            consumed = n;
            if (_headerFill < HeaderSize)
                return AssemblerStep.HeaderPartial;
            return CheckHeader();
        }
        int take = Math.Min(BodyLength - BodyFill, input.Length);
        BodyFill += take;
        consumed = take;
        bodyBytes = take;
        return AssemblerStep.Body;
    }

    private AssemblerStep CheckHeader()
    {
        ReadOnlySpan<byte> h = _header;
        // RFC 8446 §5.2: protected records have opaque_type application_data(23) and legacy_record_version 0x0303.
        // (A change_cipher_spec after the handshake is unexpected_message, RFC 8446 §5.)
        if (h[0] != 23 || h[1] != 3 || h[2] != 3)
            return AssemblerStep.Malformed;
        int length = BinaryPrimitives.ReadUInt16BigEndian(h[3..]);
        // RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256 (record_overflow).
        if (length > MaxBody || length < MinBody)
            return AssemblerStep.Malformed;
        BodyLength = length;
        BodyFill = 0;
        return AssemblerStep.HeaderComplete;
    }

    /// <summary>Moves to the next record after the current body completed.</summary>
    public void NextRecord() => Reset();
}
