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
}
