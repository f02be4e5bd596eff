using System.Security.Cryptography;
using Bufferless.Crypto.Interop;

namespace Bufferless.Crypto.KeyExchange;

/// <summary>Shared EVP_PKEY plumbing for the libcrypto-backed groups.</summary>
internal static unsafe class EvpKeys
{
    /// <summary>A fresh key from a keygen context that was initialised once (per thread) for its group.</summary>
    public static EvpPKeyHandle Generate(EvpPKeyCtxHandle keygenCtx)
    {
        IntPtr pkey = IntPtr.Zero;
        if (LibCrypto.EVP_PKEY_keygen(keygenCtx, &pkey) != 1 || pkey == IntPtr.Zero)
        {
            LibCrypto.ClearErrors();
            throw new CryptographicException("EVP_PKEY_keygen failed");
        }
        return new EvpPKeyHandle(pkey);
    }

    /// <summary>
    /// ECDH / X25519 derivation of exactly <paramref name="secret"/>.Length bytes. False (errors cleared) when
    /// libcrypto refuses, e.g. the all-zero X25519 result, which OpenSSL 3 reports as a derivation failure.
    /// </summary>
    public static bool TryDerive(EvpPKeyHandle privateKey, EvpPKeyHandle peer, Span<byte> secret)
    {
        using EvpPKeyCtxHandle ctx = NewDeriveContext(privateKey);
        return TryDerive(ctx, peer, secret);
    }

    /// <summary>A derive context for <paramref name="privateKey"/>, initialised (one provider fetch of the exchange).</summary>
    public static EvpPKeyCtxHandle NewDeriveContext(EvpPKeyHandle privateKey)
    {
        EvpPKeyCtxHandle ctx = LibCrypto.EVP_PKEY_CTX_new_from_pkey(IntPtr.Zero, privateKey, IntPtr.Zero);
        if (!ctx.IsInvalid && LibCrypto.EVP_PKEY_derive_init(ctx) == 1)
            return ctx;
        ctx.Dispose();
        LibCrypto.ClearErrors();
        throw new CryptographicException("cannot set up a libcrypto key derivation");
    }

    /// <summary>
    /// One derivation on an initialised derive context; the context can derive again with another peer.
    /// The peer was validated when it was imported, so libcrypto's own (full, costly) re-check is skipped.
    /// </summary>
    public static bool TryDerive(EvpPKeyCtxHandle deriveCtx, EvpPKeyHandle peer, Span<byte> secret)
    {
        nuint len = (nuint)secret.Length;
        fixed (byte* p = secret)
        {
            if (LibCrypto.EVP_PKEY_derive_set_peer_ex(deriveCtx, peer, validatePeer: 0) == 1
                && LibCrypto.EVP_PKEY_derive(deriveCtx, p, &len) == 1
                && len == (nuint)secret.Length)
            {
                return true;
            }
        }
        LibCrypto.ClearErrors();
        CryptographicOperations.ZeroMemory(secret);
        return false;
    }

    /// <summary>EVP_PKEY_fromdata on a per-thread import context; null (errors cleared) when libcrypto refuses.</summary>
    public static EvpPKeyHandle? FromData(EvpPKeyCtxHandle fromDataCtx, int selection, OsslParam* parameters)
    {
        IntPtr pkey = IntPtr.Zero;
        if (LibCrypto.EVP_PKEY_fromdata(fromDataCtx, &pkey, selection, parameters) == 1 && pkey != IntPtr.Zero)
            return new EvpPKeyHandle(pkey);
        if (pkey != IntPtr.Zero)
            LibCrypto.EVP_PKEY_free(pkey);
        LibCrypto.ClearErrors();
        return null;
    }

    public static EvpPKeyCtxHandle NewKeygenContext(string algorithm, string? groupName)
    {
        EvpPKeyCtxHandle ctx = LibCrypto.EVP_PKEY_CTX_new_from_name(IntPtr.Zero, algorithm, null);
        if (ctx.IsInvalid
            || LibCrypto.EVP_PKEY_keygen_init(ctx) != 1
            || (groupName is not null && LibCrypto.EVP_PKEY_CTX_set_group_name(ctx, groupName) != 1))
        {
            ctx.Dispose();
            LibCrypto.ClearErrors();
            throw new CryptographicException($"cannot set up {algorithm} {groupName} key generation in libcrypto");
        }
        return ctx;
    }

    public static EvpPKeyCtxHandle NewFromDataContext(string algorithm)
    {
        EvpPKeyCtxHandle ctx = LibCrypto.EVP_PKEY_CTX_new_from_name(IntPtr.Zero, algorithm, null);
        if (ctx.IsInvalid || LibCrypto.EVP_PKEY_fromdata_init(ctx) != 1)
        {
            ctx.Dispose();
            LibCrypto.ClearErrors();
            throw new CryptographicException($"cannot set up {algorithm} key import in libcrypto");
        }
        return ctx;
    }

    /// <summary>Constant-time test for an all-zero buffer.</summary>
    public static bool IsAllZero(ReadOnlySpan<byte> value)
    {
        int acc = 0;
        foreach (byte b in value)
            acc |= b;
        return acc == 0;
    }

    public static void RequireLength(Span<byte> destination, int length, string name)
    {
        if (destination.Length < length)
            throw new ArgumentException($"{name} needs {length} bytes", name);
    }
}
