using Bufferless.Tls;

namespace Bufferless.Proxy.Tests;

public class HandshakeWarmupTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Run_WithTickets_FullThenResumedHandshakes(bool ticketWithServerFlight)
    {
        using var tickets = TlsTicketKeys.CreateRandom(DateTimeOffset.UtcNow);
        var config = new TlsServerConfig { Certificates = [ProxyHarness.LoadCertificate()], TicketKeys = tickets, TicketWithServerFlight = ticketWithServerFlight };

        var result = HandshakeWarmup.Run(config, rounds: 3);

        Assert.Null(result.Failure);
        Assert.Equal(3, result.Handshakes);
        // The first is full; the libssl client resumes the next ones with the ticket it was given.
        Assert.Equal(2, result.Resumed);
    }

    [Fact]
    public void Run_ClientCertificateRequired_ReportsFailureWithoutThrowing()
    {
        var config = new TlsServerConfig
        {
            Certificates = [ProxyHarness.LoadCertificate()],
            ClientAuth = TlsClientAuth.Require,
            ClientCertificateAuthorities = [],
        };

        var result = HandshakeWarmup.Run(config);

        Assert.NotNull(result.Failure);
        Assert.Equal(0, result.Handshakes);
    }

    [Fact]
    public void Run_KeyLogConfigured_WarmUpSessionsAreNotLogged()
    {
        int lines = 0;
        var config = new TlsServerConfig { Certificates = [ProxyHarness.LoadCertificate()], KeyLog = (_, _, _) => lines++ };

        var result = HandshakeWarmup.Run(config, rounds: 1);

        Assert.Equal(1, result.Handshakes);
        Assert.Equal(0, lines);
        Assert.NotNull(config.KeyLog);
    }
}
