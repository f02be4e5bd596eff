using System.Security.Cryptography;
using Bufferless.Crypto.Interop;

namespace Bufferless.Crypto.KeyExchange;

/// <summary>
/// X25519 (RFC 7748) through libcrypto. Shares and secret are 32 raw bytes.
/// </summary>
/// <remarks>
/// Cost model (OpenSSL 3.0, measured): the Montgomery ladder (EVP_PKEY_derive) costs ~32 µs, while every way
/// libcrypto 3.0 offers to make an X25519 key with its public half (EVP_PKEY_keygen, raw or fromdata import
/// of a private key alone) computes that public half with the generic ref10 fixed-base code, ~38 µs. So a key
/// is imported here as a key pair whose public half is a placeholder (import does not check the pair), and
/// the real public key is computed with the faster ladder as X25519(k, 9) (RFC 7748 §6.1) on the same derive
/// context that then computes the shared secret. The placeholder never leaves this class: the public key is
/// always taken from the ladder, never read back from the EVP_PKEY (see <see cref="NewKey"/>).
/// Per thread, one fromdata context and the base-point key are kept, so no provider fetch happens per call.
/// </remarks>
internal sealed unsafe class X25519KeyAgreement : KeyAgreement
{
    public const int KeySize = 32;

    public static readonly X25519KeyAgreement Instance = new();

    // EVP_PKEY_CTX is not thread-safe: one per thread. The SafeHandle finalizers free both when the thread dies.
    [ThreadStatic] private static ThreadState? t_state;

    private X25519KeyAgreement() { }

    public override NamedGroup Group => NamedGroup.X25519;
    public override int ClientShareLength => KeySize;
    public override int ServerShareLength => KeySize;
    public override int SharedSecretLength => KeySize;

