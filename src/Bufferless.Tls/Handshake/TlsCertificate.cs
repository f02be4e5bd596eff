using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bufferless.Crypto.Signing;

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
    // The same key inside libcrypto: ECDSA and RSA-PSS signatures go there (cheaper per signature, thread-safe,
    // no lock); null for keys .NET cannot export, which keep signing through _key.
    private readonly EvpSigner? _signer;
    private readonly Lock _signLock = new();

    private TlsCertificate(IReadOnlyList<byte[]> chain, AsymmetricAlgorithm? key, TlsCertificateKeyType keyType, IReadOnlyList<string> names,
        string subject, DateTimeOffset notAfter)
    {
        Chain = chain;
        Subject = subject;
        NotAfter = notAfter;
        _key = key;
        _signer = key is null ? null : EvpSigner.TryCreate(key);
        KeyType = keyType;
        Names = names;
    }

    /// <summary>The chain as sent in the Certificate message, leaf first.</summary>
    public IReadOnlyList<byte[]> Chain { get; }

    public TlsCertificateKeyType KeyType { get; }

    /// <summary>
    /// Host names this certificate serves for SNI choice (RFC 6066 §3): the configured names if given, else the
    /// leaf's DNS subjectAltNames, else its CN. A leading "*." is a wildcard for exactly one label (RFC 6125 §6.4.3).
    /// </summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The leaf's subject distinguished name, e.g. "CN=example.com" (for logs and metrics).</summary>
    public string Subject { get; }

    /// <summary>When the leaf certificate expires (its notAfter).</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>
    /// Test hook: produce the signature instead of the key (the RFC 8448 test injects the RFC's RSA-PSS signature,
    /// after checking it against the certificate's public key, because PSS signatures are randomized).
    /// </summary>
    internal Func<TlsSignatureScheme, byte[], byte[]>? SignatureOverride { get; set; }

    /// <summary>
    /// Loads a PEM chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC). Throws
    /// <see cref="ArgumentException"/> with the reason when the PEM holds no certificate, the key cannot be read,
    /// or the key does not belong to the leaf certificate (checked by signing and verifying a test message).
    /// </summary>
    public static TlsCertificate FromPem(string chainPem, string keyPem, IEnumerable<string>? names = null)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(chainPem);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException("certificate PEM cannot be read: " + e.Message, nameof(chainPem), e);
        }
        if (collection.Count == 0)
            throw new ArgumentException("no certificate in PEM", nameof(chainPem));
        try
        {
            var chain = new List<byte[]>();
            foreach (var cert in collection)
                chain.Add(cert.RawData);
            X509Certificate2 leaf = collection[0];
            AsymmetricAlgorithm key;
            using (RSA? rsaPublic = leaf.GetRSAPublicKey())
            {
                try
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
                catch (Exception e) when (e is CryptographicException or ArgumentException)
                {
                    throw new ArgumentException($"private key PEM cannot be read as a {(rsaPublic is not null ? "RSA" : "EC")} key (the certificate's key type): {e.Message}", nameof(keyPem), e);
                }
            }
            return Create(chain, key, leaf, names);
        }
        finally
        {
            foreach (var cert in collection)
                cert.Dispose();
        }
    }

    /// <summary>Uses an X509Certificate2 that carries its private key, plus optional intermediates (sent after the leaf).</summary>
    public static TlsCertificate FromX509(X509Certificate2 leaf, IEnumerable<X509Certificate2>? intermediates = null, IEnumerable<string>? names = null)
    {
        AsymmetricAlgorithm key = (AsymmetricAlgorithm?)leaf.GetRSAPrivateKey() ?? leaf.GetECDsaPrivateKey()
            ?? throw new ArgumentException("certificate has no RSA or ECDSA private key", nameof(leaf));
        var chain = new List<byte[]> { leaf.RawData };
        if (intermediates is not null)
            chain.AddRange(intermediates.Select(c => c.RawData));
        return Create(chain, key, leaf, names);
    }

    private static TlsCertificate Create(List<byte[]> chain, AsymmetricAlgorithm key, X509Certificate2 leaf, IEnumerable<string>? names)
    {
        TlsCertificateKeyType type = key switch
        {
            RSA => TlsCertificateKeyType.Rsa,
            ECDsa ec when ec.KeySize == 256 => TlsCertificateKeyType.EcdsaP256,
            ECDsa ec when ec.KeySize == 384 => TlsCertificateKeyType.EcdsaP384,
            _ => throw new NotSupportedException("only RSA, ECDSA P-256 and ECDSA P-384 keys are supported"),
        };
        CheckKeyMatches(key, leaf);
        IReadOnlyList<string> list = names?.Select(n => n.TrimEnd('.').ToLowerInvariant()).ToArray() ?? NamesOf(leaf);
        return new TlsCertificate(chain, key, type, list, leaf.Subject, new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero));
    }

    /// <summary>Signs a test message with the private key and verifies it with the leaf's public key, so a mismatched pair fails at load.</summary>
    private static void CheckKeyMatches(AsymmetricAlgorithm key, X509Certificate2 leaf)
    {
        byte[] probe = "bufferless certificate key check"u8.ToArray();
        bool ok;
        switch (key)
        {
            case RSA rsa:
            {
                using RSA? pub = leaf.GetRSAPublicKey();
                ok = pub is not null && pub.VerifyData(probe, rsa.SignData(probe, HashAlgorithmName.SHA256, RSASignaturePadding.Pss), HashAlgorithmName.SHA256, RSASignaturePadding.Pss);
                break;
            }
            case ECDsa ec:
            {
                using ECDsa? pub = leaf.GetECDsaPublicKey();
                ok = pub is not null && pub.KeySize == ec.KeySize && pub.VerifyData(probe, ec.SignData(probe, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256);
                break;
            }
            default:
                ok = false;
                break;
        }
        if (!ok)
            throw new ArgumentException($"the private key does not match the certificate's public key (certificate {leaf.Subject})", "keyPem");
    }

    private static string[] NamesOf(X509Certificate2 leaf)
    {
        foreach (X509Extension extension in leaf.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                string[] dns = san.EnumerateDnsNames().Select(n => n.TrimEnd('.').ToLowerInvariant()).ToArray();
                if (dns.Length > 0)
                    return dns;
            }
        }
        string cn = leaf.GetNameInfo(X509NameType.SimpleName, false);
        return string.IsNullOrEmpty(cn) ? [] : [cn.ToLowerInvariant()];
    }

    /// <summary>A certificate whose signatures come from <paramref name="signer"/> (known-answer tests, external keys).</summary>
    internal static TlsCertificate FromSigner(IReadOnlyList<byte[]> chain, TlsCertificateKeyType keyType, Func<TlsSignatureScheme, byte[], byte[]> signer) =>
        new(chain, null, keyType, [], "", DateTimeOffset.MaxValue) { SignatureOverride = signer };

    /// <summary>How well <paramref name="host"/> matches <see cref="Names"/>: 2 exact, 1 wildcard, 0 none (case-insensitive).</summary>
    public int MatchName(string host)
    {
        string name = host.TrimEnd('.');
        int best = 0;
        foreach (string candidate in Names)
        {
            if (string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase))
                return 2;
            // RFC 6125 §6.4.3: "*.example.com" matches exactly one left-most label.
            if (candidate.StartsWith("*.", StringComparison.Ordinal))
            {
                int dot = name.IndexOf('.');
                if (dot > 0 && string.Equals(candidate[1..], name[dot..], StringComparison.OrdinalIgnoreCase))
                    best = 1;
            }
        }
        return best;
    }

    /// <summary>Whether this key can produce <paramref name="scheme"/> in TLS 1.3 (RFC 8446 §4.2.3: no PKCS#1 v1.5 in CertificateVerify).</summary>
    public bool Supports(TlsSignatureScheme scheme) => (KeyType, scheme) switch
    {
        (TlsCertificateKeyType.Rsa, TlsSignatureScheme.RsaPssRsaeSha256 or TlsSignatureScheme.RsaPssRsaeSha384 or TlsSignatureScheme.RsaPssRsaeSha512) => true,
        (TlsCertificateKeyType.EcdsaP256, TlsSignatureScheme.EcdsaSecp256r1Sha256) => true,
        (TlsCertificateKeyType.EcdsaP384, TlsSignatureScheme.EcdsaSecp384r1Sha384) => true,
        _ => false,
    };

    /// <summary>
    /// Whether this key can sign a TLS 1.2 ServerKeyExchange with <paramref name="scheme"/> (RFC 5246 §7.4.1.4.1 read with
    /// RFC 8446 §4.2.3 code points): RSA with PKCS#1 v1.5 or PSS (SHA-256/384/512); ECDSA with SHA-256/384/512 on any curve.
    /// </summary>
    public bool SupportsTls12(TlsSignatureScheme scheme) => (KeyType, scheme) switch
    {
        (TlsCertificateKeyType.Rsa, TlsSignatureScheme.RsaPkcs1Sha256 or TlsSignatureScheme.RsaPkcs1Sha384 or TlsSignatureScheme.RsaPkcs1Sha512) => true,
        (TlsCertificateKeyType.Rsa, _) => Supports(scheme),
        (_, TlsSignatureScheme.EcdsaSecp256r1Sha256 or TlsSignatureScheme.EcdsaSecp384r1Sha384 or TlsSignatureScheme.EcdsaSecp521r1Sha512) => true,
        _ => false,
    };

    /// <summary>The first TLS 1.2 scheme in the client's order this key can produce, preferring the curve's own hash for ECDSA.</summary>
    public bool TryChooseScheme12(IReadOnlyList<ushort> clientSchemes, out TlsSignatureScheme scheme)
    {
        if (KeyType != TlsCertificateKeyType.Rsa && TryChooseScheme(clientSchemes, out scheme))
            return true;
        foreach (ushort s in clientSchemes)
        {
            if (SupportsTls12((TlsSignatureScheme)s))
            {
                scheme = (TlsSignatureScheme)s;
                return true;
            }
        }
        scheme = TlsSignatureScheme.None;
        return false;
    }

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
        if (_signer is not null)
        {
            // RFC 8446 §4.2.3: ECDSA signatures are DER-encoded ECDSA-Sig-Value; RSA in TLS 1.3 is PSS only.
            HashAlgorithmName? hash = (scheme, _signer.IsRsa) switch
            {
                (TlsSignatureScheme.EcdsaSecp256r1Sha256, false) or (TlsSignatureScheme.RsaPssRsaeSha256, true) => HashAlgorithmName.SHA256,
                (TlsSignatureScheme.EcdsaSecp384r1Sha384, false) or (TlsSignatureScheme.RsaPssRsaeSha384, true) => HashAlgorithmName.SHA384,
                (TlsSignatureScheme.EcdsaSecp521r1Sha512, false) or (TlsSignatureScheme.RsaPssRsaeSha512, true) => HashAlgorithmName.SHA512,
                _ => null, // PKCS#1 v1.5 (TLS 1.2 only) stays with .NET
            };
            if (hash is { } h)
                return _signer.Sign(h, content);
        }
        lock (_signLock)
        {
            return scheme switch
            {
                TlsSignatureScheme.RsaPssRsaeSha256 => ((RSA)_key).SignData(content, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
                TlsSignatureScheme.RsaPssRsaeSha384 => ((RSA)_key).SignData(content, HashAlgorithmName.SHA384, RSASignaturePadding.Pss),
                TlsSignatureScheme.RsaPssRsaeSha512 => ((RSA)_key).SignData(content, HashAlgorithmName.SHA512, RSASignaturePadding.Pss),
                // TLS 1.2 only (ServerKeyExchange): PKCS#1 v1.5.
                TlsSignatureScheme.RsaPkcs1Sha256 => ((RSA)_key).SignData(content, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
                TlsSignatureScheme.RsaPkcs1Sha384 => ((RSA)_key).SignData(content, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1),
                TlsSignatureScheme.RsaPkcs1Sha512 => ((RSA)_key).SignData(content, HashAlgorithmName.SHA512, RSASignaturePadding.Pkcs1),
                TlsSignatureScheme.EcdsaSecp521r1Sha512 => ((ECDsa)_key).SignData(content, HashAlgorithmName.SHA512, DSASignatureFormat.Rfc3279DerSequence),
                // RFC 8446 §4.2.3: ECDSA signatures are DER-encoded ECDSA-Sig-Value.
                TlsSignatureScheme.EcdsaSecp256r1Sha256 => ((ECDsa)_key).SignData(content, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence),
                TlsSignatureScheme.EcdsaSecp384r1Sha384 => ((ECDsa)_key).SignData(content, HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence),
                _ => throw new ArgumentOutOfRangeException(nameof(scheme)),
            };
        }
    }

    public void Dispose()
    {
        _signer?.Dispose();
        _key?.Dispose();
    }
}
