using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Bufferless.Tls;
using Microsoft.Extensions.Logging;

namespace Bufferless.Proxy;

/// <summary>
/// The socket full proxy: accepts TLS clients on the listen addresses, terminates TLS with the sans-IO core and
/// forwards plaintext to the backends round robin. Stops accepting at <see cref="ProxyOptions.MaxConnections"/>;
/// on stop, closes the listeners, lets connections drain for <see cref="ProxyOptions.DrainTimeout"/>, then cuts them.
/// </summary>
public sealed class ProxyServer
{
    private readonly ConcurrentDictionary<ProxyConnection, byte> _active = new();
    private readonly ClientLimiter? _perClient;
    private long _refusedLogAt = long.MinValue / 4, _refusedSinceLog; // far enough back that the first refusal logs (no overflow)
    private readonly SemaphoreSlim _slots;
    private readonly List<Socket> _listeners = [];
    private volatile TlsServerConfig _tlsConfig;

    public ProxyServer(ProxyOptions options, TlsServerConfig tlsConfig, ILoggerFactory loggerFactory)
    {
        Options = options;
        _tlsConfig = tlsConfig;
        Backends = new BackendPool(options.Backends, options.BackendFailTimeout);
        _perClient = options.MaxConnectionsPerClient > 0 ? new ClientLimiter(options.MaxConnectionsPerClient) : null;
        Log = new ProxyLog(loggerFactory.CreateLogger("Bufferless.Proxy"));
        _slots = new SemaphoreSlim(options.MaxConnections, options.MaxConnections);
    }

    public ProxyOptions Options { get; }
    public ProxyStats Stats { get; } = new();
    public int ActiveConnections => _active.Count;
    internal BackendPool Backends { get; }
    internal ProxyLog Log { get; }

    /// <summary>The addresses actually bound (port 0 in the options becomes the kernel's choice).</summary>
    public IReadOnlyList<IPEndPoint> BoundEndPoints => _listeners.Select(l => (IPEndPoint)l.LocalEndPoint!).ToList();

    /// <summary>New connections use the new configuration; established ones keep theirs (reload).</summary>
    public void UpdateTlsConfig(TlsServerConfig config) => _tlsConfig = config;

    /// <summary>Each backend and whether it is tried first (false: a connect failed within the fail timeout).</summary>
    public IEnumerable<(EndPoint Backend, bool Up)> BackendStates => Enumerable.Range(0, Backends.Count).Select(i => (Backends[i], !Backends.IsDown(i)));

    /// <summary>The configuration new connections get (the latest one given to <see cref="UpdateTlsConfig"/>).</summary>
    public TlsServerConfig TlsConfig => _tlsConfig;

    /// <summary>Binds every listen address (throws a clear SocketException when one is taken).</summary>
    public void Bind()
    {
        foreach (IPEndPoint ep in Options.Listen)
        {
            Socket listener = CreateListener(ep, Options);
            _listeners.Add(listener);
            Log.Listening((IPEndPoint)listener.LocalEndPoint!);
        }
    }

