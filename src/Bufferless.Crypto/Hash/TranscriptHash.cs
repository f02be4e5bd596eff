namespace Bufferless.Crypto.Hash;

/// <summary>
/// A running hash (the TLS handshake transcript, RFC 8446 §4.4.1) that can report its current value and keep going.
/// Replaces IncrementalHash on the handshake path: one <see cref="DigestContext"/> for the whole handshake, and
/// <see cref="GetCurrentHash"/> finishes a copy in the calling thread's scratch context.
/// </summary>
public sealed class TranscriptHash : IDisposable
{
    private readonly DigestContext _ctx = new();

    public TranscriptHash(Sha2Kind kind)
    {
        _ctx.Init(kind);
    }

    public Sha2Kind Kind => _ctx.Kind;

    public int HashSize => Sha2.HashSize(Kind);

    public void AppendData(ReadOnlySpan<byte> data) => _ctx.Update(data);

    /// <summary>The hash of everything appended so far; the transcript goes on.</summary>
    public int GetCurrentHash(Span<byte> destination)
    {
        DigestContext scratch = Sha2.Scratch;
        scratch.CopyFrom(_ctx);
        return scratch.Final(destination);
    }

    /// <summary>The hash of everything appended so far; the transcript starts again empty.</summary>
    public int GetHashAndReset(Span<byte> destination)
    {
        int n = _ctx.Final(destination);
        _ctx.Init(Kind);
        return n;
    }

    public void Dispose() => _ctx.Dispose();
}
