using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Sni;

/// <summary>RFC 6066 server_name certificate choice, key type matching, unrecognized_name, config swap (reload).</summary>
public class CertificateSelectionTests
{
    private static readonly TlsCertificate ApiEcdsa = TestCertificates.CreateNamed(TlsCertificateKeyType.EcdsaP256, "api.example.test");
    private static readonly TlsCertificate ApiRsa = TestCertificates.CreateNamed(TlsCertificateKeyType.Rsa, "api.example.test");
    private static readonly TlsCertificate Wildcard = TestCertificates.CreateNamed(TlsCertificateKeyType.EcdsaP384, "*.wild.test");
    private static readonly TlsCertificate Fallback = TestCertificates.CreateNamed(TlsCertificateKeyType.EcdsaP256, "default.test");

    private static TlsServerConfig Config(bool reject = false) => new()
    {
        Certificates = [ApiRsa, Wildcard, ApiEcdsa, Fallback],
        DefaultCertificates = [Fallback],
        RejectUnknownServerName = reject,
    };

    [Theory]
    [InlineData("api.example.test", "api.example.test")]
    [InlineData("API.Example.Test", "api.example.test")]
    [InlineData("a.wild.test", "*.wild.test")]
    [InlineData("a.b.wild.test", "default.test")] // a wildcard covers one label only (RFC 6125 §6.4.3)
    [InlineData("wild.test", "default.test")]
    [InlineData("other.test", "default.test")]
    [InlineData(null, "default.test")]
    public void ServerName13_ExactWildcardDefault_ChoosesCertificate(string? sni, string expectedName)
    {
        var (client, server) = Pump.Handshake(Config(), new TlsTestClientOptions { ServerName = sni });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(expectedName, server.Connection.ServerCertificate!.Names[0]);
        Assert.Contains(expectedName, client.Certificates[0].Subject);
    }

    [Theory]
    [InlineData("api.example.test", "api.example.test")]
    [InlineData("x.wild.test", "*.wild.test")]
    [InlineData("nope.test", "default.test")]
    public void ServerName12_ExactWildcardDefault_ChoosesCertificate(string sni, string expectedName)
    {
        var (client, server) = Pump12.Handshake(Config(), new Tls12TestClientOptions { ServerName = sni });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(expectedName, server.Connection.ServerCertificate!.Names[0]);
    }

    [Fact]
    public void ServerName_SameNameBothKeyTypes_EcdsaPreferred()
    {
        var (client, server) = Pump.Handshake(Config(), new TlsTestClientOptions { ServerName = "api.example.test" });
        using var _c = client; using var _s = server;
        Assert.Same(ApiEcdsa, server.Connection.ServerCertificate);
        Assert.Equal(TlsSignatureScheme.EcdsaSecp256r1Sha256, server.Connection.SignatureScheme);
    }

    [Fact]
    public void ServerName_ClientWithoutEcdsa_RsaCertificate()
    {
        var (client, server) = Pump.Handshake(Config(), new TlsTestClientOptions { ServerName = "api.example.test", SignatureSchemes = [TlsSignatureScheme.RsaPssRsaeSha256] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Same(ApiRsa, server.Connection.ServerCertificate);

        var (client12, server12) = Pump12.Handshake(Config(), new Tls12TestClientOptions
        {
            ServerName = "api.example.test", Suites = [TlsCipherSuite.EcdheEcdsaAes128GcmSha256, TlsCipherSuite.EcdheRsaAes128GcmSha256],
            SignatureSchemes = [TlsSignatureScheme.RsaPkcs1Sha256],
        });
        using var _c12 = client12; using var _s12 = server12;
        Assert.True(client12.HandshakeComplete, client12.Error);
        Assert.Same(ApiRsa, server12.Connection.ServerCertificate);
        Assert.Equal(TlsCipherSuite.EcdheRsaAes128GcmSha256, client12.Suite);
    }

    [Fact]
    public void ServerName_MatchedCertificateUnusable_HandshakeFailureNotAnotherName()
    {
        // Only the P-384 wildcard serves a.wild.test; a client without ECDSA-P384 cannot use it, and no other name is offered instead.
        var (client, server) = Pump.Handshake(Config(), new TlsTestClientOptions { ServerName = "a.wild.test", SignatureSchemes = [TlsSignatureScheme.EcdsaSecp256r1Sha256] });
        using var _c = client; using var _s = server;
        Assert.Equal(TlsAlertDescription.HandshakeFailure, server.Connection.LocalAlert);
    }

    [Fact]
    public void ServerName_UnknownWithRejectConfigured_UnrecognizedName()
    {
        var (client, server) = Pump.Handshake(Config(reject: true), new TlsTestClientOptions { ServerName = "other.test" });
        using var _c = client; using var _s = server;
        // RFC 6066 §3: a fatal unrecognized_name(112).
        Assert.Equal(TlsAlertDescription.UnrecognizedName, server.Connection.LocalAlert);
        Assert.Equal(TlsAlertDescription.UnrecognizedName, client.ReceivedAlert);

        var (client12, server12) = Pump12.Handshake(Config(reject: true), new Tls12TestClientOptions { ServerName = "other.test" });
        using var _c12 = client12; using var _s12 = server12;
        Assert.Equal(TlsAlertDescription.UnrecognizedName, client12.ReceivedAlert);

        var (client2, server2) = Pump.Handshake(Config(reject: true), new TlsTestClientOptions { ServerName = null });
        using var _c2 = client2; using var _s2 = server2;
        Assert.True(client2.HandshakeComplete, client2.Error); // no name: the default still serves
    }

    [Fact]
    public void Names_ConfiguredListOverridesSans()
    {
        using var certificate = TlsCertificate.FromX509(TestCertificates.LeafFor(TlsCertificateKeyType.EcdsaP256), [TestCertificates.Ca], ["Alias.Test."]);
        Assert.Equal(["alias.test"], certificate.Names);
        Assert.Equal(2, certificate.MatchName("alias.test"));
        Assert.Equal(0, certificate.MatchName("example.test"));
        Assert.Equal(["example.test", "localhost"], TestCertificates.Create(TlsCertificateKeyType.EcdsaP256).Names);
    }

    [Fact]
    public void Reload_NewConfigForNewConnections_RunningConnectionUndisturbed()
    {
        TlsServerConfig current = new() { Certificates = [Fallback] };
        var (client, server) = Pump.Handshake(current);
        using var _c = client; using var _s = server;
        current = new TlsServerConfig { Certificates = [ApiEcdsa] }; // what the proxy does on SIGHUP
        var (client2, server2) = Pump.Handshake(current);
        using var _c2 = client2; using var _s2 = server2;
        Assert.Same(ApiEcdsa, server2.Connection.ServerCertificate);
        client.SendApplicationData("old"u8);
        Pump.Run(client, server);
        Assert.Equal("old"u8.ToArray(), server.Received);
        Assert.Same(Fallback, server.Connection.ServerCertificate);
    }
}