    /// <summary>A bound, listening socket whose accepted connections have TCP_NODELAY already set.</summary>
    internal static Socket CreateListener(IPEndPoint ep, ProxyOptions options)
    {
        var listener = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            TcpHints.ReuseAddress(listener);
            if (ep.AddressFamily == AddressFamily.InterNetworkV6 && ep.Address.Equals(IPAddress.IPv6Any))
                listener.DualMode = true;
            // Linux copies TCP_NODELAY from the listener to every connection it accepts: one system call per connection
            // fewer than setting it on each (see AcceptLoopAsync).
            listener.NoDelay = true;
            listener.Bind(ep);
            TcpHints.DeferAccept(listener, (int)Math.Ceiling(options.HandshakeTimeout.TotalSeconds));
            listener.Listen(options.ListenBacklog);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Serves until <paramref name="stop"/> fires, then drains and returns.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        if (_listeners.Count == 0)
            Bind();
        var accepting = _listeners.Select(l => AcceptLoopAsync(l, stop)).ToList();
        var sweeper = SweepAsync(stop);
        await Task.WhenAll(accepting).ConfigureAwait(false);
        await sweeper.ConfigureAwait(false);
        await DrainAsync().ConfigureAwait(false);
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken stop)
    {
        using var registration = stop.Register(listener.Dispose);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await _slots.WaitAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || stop.IsCancellationRequested)
            {
                _slots.Release();
                return;
            }
            catch (SocketException e)
            {
                // EMFILE and friends: log, back off a little, keep serving the others.
                _slots.Release();
                Log.AcceptFailed(e.Message);
                await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            if (_perClient is not null && !_perClient.TryEnter(((IPEndPoint)client.RemoteEndPoint!).Address))
            {
                RefuseOverClientLimit(client);
                continue;
            }
            // Our records leave in whole writes; Nagle would only hold the last part of a flight. On Linux the socket
            // has TCP_NODELAY from the listener already.
            if (!OperatingSystem.IsLinux())
                client.NoDelay = true;
            var connection = new ProxyConnection(this, client, new TlsServerConnection(_tlsConfig));
            _active.TryAdd(connection, 0);
            Stats.Accepted.Increment();
            _ = connection.RunAsync();
        }
    }

    /// <summary>
    /// A connection over --max-connections-per-client: reset at once (no handshake, no backend), counted, and logged
    /// at most once a second with how many were refused since, so a flood cannot flood the log too.
    /// </summary>
    private void RefuseOverClientLimit(Socket client)
    {
        Stats.RefusedPerClient.Increment();
        var from = client.RemoteEndPoint;
        try
        {
            client.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }
        client.Dispose();
        _slots.Release();
        long refused = Interlocked.Increment(ref _refusedSinceLog);
        long now = Environment.TickCount64;
        long last = Interlocked.Read(ref _refusedLogAt);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _refusedLogAt, now, last) == last)
        {
            Interlocked.Add(ref _refusedSinceLog, -refused);
            Log.RefusedOverClientLimit(from, _perClient!.Limit, refused);
        }
    }

    private async Task SweepAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
                CheckTimeouts();
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void CheckTimeouts()
    {
        long now = Environment.TickCount64;
        foreach (var connection in _active.Keys)
            connection.CheckTimeouts(now, Options);
    }

    private async Task DrainAsync()
    {
        if (_active.IsEmpty)
            return;
        Log.Draining(_active.Count, Options.DrainTimeout);
        var deadline = DateTime.UtcNow + Options.DrainTimeout;
        while (!_active.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100).ConfigureAwait(false);
            CheckTimeouts();
        }
        foreach (var connection in _active.Keys)
            connection.Abort("shutdown");
        for (int i = 0; i < 50 && !_active.IsEmpty; i++)
            await Task.Delay(20).ConfigureAwait(false);
    }

    internal void OnConnectionEnded(ProxyConnection connection, in ConnectionSummary summary)
    {
        if (_active.TryRemove(connection, out _))
        {
            _slots.Release();
            if (_perClient is not null && connection.RemoteEndPoint is IPEndPoint client)
                _perClient.Exit(client.Address);
        }
        if (summary.Resumed)
            Stats.Resumed.Increment();
        Stats.BytesFromClients.Add(summary.BytesFromClient);
        Stats.BytesToClients.Add(summary.BytesToClient);
        Log.ConnectionEnded(summary);
    }
}

/// <summary>Counters, readable while running.</summary>
public sealed class ProxyStats
{
    public Counter Accepted { get; } = new();
    public Counter Handshakes { get; } = new();
    public Counter Resumed { get; } = new();
    public Counter TlsFailures { get; } = new();
    public Counter BackendConnectFailures { get; } = new();
    public Counter RefusedPerClient { get; } = new();
    public Counter BytesFromClients { get; } = new();
    public Counter BytesToClients { get; } = new();

    /// <summary>One line for the log (SIGUSR1 and exit): the counters, then the runtime's allocation and collections.</summary>
    public override string ToString() =>
        $"accepted={Accepted.Value} handshakes={Handshakes.Value} resumed={Resumed.Value} tls_failures={TlsFailures.Value} " +
        $"backend_connect_failures={BackendConnectFailures.Value} refused_per_client={RefusedPerClient.Value} bytes_from_clients={BytesFromClients.Value} " +
        $"bytes_to_clients={BytesToClients.Value} allocated={GC.GetTotalAllocatedBytes()} " +
        $"gc={GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} gc_pause_ms={GC.GetTotalPauseDuration().TotalMilliseconds:F1} " +
        $"heap={GC.GetTotalMemory(false)}";

    public sealed class Counter
    {
        private long _value;
        public long Value => Volatile.Read(ref _value);
        public void Increment() => Interlocked.Increment(ref _value);
        public void Add(long n) => Interlocked.Add(ref _value, n);
    }
}
