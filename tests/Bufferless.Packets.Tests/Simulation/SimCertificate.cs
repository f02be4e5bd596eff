using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bufferless.Tls;

namespace Bufferless.Packets.Tests.Simulation;

/// <summary>
/// One RSA-2048 self-signed certificate per test run. RSA keeps every handshake message the same length (PSS
/// signatures and the certificate's own signature are fixed-size, unlike DER ECDSA), so a seed replays the same
/// segmentation even though keys and randoms differ between runs.
/// </summary>
internal static class SimCertificate
{
    private static readonly Lazy<TlsServerConfig> s_config = new(() =>
    {
        using RSA key = RSA.Create(2048);
        var req = new CertificateRequest("CN=sim.test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("example.test");
        req.CertificateExtensions.Add(san.Build());
        var notBefore = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        using var cert = req.Create(req.SubjectName, X509SignatureGenerator.CreateForRSA(key, RSASignaturePadding.Pkcs1),
            notBefore, notBefore.AddYears(20), [1, 2, 3, 4, 5, 6, 7, 8]);
        var withKey = cert.CopyWithPrivateKey(key);
        return new TlsServerConfig { Certificates = [TlsCertificate.FromX509(withKey)] };
    });

    public static TlsServerConfig Config => s_config.Value;

    /// <summary>
    /// An ECDSA P-256 certificate: far cheaper handshakes than RSA-2048, for tests that open thousands of flows
    /// (the signature's DER length varies, so segmentation is not byte-for-byte reproducible; they do not need it).
    /// </summary>
    private static readonly Lazy<TlsServerConfig> s_ecdsa = new(() =>
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=sim.test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("example.test");
        req.CertificateExtensions.Add(san.Build());
        var notBefore = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        using var cert = req.CreateSelfSigned(notBefore, notBefore.AddYears(20));
        return new TlsServerConfig { Certificates = [TlsCertificate.FromX509(cert)] };
    });

    public static TlsServerConfig EcdsaConfig => s_ecdsa.Value;

    public static TlsServerConfig WithSuites(TlsCipherSuite suite) => new()
    {
        Certificates = Config.Certificates,
        CipherSuites = [suite],
    };
}
