using Bufferless.Tls;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Packets.Tests.Simulation;

/// <summary>How a simulated client starts its TLS session.</summary>
public enum SimHandshake
{
    Full,
    /// <summary>TLS 1.3 PSK (RFC 8446 §2.2) with a ticket from an earlier session.</summary>
    Tls13Resumed,
    /// <summary>TLS 1.2 abbreviated handshake with an RFC 5077 ticket.</summary>
    Tls12Resumed,
}

/// <summary>The TLS client the simulator drives: the TLS 1.3 or the TLS 1.2 test client behind one face.</summary>
internal interface ISimTlsClient : IDisposable
{
    void Start();
    void Feed(ReadOnlySpan<byte> bytes);
    byte[] TakeOutput();
    bool HandshakeComplete { get; }
    bool Resumed { get; }
    void SendApplicationData(ReadOnlySpan<byte> data);
    void SendCloseNotify();
    /// <summary>TLS 1.3 only (RFC 8446 §4.6.3).</summary>
    void SendKeyUpdate(bool request);
    /// <summary>KeyUpdates the engine sent that the client took.</summary>
    int KeyUpdatesReceived { get; }
    List<byte> ApplicationData { get; }
    string? Error { get; }
    TlsAlertDescription? ReceivedAlert { get; }
}

internal sealed class SimTls13Client(TlsTestClientOptions options) : ISimTlsClient
{
    public TlsTestClient Inner { get; } = new(options);
    public void Start() => Inner.Start();
    public void Feed(ReadOnlySpan<byte> bytes) => Inner.Feed(bytes);
    public byte[] TakeOutput() => Inner.TakeOutput();
    public bool HandshakeComplete => Inner.HandshakeComplete;
    public bool Resumed => Inner.PskAccepted;
    public void SendApplicationData(ReadOnlySpan<byte> data) => Inner.SendApplicationData(data);
    public void SendCloseNotify() => Inner.SendCloseNotify();
    public void SendKeyUpdate(bool request) => Inner.SendKeyUpdate(request);
    public int KeyUpdatesReceived => Inner.KeyUpdatesReceived;
    public List<byte> ApplicationData => Inner.ApplicationData;
    public string? Error => Inner.Error;
    public TlsAlertDescription? ReceivedAlert => Inner.ReceivedAlert;
    public void Dispose() => Inner.Dispose();
}

internal sealed class SimTls12Client(Tls12TestClientOptions options, byte[]? resumeMaster) : ISimTlsClient
{
    public Tls12TestClient Inner { get; } = new(options) { ResumeMaster = resumeMaster };
    public void Start() => Inner.Start();
    public void Feed(ReadOnlySpan<byte> bytes) => Inner.Feed(bytes);
    public byte[] TakeOutput() => Inner.TakeOutput();
    public bool HandshakeComplete => Inner.HandshakeComplete;
    public bool Resumed => Inner.Resumed;
    public void SendApplicationData(ReadOnlySpan<byte> data) => Inner.SendApplicationData(data);
    public void SendCloseNotify() => Inner.SendCloseNotify();
    public void SendKeyUpdate(bool request) => throw new NotSupportedException("TLS 1.2 has no KeyUpdate");
    public int KeyUpdatesReceived => 0;
    public List<byte> ApplicationData => Inner.ApplicationData;
    public string? Error => Inner.Error;
    public TlsAlertDescription? ReceivedAlert => Inner.ReceivedAlert;
    public void Dispose() => Inner.Dispose();
}

/// <summary>Tickets for resumed seeds: an earlier session run in memory against a server sharing the engine's ticket keys.</summary>
internal static class SimTickets
{
    private static readonly Lazy<TlsTicketKeys> s_keys = new(() => TlsTicketKeys.CreateRandom(DateTimeOffset.UtcNow));

    public static TlsTicketKeys Keys => s_keys.Value;

    public static TlsServerConfig ServerConfig(TlsCipherSuite suite, bool tls12, bool ticketWithFlight = true) => new()
    {
        Certificates = SimCertificate.Config.Certificates,
        CipherSuites = tls12 ? SimCertificate.Config.CipherSuites : [suite],
        Tls12CipherSuites = tls12 ? [suite] : SimCertificate.Config.Tls12CipherSuites,
        TicketKeys = Keys,
        // DESIGN.md §6: the ticket rides in the handshake flight, the only bytes the engine must retransmit.
        TicketWithServerFlight = ticketWithFlight,
    };

    public static TlsTestTicket Tls13Ticket(TlsCipherSuite suite)
    {
        // The earlier session's ticket follows the client's Finished (the test client computes the PSK only then).
        var config = ServerConfig(suite, tls12: false, ticketWithFlight: false);
        var (client, server) = Pump.Handshake(config, new TlsTestClientOptions { Suites = [suite] });
        using (client)
        using (server)
        {
            if (client.Tickets.Count == 0)
                throw new InvalidOperationException("no TLS 1.3 ticket: " + client.Error);
            return client.Tickets[0];
        }
    }

    public static (byte[] Ticket, byte[] Master) Tls12Ticket(TlsCipherSuite suite)
    {
        var (client, server) = Pump12.Handshake(ServerConfig(suite, tls12: true), new Tls12TestClientOptions { Suites = [suite], SessionTicket = [] });
        using (client)
        using (server)
        {
            if (client.Ticket is null || client.MasterSecret is null)
                throw new InvalidOperationException("no TLS 1.2 ticket: " + client.Error);
            return (client.Ticket, client.MasterSecret.ToArray());
        }
    }
}
