namespace Bufferless.Crypto.KeyExchange;

/// <summary>
/// One TLS key-exchange group. Stateless and thread-safe; the server side is one call, the client side
/// (used by tests and tools) holds its private key in a <see cref="ClientKeyShare"/>.
/// Share formats are the TLS key_share wire formats: X25519 32 bytes, NIST curves uncompressed points
/// (0x04 || X || Y), X25519MLKEM768 the hybrid concatenation of the draft.
/// </summary>
public abstract class KeyAgreement
{
    public abstract NamedGroup Group { get; }
    public abstract int ClientShareLength { get; }
    public abstract int ServerShareLength { get; }
    public abstract int SharedSecretLength { get; }

    /// <summary>
    /// Server side: validates the client's share, makes a fresh ephemeral key (or KEM encapsulation), writes the
    /// server's share and the shared secret. Returns false when the peer share is invalid (wrong length,
    /// off-curve point, all-zero X25519 result); the TLS layer answers illegal_parameter.
    /// </summary>
    public abstract bool TryServerRespond(ReadOnlySpan<byte> clientShare, Span<byte> serverShare, Span<byte> sharedSecret);

    /// <summary>
    /// Deterministic server side for known-answer tests (e.g. the RFC 8448 traces): as
    /// <see cref="TryServerRespond(ReadOnlySpan{byte}, Span{byte}, Span{byte})"/> but with the given private key
    /// (X25519: 32 bytes; NIST curves: the big-endian scalar). Groups without a meaningful fixed key
    /// (the ML-KEM hybrid) throw <see cref="NotSupportedException"/>.
    /// </summary>
    public abstract bool TryServerRespond(ReadOnlySpan<byte> clientShare, ReadOnlySpan<byte> serverPrivateKey, Span<byte> serverShare, Span<byte> sharedSecret);

    /// <summary>Client side: a fresh ephemeral key pair.</summary>
    public abstract ClientKeyShare CreateClientShare();

    public static KeyAgreement Get(NamedGroup group) => KeyAgreements.Get(group);
    public static bool IsSupported(NamedGroup group) => KeyAgreements.IsSupported(group);
}

public abstract class ClientKeyShare : IDisposable
{
    public abstract NamedGroup Group { get; }
    public abstract ReadOnlySpan<byte> PublicShare { get; }

    /// <summary>Derives the shared secret from the server's share; false when it is invalid.</summary>
    public abstract bool TryComplete(ReadOnlySpan<byte> serverShare, Span<byte> sharedSecret);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
