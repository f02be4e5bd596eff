using System.Security.Cryptography;
using Bufferless.Crypto.Interop;

namespace Bufferless.Crypto.Signing;

/// <summary>
/// A certificate private key held in libcrypto, for handshake signatures: ECDSA (DER ECDSA-Sig-Value, as
/// RFC 8446 §4.2.3 and RFC 5246 §7.4.1.4.1 want) and RSASSA-PSS with MGF1 over the same hash and a salt as long
/// as the hash (RFC 8446 §4.2.3). Thread-safe: one initialised sign context per hash is kept as a template and
/// duplicated per signature, so a signature costs the hash, one context copy and the private-key operation,
/// without the per-call provider fetches and key checks of <see cref="ECDsa.SignData(byte[], HashAlgorithmName)"/>.
/// </summary>
public sealed unsafe class EvpSigner : IDisposable
{
    private static readonly HashAlgorithmName[] Hashes = [HashAlgorithmName.SHA256, HashAlgorithmName.SHA384, HashAlgorithmName.SHA512];

    private readonly EvpPKeyHandle _key;
    private readonly EvpPKeyCtxHandle[] _templates; // one per entry of Hashes

    private EvpSigner(EvpPKeyHandle key, EvpPKeyCtxHandle[] templates, bool isRsa, int maxSignatureSize)
    {
        _key = key;
        _templates = templates;
        IsRsa = isRsa;
        MaxSignatureSize = maxSignatureSize;
    }

    /// <summary>True for an RSA key (signs RSASSA-PSS), false for an EC key (signs ECDSA).</summary>
    public bool IsRsa { get; }

    /// <summary>The largest signature this key makes (RSA: the modulus size; ECDSA: the DER maximum).</summary>
    public int MaxSignatureSize { get; }

    /// <summary>
    /// Moves a copy of <paramref name="key"/> (an <see cref="ECDsa"/> or <see cref="RSA"/> private key) into libcrypto.
    /// Null when the key is of another type or cannot be exported (e.g. a hardware key): the caller keeps signing
    /// with .NET then.
    /// </summary>
    public static EvpSigner? TryCreate(AsymmetricAlgorithm key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key is not (ECDsa or RSA))
            return null;
        byte[] pkcs8;
        try
        {
            pkcs8 = key.ExportPkcs8PrivateKey();
        }
        catch (CryptographicException)
        {
            return null;
        }
        catch (NotSupportedException)
        {
            return null;
        }
        EvpPKeyHandle? pkey = null;
        try
        {
            pkey = Import(pkcs8);
            if (pkey is null)
                return null;
            bool isRsa = key is RSA;
            var templates = new EvpPKeyCtxHandle[Hashes.Length];
            for (int i = 0; i < Hashes.Length; i++)
            {
                EvpPKeyCtxHandle? template = NewTemplate(pkey, isRsa, Hashes[i].Name!);
                if (template is null)
                {
                    for (int j = 0; j < i; j++)
                        templates[j].Dispose();
                    return null;
                }
                templates[i] = template;
            }
            int size = LibCrypto.EVP_PKEY_get_size(pkey);
            if (size <= 0)
            {
                foreach (EvpPKeyCtxHandle t in templates)
                    t.Dispose();
                return null;
            }
            var signer = new EvpSigner(pkey, templates, isRsa, size);
            pkey = null;
            return signer;
        }
        finally
        {
            pkey?.Dispose();
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>
    /// Signs <paramref name="data"/> (hashed here with <paramref name="hash"/>: SHA-256, SHA-384 or SHA-512).
    /// ECDSA returns the DER ECDSA-Sig-Value, RSA the PSS signature.
    /// </summary>
    public byte[] Sign(HashAlgorithmName hash, ReadOnlySpan<byte> data)
    {
        int slot = Array.IndexOf(Hashes, hash);
        if (slot < 0)
            throw new ArgumentException($"hash {hash.Name} is not supported", nameof(hash));
        Span<byte> digest = stackalloc byte[64];
        int digestLength = slot switch
        {
            0 => SHA256.HashData(data, digest),
            1 => SHA384.HashData(data, digest),
            _ => SHA512.HashData(data, digest),
        };
        var signature = new byte[MaxSignatureSize];
        nuint length = (nuint)signature.Length;
        using (EvpPKeyCtxHandle ctx = LibCrypto.EVP_PKEY_CTX_dup(_templates[slot]))
        {
            fixed (byte* sig = signature)
            fixed (byte* tbs = digest)
            {
                if (ctx.IsInvalid || LibCrypto.EVP_PKEY_sign(ctx, sig, &length, tbs, (nuint)digestLength) != 1)
                {
                    LibCrypto.ClearErrors();
                    throw new CryptographicException("libcrypto signing failed");
                }
            }
        }
        return length == (nuint)signature.Length ? signature : signature.AsSpan(0, (int)length).ToArray();
    }

    public void Dispose()
    {
        foreach (EvpPKeyCtxHandle template in _templates)
            template.Dispose();
        _key.Dispose(); // EVP_PKEY_free clears the private key
    }

    private static EvpPKeyHandle? Import(byte[] pkcs8)
    {
        fixed (byte* der = pkcs8)
        {
            byte* cursor = der;
            IntPtr pkey = LibCrypto.d2i_AutoPrivateKey(null, &cursor, pkcs8.Length);
            if (pkey != IntPtr.Zero)
                return new EvpPKeyHandle(pkey);
        }
        LibCrypto.ClearErrors();
        return null;
    }

    private static EvpPKeyCtxHandle? NewTemplate(EvpPKeyHandle pkey, bool isRsa, string hashName)
    {
        IntPtr md = LibCrypto.EVP_MD_fetch(IntPtr.Zero, hashName, null);
        EvpPKeyCtxHandle ctx = LibCrypto.EVP_PKEY_CTX_new_from_pkey(IntPtr.Zero, pkey, IntPtr.Zero);
        try
        {
            bool ok = md != IntPtr.Zero
                && !ctx.IsInvalid
                && LibCrypto.EVP_PKEY_sign_init(ctx) == 1
                && (!isRsa || LibCrypto.EVP_PKEY_CTX_set_rsa_padding(ctx, LibCrypto.RSA_PKCS1_PSS_PADDING) == 1)
                && LibCrypto.EVP_PKEY_CTX_set_signature_md(ctx, md) == 1
                // RFC 8446 §4.2.3: PSS with MGF1 over the same hash, salt length equal to the digest length.
                && (!isRsa || (LibCrypto.EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1
                    && LibCrypto.EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, LibCrypto.RSA_PSS_SALTLEN_DIGEST) == 1));
            if (ok)
                return ctx;
            ctx.Dispose();
            LibCrypto.ClearErrors();
            return null;
        }
        finally
        {
            if (md != IntPtr.Zero)
                LibCrypto.EVP_MD_free(md); // the context keeps its own reference
        }
    }
}