    public override bool TryServerRespond(ReadOnlySpan<byte> clientShare, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        EvpKeys.RequireLength(serverShare, KeySize, nameof(serverShare));
        EvpKeys.RequireLength(sharedSecret, KeySize, nameof(sharedSecret));
        Span<byte> privateKey = stackalloc byte[KeySize];
        try
        {
            RandomBytes.Fill(privateKey);
            return TryRespond(clientShare, privateKey, serverShare[..KeySize], sharedSecret[..KeySize]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    public override bool TryServerRespond(ReadOnlySpan<byte> clientShare, ReadOnlySpan<byte> serverPrivateKey, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        EvpKeys.RequireLength(serverShare, KeySize, nameof(serverShare));
        EvpKeys.RequireLength(sharedSecret, KeySize, nameof(sharedSecret));
        if (serverPrivateKey.Length != KeySize)
            throw new ArgumentException("an X25519 private key is 32 bytes", nameof(serverPrivateKey));
        return TryRespond(clientShare, serverPrivateKey, serverShare[..KeySize], sharedSecret[..KeySize]);
    }

    public override ClientKeyShare CreateClientShare()
    {
        var share = new byte[KeySize];
        EvpPKeyHandle key = GenerateKey(share);
        return new X25519ClientShare(key, share);
    }

    /// <summary>The server side in one derive context: ladder on the base point for our share, then on the peer's.</summary>
    internal static bool TryRespond(ReadOnlySpan<byte> clientShare, ReadOnlySpan<byte> privateKey, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        if (X25519Provider.IsAvailable)
            return X25519Provider.TryRespond(clientShare, privateKey, serverShare, sharedSecret);
        return TryRespondEvp(clientShare, privateKey, serverShare, sharedSecret);
    }

    /// <summary>The same through the EVP API (used when the provider functions cannot be found; tests run both).</summary>
    internal static bool TryRespondEvp(ReadOnlySpan<byte> clientShare, ReadOnlySpan<byte> privateKey, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        using EvpPKeyHandle? peer = TryImportPublic(clientShare);
        if (peer is null)
            return false;
        ThreadState state = State;
        using EvpPKeyHandle key = ImportKeyPair(state, privateKey);
        using EvpPKeyCtxHandle ctx = EvpKeys.NewDeriveContext(key);
        if (!EvpKeys.TryDerive(ctx, state.BasePoint, serverShare))
            throw new CryptographicException("X25519 public key computation failed");
        return TryDeriveNonZero(ctx, peer, sharedSecret);
    }

    /// <summary>A fresh key from the platform RNG; its public key (the share) is written to <paramref name="publicKey"/>.</summary>
    internal static EvpPKeyHandle GenerateKey(Span<byte> publicKey)
    {
        Span<byte> privateKey = stackalloc byte[KeySize];
        try
        {
            // RFC 7748 §5: any 32 bytes are a scalar; the ladder clamps.
            RandomBytes.Fill(privateKey);
            return NewKey(privateKey, publicKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    /// <summary>
    /// Imports <paramref name="privateKey"/> and writes its public key X25519(k, 9) to <paramref name="publicKey"/>.
    /// The returned key's own public half is a placeholder: use it only to derive, never export its public key.
    /// </summary>
    internal static EvpPKeyHandle NewKey(ReadOnlySpan<byte> privateKey, Span<byte> publicKey)
    {
        if (privateKey.Length != KeySize)
            throw new ArgumentException("an X25519 private key is 32 bytes", nameof(privateKey));
        EvpKeys.RequireLength(publicKey, KeySize, nameof(publicKey));
        ThreadState state = State;
        EvpPKeyHandle key = ImportKeyPair(state, privateKey);
        using EvpPKeyCtxHandle ctx = EvpKeys.NewDeriveContext(key);
        if (EvpKeys.TryDerive(ctx, state.BasePoint, publicKey[..KeySize]))
            return key;
        key.Dispose();
        throw new CryptographicException("X25519 public key computation failed");
    }

    /// <summary>RFC 8446 §4.2.8.2: an X25519 share is exactly 32 bytes; any 32 bytes are a u-coordinate (RFC 7748 §5).</summary>
    internal static EvpPKeyHandle? TryImportPublic(ReadOnlySpan<byte> share)
    {
        if (share.Length != KeySize)
            return null;
        return ImportPublic(State, share);
    }

    /// <summary>Derives the shared secret with a key from <see cref="NewKey"/> or <see cref="GenerateKey"/>.</summary>
    internal static bool TryDerive(EvpPKeyHandle key, EvpPKeyHandle peer, Span<byte> sharedSecret)
    {
        using EvpPKeyCtxHandle ctx = EvpKeys.NewDeriveContext(key);
        return TryDeriveNonZero(ctx, peer, sharedSecret);
    }

    private static bool TryDeriveNonZero(EvpPKeyCtxHandle ctx, EvpPKeyHandle peer, Span<byte> sharedSecret)
    {
        if (!EvpKeys.TryDerive(ctx, peer, sharedSecret))
            return false;
        // RFC 8446 §7.4.2: an all-zero X25519 result MUST be rejected. libcrypto already fails the derivation;
        // this check keeps the rule here independent of the library version.
        if (!EvpKeys.IsAllZero(sharedSecret))
            return true;
        return false;
    }

    private static ThreadState State => t_state ??= new ThreadState();

    private static EvpPKeyHandle ImportKeyPair(ThreadState state, ReadOnlySpan<byte> privateKey)
    {
        fixed (byte* privKeyZ = "priv\0"u8)
        fixed (byte* pubKeyZ = "pub\0"u8)
        fixed (byte* priv = privateKey)
        fixed (byte* placeholder = BasePointU)
        {
            OsslParam* parameters = stackalloc OsslParam[3];
            parameters[0] = OsslParam.Create(privKeyZ, OsslParam.OctetString, priv, KeySize);
            // Given a public half, the import skips the slow fixed-base computation (see the remarks above).
            parameters[1] = OsslParam.Create(pubKeyZ, OsslParam.OctetString, placeholder, KeySize);
            parameters[2] = OsslParam.End;
            return EvpKeys.FromData(state.Import, LibCrypto.EVP_PKEY_KEYPAIR, parameters)
                ?? throw new CryptographicException("libcrypto refused the X25519 private key");
        }
    }

    private static EvpPKeyHandle? ImportPublic(ThreadState state, ReadOnlySpan<byte> share)
    {
        fixed (byte* pubKeyZ = "pub\0"u8)
        fixed (byte* pub = share)
        {
            OsslParam* parameters = stackalloc OsslParam[2];
            parameters[0] = OsslParam.Create(pubKeyZ, OsslParam.OctetString, pub, KeySize);
            parameters[1] = OsslParam.End;
            return EvpKeys.FromData(state.Import, LibCrypto.EVP_PKEY_PUBLIC_KEY, parameters);
        }
    }

    /// <summary>The X25519 base point u = 9 (RFC 7748 §4.1), little-endian.</summary>
    internal static ReadOnlySpan<byte> BasePointU => [9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private sealed class ThreadState
    {
        public readonly EvpPKeyCtxHandle Import = EvpKeys.NewFromDataContext("X25519");
        public readonly EvpPKeyHandle BasePoint;

        public ThreadState() =>
            BasePoint = ImportPublic(this, BasePointU) ?? throw new CryptographicException("cannot import the X25519 base point");
    }

    private sealed class X25519ClientShare(EvpPKeyHandle key, byte[] share) : ClientKeyShare
    {
        public override NamedGroup Group => NamedGroup.X25519;
        public override ReadOnlySpan<byte> PublicShare => share;

        public override bool TryComplete(ReadOnlySpan<byte> serverShare, Span<byte> sharedSecret)
        {
            EvpKeys.RequireLength(sharedSecret, KeySize, nameof(sharedSecret));
            ObjectDisposedException.ThrowIf(key.IsClosed, this);
            using EvpPKeyHandle? peer = TryImportPublic(serverShare);
            return peer is not null && TryDerive(key, peer, sharedSecret[..KeySize]);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                key.Dispose();
        }
    }
}
