using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Alpn;

/// <summary>RFC 7301: server preference from a configured list, none by default, no_application_protocol on no overlap.</summary>
public class AlpnTests
{
    private static TlsServerConfig Config(params string[]? protocols) => new()
    {
        Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)],
        ApplicationProtocols = protocols,
    };

    [Fact]
    public void Alpn13_NotConfigured_NoneNegotiated()
    {
        var (client, server) = Pump.Handshake(Config(null), new TlsTestClientOptions { Alpn = ["h2", "http/1.1"] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Null(client.Alpn);
        Assert.Null(server.Connection.ApplicationProtocol);
    }

    [Fact]
    public void Alpn13_ServerPreferenceWins()
    {
        var (client, server) = Pump.Handshake(Config("http/1.1", "h2"), new TlsTestClientOptions { Alpn = ["h2", "http/1.1"] });
        using var _c = client; using var _s = server;
        Assert.Equal("http/1.1", client.Alpn);
        Assert.Equal("http/1.1", server.Connection.ApplicationProtocol);
    }

    [Fact]
    public void Alpn13_ClientSendsNone_NoneNegotiated()
    {
        var (client, server) = Pump.Handshake(Config("h2"), new TlsTestClientOptions { Alpn = null });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Null(server.Connection.ApplicationProtocol);
    }

    [Fact]
    public void Alpn12_ServerPreferenceWins()
    {
        var (client, server) = Pump12.Handshake(Config("h2", "http/1.1"), new Tls12TestClientOptions { Alpn = ["http/1.1", "h2"] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal("h2", client.Alpn);
        Assert.Equal("h2", server.Connection.ApplicationProtocol);
    }

    [Fact]
    public void Alpn12_NoOverlap_NoApplicationProtocol()
    {
        var (client, server) = Pump12.Handshake(Config("h2"), new Tls12TestClientOptions { Alpn = ["spdy/3"] });
        using var _c = client; using var _s = server;
        Assert.Equal(TlsAlertDescription.NoApplicationProtocol, server.Connection.LocalAlert);
        Assert.Equal(TlsAlertDescription.NoApplicationProtocol, client.ReceivedAlert);
    }

    [Fact]
    public void Alpn12_Resumed_NegotiatedAgain()
    {
        using var keys = TlsTicketKeys.CreateRandom(DateTimeOffset.UtcNow);
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], ApplicationProtocols = ["h2", "http/1.1"], TicketKeys = keys };
        var (first, firstServer) = Pump12.Handshake(config, new Tls12TestClientOptions { SessionTicket = [], Alpn = ["h2"] });
        using var _f = first; using var _fs = firstServer;
        var (client, server) = Pump12.Handshake(config, new Tls12TestClientOptions { SessionTicket = first.Ticket, SessionId = new byte[32], Alpn = ["http/1.1"] }, resumeMaster: first.MasterSecret);
        using var _c = client; using var _s = server;
        Assert.True(server.Connection.IsResumed);
        Assert.Equal("http/1.1", client.Alpn);
        Assert.Equal("http/1.1", server.Connection.ApplicationProtocol);
    }

    [Fact]
    public void Alpn_ClientEmptyProtocolName_DecodeError()
    {
        using var server = new TlsServerConnection(Config("h2"));
        Assert.Equal(TlsStatus.Failed, server.Process(new HelloBuilder().Set(16, [0, 4, 0, 2, (byte)'h', (byte)'2']).Record(), out _));
        Assert.Equal(TlsAlertDescription.DecodeError, server.LocalAlert);
    }
}
