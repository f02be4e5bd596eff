using System.Net;

namespace Bufferless.Proxy;

/// <summary>Everything the socket full proxy needs; the CLI fills it from flags (a record: tests vary one setting with <c>with</c>).</summary>
public sealed record ProxyOptions
{
    public required IReadOnlyList<IPEndPoint> Listen { get; init; }
    public required IReadOnlyList<EndPoint> Backends { get; init; }

    /// <summary>From accept to the client's Finished.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>No byte in either direction for this long ends the connection.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Per backend attempt; the next backend is tried on failure.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A backend whose connect failed is tried only after the others for this long (nginx's fail_timeout); zero: plain
    /// round robin, every backend in turn.
    /// </summary>
    public TimeSpan BackendFailTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>On SIGTERM: how long established connections may run before they are cut.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Concurrent client connections; above it the proxy stops accepting (the kernel backlog queues).</summary>
    public int MaxConnections { get; init; } = 10_000;

    public int ListenBacklog { get; init; } = 4096;

    /// <summary>Open connections allowed from one client address (0: no limit); above it a new one is reset at once.</summary>
    public int MaxConnectionsPerClient { get; init; }

    /// <summary>
    /// Connect to a backend as soon as the handshake completes, for protocols where the server speaks first
    /// (SMTP, IMAP...). Off by default: the backend is connected on the client's first byte of application data.
    /// </summary>
    public bool ConnectBackendEarly { get; init; }

    /// <summary>
    /// In-memory handshakes run at start, before listening (<see cref="HandshakeWarmup"/>): a full one, then resumed
    /// ones. 0 turns the warm-up off.
    /// </summary>
    public int WarmupHandshakes { get; init; } = 2;

    /// <summary>Send a PROXY protocol header (v1 text or v2 binary with TLS TLVs) at the start of each backend connection.</summary>
    public ProxyProtocolVersion ProxyProtocol { get; init; }
}
