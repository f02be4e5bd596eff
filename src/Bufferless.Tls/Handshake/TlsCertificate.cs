using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Bufferless.Tls;

public enum TlsCertificateKeyType
{
    Rsa,
    EcdsaP256,
    EcdsaP384,
}

/// <summary>
/// A server certificate chain (DER, leaf first, sent in full) and its private key. Signing is serialized per
/// certificate so one instance can serve many connections on many threads.
/// </summary>
public sealed class TlsCertificate : IDisposable
{
    private readonly AsymmetricAlgorithm? _key;
    private readonly Lock _signLock = new();

    private TlsCertificate(IReadOnlyList<byte[]> chain, AsymmetricAlgorithm? key, TlsCertificateKeyType keyType)
    {
        Chain = chain;
        _key = key;
        KeyType = keyType;
    }

    /// <summary>The chain as sent in the Certificate message, leaf first.</summary>
    public IReadOnlyList<byte[]> Chain { get; }

    public TlsCertificateKeyType KeyType { get; }

    /// <summary>
    /// Test hook: produce the signature instead of the key (the RFC 8448 test injects the RFC's RSA-PSS signature,
    /// after checking it against the certificate's public key, because PSS signatures are randomized).
    /// </summary>
    internal Func<TlsSignatureScheme, byte[], byte[]>? SignatureOverride { get; set; }

    /// <summary>Loads a PEM chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC).</summary>
    public static TlsCertificate FromPem(string chainPem, string keyPem)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPem(chainPem);
        if (collection.Count == 0)
            throw new ArgumentException("no certificate in PEM", nameof(chainPem));
        var chain = new List<byte[]>();
        foreach (var cert in collection)
            chain.Add(cert.RawData);
        using X509Certificate2 leaf = collection[0];
        AsymmetricAlgorithm key;
        using (RSA? rsaPublic = leaf.GetRSAPublicKey())
        {
            if (rsaPublic is not null)
            {
                var rsa = RSA.Create();
                rsa.ImportFromPem(keyPem);
                key = rsa;
            }
            else
            {
                var ec = ECDsa.Create();
                ec.ImportFromPem(keyPem);
                key = ec;
            }
        }
        foreach (var cert in collection)
            cert.Dispose();
        return Create(chain, key);
    }

    /// <summary>Uses an X509Certificate2 that carries its private key, plus optional intermediates (sent after the leaf).</summary>
    public static TlsCertificate FromX509(X509Certificate2 leaf, IEnumerable<X509Certificate2>? intermediates = null)
    {
        AsymmetricAlgorithm key = (AsymmetricAlgorithm?)leaf.GetRSAPrivateKey() ?? leaf.GetECDsaPrivateKey()
            ?? throw new ArgumentException("certificate has no RSA or ECDSA private key", nameof(leaf));
        var chain = new List<byte[]> { leaf.RawData };
        if (intermediates is not null)
            chain.AddRange(intermediates.Select(c => c.RawData));
        return Create(chain, key);
    }

    private static TlsCertificate Create(List<byte[]> chain, AsymmetricAlgorithm key)
    {
        TlsCertificateKeyType type = key switch
        {
            RSA => TlsCertificateKeyType.Rsa,
            ECDsa ec when ec.KeySize == 256 => TlsCertificateKeyType.EcdsaP256,
            ECDsa ec when ec.KeySize == 384 => TlsCertificateKeyType.EcdsaP384,
            _ => throw new NotSupportedException("only RSA, ECDSA P-256 and ECDSA P-384 keys are supported"),
        };
        return new TlsCertificate(chain, key, type);
    }

    /// <summary>A certificate whose signatures come from <paramref name="signer"/> (known-answer tests, external keys).</summary>
    internal static TlsCertificate FromSigner(IReadOnlyList<byte[]> chain, TlsCertificateKeyType keyType, Func<TlsSignatureScheme, byte[], byte[]> signer) =>
        new(chain, null, keyType) { SignatureOverride = signer };

    /// <summary>Whether this key can produce <paramref name="scheme"/> in TLS 1.3 (RFC 8446 §4.2.3: no PKCS#1 v1.5 in CertificateVerify).</summary>
    public bool Supports(TlsSignatureScheme scheme) => (KeyType, scheme) switch
    {
        (TlsCertificateKeyType.Rsa, TlsSignatureScheme.RsaPssRsaeSha256 or TlsSignatureScheme.RsaPssRsaeSha384 or TlsSignatureScheme.RsaPssRsaeSha512) => true,
        (TlsCertificateKeyType.EcdsaP256, TlsSignatureScheme.EcdsaSecp256r1Sha256) => true,
        (TlsCertificateKeyType.EcdsaP384, TlsSignatureScheme.EcdsaSecp384r1Sha384) => true,
        _ => false,
    };

    /// <summary>The first scheme in the client's preference order that this key can produce.</summary>
    public bool TryChooseScheme(IReadOnlyList<ushort> clientSchemes, out TlsSignatureScheme scheme)
    {
        foreach (ushort s in clientSchemes)
        {
            if (Supports((TlsSignatureScheme)s))
            {
                scheme = (TlsSignatureScheme)s;
                return true;
            }
        }
        scheme = TlsSignatureScheme.None;
        return false;
    }

    internal byte[] Sign(TlsSignatureScheme scheme, byte[] content)
    {
        if (SignatureOverride is { } hook)
            return hook(scheme, content);
        if (_key is null)
            throw new InvalidOperationException("certificate has no private key");
        lock (_signLock)
        {
            return scheme switch
            {
                TlsSignatureScheme.RsaPssRsaeSha256 => ((RSA)_key).SignData(content, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
                TlsSignatureScheme.RsaPssRsaeSha384 => ((RSA)_key).SignData(content, HashAlgorithmName.SHA384, RSASignaturePadding.Pss),
                TlsSignatureScheme.RsaPssRsaeSha512 => ((RSA)_key).SignData(content, HashAlgorithmName.SHA512, RSASignaturePadding.Pss),
                // RFC 8446 §4.2.3: ECDSA signatures are DER-encoded ECDSA-Sig-Value.
                TlsSignatureScheme.EcdsaSecp256r1Sha256 => ((ECDsa)_key).SignData(content, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence),
                TlsSignatureScheme.EcdsaSecp384r1Sha384 => ((ECDsa)_key).SignData(content, HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence),
                _ => throw new ArgumentOutOfRangeException(nameof(scheme)),
            };
        }
    }

    public void Dispose() => _key?.Dispose();
}
