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

    private static X509Certificate2 Leaf(AsymmetricAlgorithm key)
    {
        CertificateRequest req = key switch
        {
            RSA rsa => new CertificateRequest("CN=example.test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ec => new CertificateRequest("CN=example.test", ec, HashAlgorithmName.SHA256),
            _ => throw new ArgumentException(null, nameof(key)),
        };
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("example.test");
        san.AddDnsName("localhost");
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
