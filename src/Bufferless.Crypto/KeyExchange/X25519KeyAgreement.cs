using System.Security.Cryptography;
using Bufferless.Crypto.Interop;

namespace Bufferless.Crypto.KeyExchange;

/// <summary>X25519 (RFC 7748) through libcrypto. Shares and secret are 32 raw bytes.</summary>
internal sealed unsafe class X25519KeyAgreement : KeyAgreement
{
    public const int KeySize = 32;

    public static readonly X25519KeyAgreement Instance = new();

    // EVP_PKEY_CTX is not thread-safe; one initialised keygen context per thread saves the provider fetch and
    // the context set-up on every handshake. The finalizer of the SafeHandle frees it when the thread dies.
    [ThreadStatic] private static EvpPKeyCtxHandle? t_keygen;

    private X25519KeyAgreement() { }

    public override NamedGroup Group => NamedGroup.X25519;
    public override int ClientShareLength => KeySize;
    public override int ServerShareLength => KeySize;
    public override int SharedSecretLength => KeySize;

    public override bool TryServerRespond(ReadOnlySpan<byte> clientShare, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        EvpKeys.RequireLength(serverShare, KeySize, nameof(serverShare));
        EvpKeys.RequireLength(sharedSecret, KeySize, nameof(sharedSecret));
        using EvpPKeyHandle? peer = TryImportPublic(clientShare);
        if (peer is null)
            return false;
        using EvpPKeyHandle key = GenerateKey();
        return TryFinish(key, peer, serverShare[..KeySize], sharedSecret[..KeySize]);
    }

    public override bool TryServerRespond(ReadOnlySpan<byte> clientShare, ReadOnlySpan<byte> serverPrivateKey, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        EvpKeys.RequireLength(serverShare, KeySize, nameof(serverShare));
        EvpKeys.RequireLength(sharedSecret, KeySize, nameof(sharedSecret));
        using EvpPKeyHandle key = ImportPrivate(serverPrivateKey);
        using EvpPKeyHandle? peer = TryImportPublic(clientShare);
        if (peer is null)
            return false;
        return TryFinish(key, peer, serverShare[..KeySize], sharedSecret[..KeySize]);
    }

    public override ClientKeyShare CreateClientShare()
    {
        EvpPKeyHandle key = GenerateKey();
        var share = new byte[KeySize];
        WritePublic(key, share);
        return new X25519ClientShare(key, share);
    }

    internal EvpPKeyHandle GenerateKey() => EvpKeys.Generate(t_keygen ??= EvpKeys.NewKeygenContext("X25519", null));

    /// <summary>RFC 8446 §4.2.8.2: an X25519 share is exactly 32 bytes; any 32 bytes are a u-coordinate (RFC 7748 §5).</summary>
    internal static EvpPKeyHandle? TryImportPublic(ReadOnlySpan<byte> share)
    {
        if (share.Length != KeySize)
            return null;
        fixed (byte* p = share)
        {
            EvpPKeyHandle peer = LibCrypto.EVP_PKEY_new_raw_public_key(LibCrypto.NID_X25519, IntPtr.Zero, p, KeySize);
            if (!peer.IsInvalid)
                return peer;
            peer.Dispose();
        }
        LibCrypto.ClearErrors();
        return null;
    }

    internal static EvpPKeyHandle ImportPrivate(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != KeySize)
            throw new ArgumentException("an X25519 private key is 32 bytes", nameof(privateKey));
        fixed (byte* p = privateKey)
        {
            EvpPKeyHandle key = LibCrypto.EVP_PKEY_new_raw_private_key(LibCrypto.NID_X25519, IntPtr.Zero, p, KeySize);
            if (!key.IsInvalid)
                return key;
            key.Dispose();
        }
        LibCrypto.ClearErrors();
        throw new CryptographicException("EVP_PKEY_new_raw_private_key failed");
    }

    internal static void WritePublic(EvpPKeyHandle key, Span<byte> share)
    {
        nuint len = KeySize;
        fixed (byte* p = share)
        {
            if (LibCrypto.EVP_PKEY_get_raw_public_key(key, p, &len) != 1 || len != KeySize)
            {
                LibCrypto.ClearErrors();
                throw new CryptographicException("EVP_PKEY_get_raw_public_key failed");
            }
        }
    }

    internal static bool TryDerive(EvpPKeyHandle key, EvpPKeyHandle peer, Span<byte> sharedSecret)
    {
        if (!EvpKeys.TryDerive(key, peer, sharedSecret))
            return false;
        // RFC 8446 §7.4.2: an all-zero X25519 result MUST be rejected. libcrypto already fails the derivation;
        // this check keeps the rule here independent of the library version.
        if (!EvpKeys.IsAllZero(sharedSecret))
            return true;
        return false;
    }

    private static bool TryFinish(EvpPKeyHandle key, EvpPKeyHandle peer, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        if (!TryDerive(key, peer, sharedSecret))
            return false;
        WritePublic(key, serverShare);
        return true;
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
