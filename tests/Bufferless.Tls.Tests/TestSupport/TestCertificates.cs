using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Bufferless.Tls.Tests.TestSupport;

/// <summary>A throwaway CA and leaves for each key type, made once per test run.</summary>
internal static class TestCertificates
{
    private static readonly Lazy<(X509Certificate2 Cert, ECDsa Key)> s_ca = new(() =>
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=Bufferless Test CA", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return (cert, key);
    });

    private static readonly Lazy<X509Certificate2> s_rsa = new(() => Leaf(RSA.Create(2048)));
    private static readonly Lazy<X509Certificate2> s_p256 = new(() => Leaf(ECDsa.Create(ECCurve.NamedCurves.nistP256)));
    private static readonly Lazy<X509Certificate2> s_p384 = new(() => Leaf(ECDsa.Create(ECCurve.NamedCurves.nistP384)));

    public static X509Certificate2 Ca => s_ca.Value.Cert;

    public static X509Certificate2 LeafFor(TlsCertificateKeyType type) => type switch
    {
        TlsCertificateKeyType.Rsa => s_rsa.Value,
        TlsCertificateKeyType.EcdsaP256 => s_p256.Value,
        _ => s_p384.Value,
    };

    public static TlsCertificate Create(TlsCertificateKeyType type) => TlsCertificate.FromX509(LeafFor(type), [Ca]);

    /// <summary>A server certificate for the given DNS names (SANs), issued by the test CA.</summary>
    public static TlsCertificate CreateNamed(TlsCertificateKeyType type, params string[] names)
    {
        AsymmetricAlgorithm key = type switch
        {
            TlsCertificateKeyType.Rsa => RSA.Create(2048),
            TlsCertificateKeyType.EcdsaP256 => ECDsa.Create(ECCurve.NamedCurves.nistP256),
            _ => ECDsa.Create(ECCurve.NamedCurves.nistP384),
        };
        using var leaf = Leaf(key, names);
        return TlsCertificate.FromX509(leaf, [Ca]);
    }

    /// <summary>A second, untrusted CA (for unknown_ca).</summary>
    private static readonly Lazy<(X509Certificate2 Cert, ECDsa Key)> s_otherCa = new(() =>
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=Other CA", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return (req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1)), key);
    });

    /// <summary>A client certificate (with private key) for mTLS tests.</summary>
    public static X509Certificate2 Client(TlsCertificateKeyType type = TlsCertificateKeyType.EcdsaP256, bool clientAuthEku = true, bool expired = false,
        bool otherCa = false, string subject = "CN=client.example.test, O=Bufferless Tests")
    {
        AsymmetricAlgorithm key = type == TlsCertificateKeyType.Rsa ? RSA.Create(2048) : ECDsa.Create(type == TlsCertificateKeyType.EcdsaP384 ? ECCurve.NamedCurves.nistP384 : ECCurve.NamedCurves.nistP256);
        CertificateRequest req = key is RSA rsa
            ? new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest(subject, (ECDsa)key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(clientAuthEku ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1")], false));
        var (caCert, caKey) = otherCa ? s_otherCa.Value : s_ca.Value;
        byte[] serial = RandomNumberGenerator.GetBytes(8);
        serial[0] &= 0x7F;
        DateTimeOffset notBefore = expired ? DateTimeOffset.UtcNow.AddDays(-30) : DateTimeOffset.UtcNow.AddHours(-1);
        DateTimeOffset notAfter = expired ? DateTimeOffset.UtcNow.AddDays(-1) : DateTimeOffset.UtcNow.AddDays(30);
        using var cert = req.Create(caCert.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), notBefore, notAfter, serial);
        return key is RSA r ? cert.CopyWithPrivateKey(r) : cert.CopyWithPrivateKey((ECDsa)key);
    }

    private static X509Certificate2 Leaf(AsymmetricAlgorithm key) => Leaf(key, ["example.test", "localhost"]);

    private static X509Certificate2 Leaf(AsymmetricAlgorithm key, string[] names)
    {
        CertificateRequest req = key switch
        {
            RSA rsa => new CertificateRequest("CN=" + names[0], rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ec => new CertificateRequest("CN=" + names[0], ec, HashAlgorithmName.SHA256),
            _ => throw new ArgumentException(null, nameof(key)),
        };
        var san = new SubjectAlternativeNameBuilder();
        foreach (string name in names)
            san.AddDnsName(name);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var (caCert, caKey) = s_ca.Value;
        var gen = X509SignatureGenerator.CreateForECDsa(caKey);
        byte[] serial = RandomNumberGenerator.GetBytes(8);
        serial[0] &= 0x7F;
        using var cert = req.Create(caCert.SubjectName, gen, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        return key switch
        {
            RSA rsa => cert.CopyWithPrivateKey(rsa),
            ECDsa ec => cert.CopyWithPrivateKey(ec),
            _ => throw new ArgumentException(null, nameof(key)),
        };
    }
}
