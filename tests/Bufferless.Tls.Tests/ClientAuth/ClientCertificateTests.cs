using System.Security.Cryptography.X509Certificates;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.ClientAuth;

/// <summary>mTLS: CertificateRequest, chain/validity/usage checks against the CA bundle, CertificateVerify, the RFCs' alerts.</summary>
public class ClientCertificateTests
{
    private static readonly X509Certificate2 GoodEcdsa = TestCertificates.Client();
    private static readonly X509Certificate2 GoodRsa = TestCertificates.Client(TlsCertificateKeyType.Rsa);

    internal static TlsServerConfig Config(TlsClientAuth mode, TlsTicketKeys? keys = null, bool ticketInFlight = false) => new()
    {
        Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256), TestCertificates.Create(TlsCertificateKeyType.Rsa)],
        ClientAuth = mode,
        ClientCertificateAuthorities = [TestCertificates.Ca],
        TicketKeys = keys,
        TicketWithServerFlight = ticketInFlight,
    };

    [Theory]
    [InlineData(TlsCertificateKeyType.EcdsaP256)]
    [InlineData(TlsCertificateKeyType.Rsa)]
    public void ClientCertificate13_Required_VerifiedAndExposed(TlsCertificateKeyType type)
    {
        X509Certificate2 cert = type == TlsCertificateKeyType.Rsa ? GoodRsa : GoodEcdsa;
        var (client, server) = Pump.Handshake(Config(TlsClientAuth.Require), new TlsTestClientOptions { ClientCertificate = cert });
        using var _c = client; using var _s = server;
        Assert.True(client.CertificateRequested);
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Contains(TlsStatus.HandshakeComplete, server.Statuses);
        Assert.Equal(cert.RawData, server.Connection.ClientCertificateDer);
        Assert.Contains("CN=client.example.test", server.Connection.ClientCertificateSubject);
        client.SendApplicationData("authenticated"u8);
        Pump.Run(client, server);
        Assert.Equal("authenticated"u8.ToArray(), server.Received);
    }

    [Theory]
    [InlineData(TlsCertificateKeyType.EcdsaP256, TlsCipherSuite.EcdheEcdsaAes128GcmSha256)]
    [InlineData(TlsCertificateKeyType.Rsa, TlsCipherSuite.EcdheRsaAes256GcmSha384)]
    public void ClientCertificate12_Required_VerifiedAndExposed(TlsCertificateKeyType type, TlsCipherSuite suite)
    {
        X509Certificate2 cert = type == TlsCertificateKeyType.Rsa ? GoodRsa : GoodEcdsa;
        var (client, server) = Pump12.Handshake(Config(TlsClientAuth.Require), new Tls12TestClientOptions { ClientCertificate = cert, Suites = [suite] });
        using var _c = client; using var _s = server;
        Assert.True(client.CertificateRequested);
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(cert.RawData, server.Connection.ClientCertificateDer);
        Assert.Contains("CN=client.example.test", server.Connection.ClientCertificateSubject);
    }

    [Fact]
    public void ClientCertificate13_RequiredButEmpty_CertificateRequired()
    {
        var (client, server) = Pump.Handshake(Config(TlsClientAuth.Require));
        using var _c = client; using var _s = server;
        Assert.Equal(TlsAlertDescription.CertificateRequired, server.Connection.LocalAlert);
        Assert.Equal(TlsAlertDescription.CertificateRequired, client.ReceivedAlert);
    }

    [Fact]
    public void ClientCertificate12_RequiredButEmpty_HandshakeFailure()
    {
        var (client, server) = Pump12.Handshake(Config(TlsClientAuth.Require));
        using var _c = client; using var _s = server;
        Assert.Equal(TlsAlertDescription.HandshakeFailure, server.Connection.LocalAlert);
        Assert.Equal(TlsAlertDescription.HandshakeFailure, client.ReceivedAlert);
    }

    [Fact]
    public void ClientCertificate_RequestedAndEmpty_Accepted()
    {
        var (client, server) = Pump.Handshake(Config(TlsClientAuth.Request));
        using var _c = client; using var _s = server;
        Assert.True(client.CertificateRequested);
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Null(server.Connection.ClientCertificateSubject);

        var (client12, server12) = Pump12.Handshake(Config(TlsClientAuth.Request));
        using var _c12 = client12; using var _s12 = server12;
        Assert.True(client12.HandshakeComplete, client12.Error);
        Assert.Null(server12.Connection.ClientCertificateDer);
    }

    [Fact]
    public void ClientCertificate_NotConfigured_NoRequest()
    {
        var (client, server) = Pump.Handshake(Config(TlsClientAuth.None));
        using var _c = client; using var _s = server;
        Assert.False(client.CertificateRequested);
    }

    public static TheoryData<string, TlsAlertDescription> BadCertificates() => new()
    {
        { "expired", TlsAlertDescription.CertificateExpired },
        { "other-ca", TlsAlertDescription.UnknownCa },
        { "server-eku", TlsAlertDescription.BadCertificate },
    };

    private static X509Certificate2 Bad(string kind) => kind switch
    {
        "expired" => TestCertificates.Client(expired: true),
        "other-ca" => TestCertificates.Client(otherCa: true),
        _ => TestCertificates.Client(clientAuthEku: false),
    };

    [Theory]
    [MemberData(nameof(BadCertificates))]
    public void ClientCertificate13_Invalid_RfcAlert(string kind, TlsAlertDescription expected)
    {
        using var cert = Bad(kind);
        var (client, server) = Pump.Handshake(Config(TlsClientAuth.Request), new TlsTestClientOptions { ClientCertificate = cert });
        using var _c = client; using var _s = server;
        Assert.Equal(expected, server.Connection.LocalAlert);
        Assert.Equal(expected, client.ReceivedAlert);
        Assert.Null(server.Connection.ClientCertificateDer);
    }

    [Theory]
    [MemberData(nameof(BadCertificates))]
    public void ClientCertificate12_Invalid_RfcAlert(string kind, TlsAlertDescription expected)
    {
        using var cert = Bad(kind);
        var (client, server) = Pump12.Handshake(Config(TlsClientAuth.Require), new Tls12TestClientOptions { ClientCertificate = cert });
        using var _c = client; using var _s = server;
        Assert.Equal(expected, server.Connection.LocalAlert);
        Assert.Equal(expected, client.ReceivedAlert);
    }

    [Fact]
    public void CertificateVerify13_BadSignature_DecryptError()
    {
        var (client, server) = Pump.Handshake(Config(TlsClientAuth.Require), new TlsTestClientOptions { ClientCertificate = GoodEcdsa, CorruptCertificateVerify = true });
        using var _c = client; using var _s = server;
        Assert.Equal(TlsAlertDescription.DecryptError, server.Connection.LocalAlert);
        Assert.Null(server.Connection.ClientCertificateDer);
    }

    [Fact]
    public void CertificateVerify12_BadSignature_DecryptError()
    {
        var (client, server) = Pump12.Handshake(Config(TlsClientAuth.Require), new Tls12TestClientOptions { ClientCertificate = GoodRsa, CorruptCertificateVerify = true });
        using var _c = client; using var _s = server;
        Assert.Equal(TlsAlertDescription.DecryptError, server.Connection.LocalAlert);
    }

    [Fact]
    public void ClientCertificate13_Garbage_BadCertificate()
    {
        var client = new TlsTestClient(new TlsTestClientOptions { CompatibilitySessionId = false }) { HoldFinished = true };
        using var server = new ServerDriver(Config(TlsClientAuth.Require));
        client.Start();
        client.Feed(server.Feed(client.TakeOutput()));
        client.WriteEncrypted(TlsContentType.Handshake, [11, 0, 0, 12, 0, 0, 0, 8, 0, 0, 3, 1, 2, 3, 0, 0]);
        client.Feed(server.Feed(client.TakeOutput()));
        Assert.Equal(TlsAlertDescription.BadCertificate, server.Connection.LocalAlert);
        client.Dispose();
    }

    [Fact]
    public void ClientCertificate13_NonEmptyContext_IllegalParameter()
    {
        var client = new TlsTestClient(new TlsTestClientOptions { CompatibilitySessionId = false }) { HoldFinished = true };
        using var server = new ServerDriver(Config(TlsClientAuth.Require));
        client.Start();
        client.Feed(server.Feed(client.TakeOutput()));
        client.WriteEncrypted(TlsContentType.Handshake, [11, 0, 0, 5, 1, 9, 0, 0, 0]);
        client.Feed(server.Feed(client.TakeOutput()));
        Assert.Equal(TlsAlertDescription.IllegalParameter, server.Connection.LocalAlert);
        client.Dispose();
    }

    [Fact]
    public void ClientCertificate13_Truncated_DecodeError()
    {
        var client = new TlsTestClient(new TlsTestClientOptions { CompatibilitySessionId = false }) { HoldFinished = true };
        using var server = new ServerDriver(Config(TlsClientAuth.Require));
        client.Start();
        client.Feed(server.Feed(client.TakeOutput()));
        client.WriteEncrypted(TlsContentType.Handshake, [11, 0, 0, 4, 0, 0, 0, 9]);
        client.Feed(server.Feed(client.TakeOutput()));
        Assert.Equal(TlsAlertDescription.DecodeError, server.Connection.LocalAlert);
        client.Dispose();
    }

    [Fact]
    public void ClientCertificate_ResumedSession_SubjectCarriedInTicket()
    {
        using var keys = TlsTicketKeys.CreateRandom(DateTimeOffset.UtcNow);
        // Tickets go after the client Finished when a certificate is requested, even if the flight option is on.
        var config = Config(TlsClientAuth.Require, keys, ticketInFlight: true);
        var (client, server) = Pump.Handshake(config, new TlsTestClientOptions { ClientCertificate = GoodEcdsa });
        using var _c = client; using var _s = server;
        TlsTestTicket ticket = Assert.Single(client.Tickets);
        var (client2, server2) = Pump.Handshake(config, new TlsTestClientOptions { Resume = ticket });
        using var _c2 = client2; using var _s2 = server2;
        Assert.True(server2.Connection.IsResumed);
        Assert.False(client2.CertificateRequested); // RFC 8446 §4.3.2: no CertificateRequest with a PSK
        Assert.Equal(GoodEcdsa.RawData, server2.Connection.ClientCertificateDer);

        var (first12, firstServer12) = Pump12.Handshake(config, new Tls12TestClientOptions { ClientCertificate = GoodRsa, SessionTicket = [] });
        using var _f = first12; using var _fs = firstServer12;
        var (resumed12, resumedServer12) = Pump12.Handshake(config, new Tls12TestClientOptions { SessionTicket = first12.Ticket, SessionId = new byte[32] }, resumeMaster: first12.MasterSecret);
        using var _r = resumed12; using var _rs = resumedServer12;
        Assert.True(resumedServer12.Connection.IsResumed);
        Assert.Contains("CN=client.example.test", resumedServer12.Connection.ClientCertificateSubject);
    }

    [Fact]
    public void ClientCertificate_TicketWithoutCertificate_NotResumedWhenRequired()
    {
        using var keys = TlsTicketKeys.CreateRandom(DateTimeOffset.UtcNow);
        var open = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], TicketKeys = keys };
        var (client, server) = Pump.Handshake(open);
        using var _c = client; using var _s = server;
        var (client2, server2) = Pump.Handshake(Config(TlsClientAuth.Require, keys), new TlsTestClientOptions { Resume = client.Tickets[0], ClientCertificate = GoodEcdsa });
        using var _c2 = client2; using var _s2 = server2;
        Assert.True(client2.HandshakeComplete, client2.Error);
        Assert.False(server2.Connection.IsResumed);
        Assert.NotNull(server2.Connection.ClientCertificateDer);
    }

    [Fact]
    public void ClientCertificate13_PeerPlaintextAlertWhileServerWaitsForCertificate_FailedWithPeerAlert()
    {
        var client = new TlsTestClient(new TlsTestClientOptions { CompatibilitySessionId = false }) { HoldFinished = true };
        using var server = new ServerDriver(Config(TlsClientAuth.Require));
        client.Start();
        client.Feed(server.Feed(client.TakeOutput()));
        server.Feed([21, 3, 3, 0, 2, 2, (byte)TlsAlertDescription.BadCertificate]);
        Assert.Equal(TlsStatus.Failed, server.Last);
        Assert.Equal(TlsAlertDescription.BadCertificate, server.Connection.PeerAlert);
        Assert.Null(server.Connection.LocalAlert);
        client.Dispose();
    }

    [Fact]
    public void ClientCertificate_NeedsServerConfigPause_Tls12StillRequestsCertificate()
    {
        using var client = new Tls12TestClient(new Tls12TestClientOptions { ClientCertificate = GoodEcdsa });
        using var server = new ServerDriver(null, lateConfig: Config(TlsClientAuth.Require));
        client.Start();
        Pump12.Run(client, server);
        Assert.Contains(TlsStatus.NeedsServerConfig, server.Statuses);
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.NotNull(server.Connection.ClientCertificateSubject);
    }
}
