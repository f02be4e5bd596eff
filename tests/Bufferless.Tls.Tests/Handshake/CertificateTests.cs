using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Handshake;

public class CertificateTests
{
    [Theory]
    [InlineData(TlsCertificateKeyType.Rsa, false)]
    [InlineData(TlsCertificateKeyType.Rsa, true)]
    [InlineData(TlsCertificateKeyType.EcdsaP256, false)]
    [InlineData(TlsCertificateKeyType.EcdsaP384, true)]
    public void FromPem_ChainAndKey_HandshakeSendsFullChain(TlsCertificateKeyType type, bool pkcs8)
    {
        var leaf = TestCertificates.LeafFor(type);
        string chainPem = leaf.ExportCertificatePem() + "\n" + TestCertificates.Ca.ExportCertificatePem();
        string keyPem = type == TlsCertificateKeyType.Rsa
            ? (pkcs8 ? leaf.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem() : leaf.GetRSAPrivateKey()!.ExportRSAPrivateKeyPem())
            : (pkcs8 ? leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() : leaf.GetECDsaPrivateKey()!.ExportECPrivateKeyPem());
        using var certificate = TlsCertificate.FromPem(chainPem, keyPem);
        Assert.Equal(type, certificate.KeyType);
        Assert.Equal(2, certificate.Chain.Count);

        var (client, server) = Pump.Handshake(new TlsServerConfig { Certificates = [certificate] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(leaf.Thumbprint, client.Certificates[0].Thumbprint);
        Assert.Equal(TestCertificates.Ca.Thumbprint, client.Certificates[1].Thumbprint);
    }

    [Fact]
    public void FromPem_SubjectAndNotAfter_AreTheLeafs()
    {
        var leaf = TestCertificates.LeafFor(TlsCertificateKeyType.EcdsaP256);
        using var certificate = TlsCertificate.FromPem(leaf.ExportCertificatePem() + "\n" + TestCertificates.Ca.ExportCertificatePem(),
            leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        Assert.Equal(leaf.Subject, certificate.Subject);
        Assert.NotEqual(TestCertificates.Ca.Subject, certificate.Subject);
        Assert.Equal(new DateTimeOffset(leaf.NotAfter.ToUniversalTime()), certificate.NotAfter);
        Assert.Equal(TimeSpan.Zero, certificate.NotAfter.Offset);
    }

    [Fact]
    public void Supports_Tls13Rules_NoPkcs1AndCurveMustMatch()
    {
        using var p256 = TestCertificates.Create(TlsCertificateKeyType.EcdsaP256);
        using var rsa = TestCertificates.Create(TlsCertificateKeyType.Rsa);
        Assert.True(p256.Supports(TlsSignatureScheme.EcdsaSecp256r1Sha256));
        Assert.False(p256.Supports(TlsSignatureScheme.EcdsaSecp384r1Sha384));
        Assert.False(rsa.Supports(TlsSignatureScheme.RsaPkcs1Sha256));
        Assert.False(rsa.Supports(TlsSignatureScheme.RsaPssPssSha256));
        Assert.True(rsa.Supports(TlsSignatureScheme.RsaPssRsaeSha512));
    }

    [Fact]
    public void FromPem_KeyOfAnotherCertificate_ArgumentExceptionWithReason()
    {
        var leaf = TestCertificates.LeafFor(TlsCertificateKeyType.EcdsaP256);
        using var other = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var e = Assert.Throws<ArgumentException>(() => TlsCertificate.FromPem(leaf.ExportCertificatePem(), other.ExportPkcs8PrivateKeyPem()));
        Assert.Contains("does not match", e.Message);

        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var e2 = Assert.Throws<ArgumentException>(() => TlsCertificate.FromPem(leaf.ExportCertificatePem(), rsa.ExportPkcs8PrivateKeyPem()));
        Assert.Contains("EC key", e2.Message);

        var rsaLeaf = TestCertificates.LeafFor(TlsCertificateKeyType.Rsa);
        using var otherRsa = System.Security.Cryptography.RSA.Create(2048);
        Assert.Throws<ArgumentException>(() => TlsCertificate.FromPem(rsaLeaf.ExportCertificatePem(), otherRsa.ExportPkcs8PrivateKeyPem()));
        Assert.Throws<ArgumentException>(() => TlsCertificate.FromPem("not a pem", other.ExportPkcs8PrivateKeyPem()));
    }

    [Fact]
    public void SupportsTls12_Pkcs1ForRsaAndAnyHashForEcdsa()
    {
        using var p256 = TestCertificates.Create(TlsCertificateKeyType.EcdsaP256);
        using var rsa = TestCertificates.Create(TlsCertificateKeyType.Rsa);
        Assert.True(rsa.SupportsTls12(TlsSignatureScheme.RsaPkcs1Sha256));
        Assert.True(rsa.SupportsTls12(TlsSignatureScheme.RsaPssRsaeSha384));
        Assert.False(rsa.SupportsTls12(TlsSignatureScheme.EcdsaSecp256r1Sha256));
        Assert.True(p256.SupportsTls12(TlsSignatureScheme.EcdsaSecp384r1Sha384));
        Assert.False(p256.SupportsTls12(TlsSignatureScheme.RsaPkcs1Sha256));
        Assert.True(p256.TryChooseScheme12([(ushort)TlsSignatureScheme.EcdsaSecp384r1Sha384, (ushort)TlsSignatureScheme.EcdsaSecp256r1Sha256], out var scheme));
        Assert.Equal(TlsSignatureScheme.EcdsaSecp256r1Sha256, scheme); // the curve's own hash first
    }
}
