namespace Bufferless.Crypto.Aead;

/// <summary>
/// One AEAD key, set once, used for many records. Thread-compatible (one user at a time), not thread-safe.
/// Every operation accepts in-place use: an output span that starts at the same address as its input.
/// No operation allocates once the key is set. The key schedule is zeroed on <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// A TLS record body is <c>ciphertext || tag</c> (tag is <see cref="AeadAlgorithmInfo.TagSize"/> bytes).
/// The nonce is the 12-byte per-record nonce (for TLS 1.3: IV xor record number, see <see cref="RecordNonce"/>).
/// </remarks>
public abstract class RecordAead : IDisposable
{
    public abstract AeadAlgorithm Algorithm { get; }

    /// <summary>Encrypts a whole record in one call: writes <c>plaintext.Length + 16</c> bytes (ciphertext then tag) into <paramref name="body"/>.</summary>
    public abstract void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> body);

    /// <summary>
    /// Encrypts a whole record whose plaintext is <paramref name="plaintext"/> followed by <paramref name="trailer"/>
    /// (TLS 1.3's inner content type, RFC 8446 §5.2), writing <c>plaintext.Length + trailer.Length + 16</c> bytes into
    /// <paramref name="body"/>: the same bytes as <see cref="Seal(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/>
    /// of the concatenation. Lets a caller seal from where the plaintext lies (a received packet) straight into the
    /// outgoing one. <paramref name="body"/> may start at <paramref name="plaintext"/> (in place) or not overlap it.
    /// This implementation gathers the two into <paramref name="body"/> and seals in place; an implementation may
    /// override it to skip that copy.
    /// </summary>
    public virtual void SealGather(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext,
        ReadOnlySpan<byte> trailer, Span<byte> body)
    {
        int length = plaintext.Length + trailer.Length;
        if (body.Length < length)
            throw new ArgumentException("body must hold the ciphertext and the tag", nameof(body));
        plaintext.CopyTo(body);
        trailer.CopyTo(body[plaintext.Length..]);
        Seal(nonce, aad, body[..length], body);
    }

    /// <summary>Decrypts and authenticates a whole record body (ciphertext then tag). On failure the plaintext span is cleared and false returned.</summary>
    public abstract bool Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> body, Span<byte> plaintext);

    /// <summary>
    /// Keystream only (no authentication): XORs the keystream for bytes <c>[offset, offset + input.Length)</c>
    /// of the record's ciphertext into <paramref name="output"/>. Used to place an out-of-order segment.
    /// </summary>
    public abstract void ApplyKeystream(ReadOnlySpan<byte> nonce, long offset, ReadOnlySpan<byte> input, Span<byte> output);

    /// <summary>A reusable streaming opener bound to this key. Allocate once, <see cref="RecordOpener.Begin"/> per record.</summary>
    public abstract RecordOpener CreateOpener();

    /// <summary>Creates the fastest implementation this machine supports (chosen once per process).</summary>
    public static RecordAead Create(AeadAlgorithm algorithm, ReadOnlySpan<byte> key) => AeadFactory.Create(algorithm, key);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}

/// <summary>
/// Decrypts one record piece by piece as TCP segments bring it: bytes of the record body (ciphertext, then the
/// 16-byte tag) in order, in pieces of any size, including one byte. Plaintext is written as ciphertext arrives;
/// the tag is checked in constant time by <see cref="Finish"/>. Plaintext written before <see cref="Finish"/>
/// returns true is unauthenticated.
/// </summary>
public abstract class RecordOpener : IDisposable
{
    /// <summary>Starts a record whose ciphertext (without the tag) is <paramref name="ciphertextLength"/> bytes.</summary>
    public abstract void Begin(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, int ciphertextLength);

    /// <summary>
    /// Feeds the next body bytes. Returns the number of plaintext bytes written to <paramref name="plaintext"/>
    /// (the ciphertext bytes among <paramref name="body"/>; tag bytes are kept inside). Throws
    /// <see cref="InvalidOperationException"/> when fed more than the body length.
    /// </summary>
    public abstract int Update(ReadOnlySpan<byte> body, Span<byte> plaintext);

    /// <summary>Body bytes still expected (ciphertext and tag).</summary>
    public abstract int Remaining { get; }

    /// <summary>Checks the tag once every body byte arrived; false on mismatch or if bytes are missing.</summary>
    public abstract bool Finish();

    /// <summary>
    /// The argument checks every <see cref="Update"/> makes: a record begun, no more than <see cref="Remaining"/>
    /// body bytes, room for the piece's plaintext. Returns how many of <paramref name="body"/>'s bytes are
    /// ciphertext (the rest is tag).
    /// </summary>
    protected int CiphertextInPiece(bool active, ReadOnlySpan<byte> body, Span<byte> plaintext, int ciphertextRemaining)
    {
        if (!active)
            throw new InvalidOperationException("Begin a record before feeding it");
        if (body.Length > Remaining)
            throw new InvalidOperationException("more bytes than the record body holds");
        int ciphertext = Math.Min(body.Length, ciphertextRemaining);
        if (plaintext.Length < ciphertext)
            throw new ArgumentException("plaintext is shorter than the ciphertext in this piece", nameof(plaintext));
        return ciphertext;
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
