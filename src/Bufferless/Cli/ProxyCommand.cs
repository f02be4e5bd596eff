using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Bufferless.Proxy;
using Bufferless.Tls;
using Microsoft.Extensions.Logging;

namespace Bufferless.Cli;

/// <summary><c>bufferless proxy</c>: the socket full proxy, TLS in on --listen, plain TCP out to the --backend pool.</summary>
internal static class ProxyCommand
{
    public static Command Create()
    {
        var listen = new Option<string[]>("--listen") { Description = "Address to accept TLS on, ADDR:PORT (repeatable), e.g. 0.0.0.0:443, [::]:443.", Required = true, AllowMultipleArgumentsPerToken = false };
        var backend = new Option<string[]>("--backend") { Description = "Plain-TCP backend HOST:PORT (repeatable; round robin).", Required = true };
        var check = new Option<bool>("--check")
        {
            Description = "Check the configuration and exit (0 when it would start, 1 with the reason when not): certificates and keys, "
                + "ticket keys, client CAs, addresses. Prints what would be served and when each certificate expires. Binds nothing.",
        };
        var tls = new TlsOptions();
        var common = new CommonProxyOptions();
        var cmd = new Command("proxy", "Run the socket full proxy: terminates TLS and forwards plaintext to the backends. Needs no privileges. SIGHUP reloads certificates and ticket keys, SIGUSR1 logs the counters, SIGTERM drains and stops.")
        {
            listen, backend, check,
        };
        tls.AddTo(cmd);
        common.AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var listenEps = new List<IPEndPoint>();
            foreach (string l in parse.GetValue(listen)!)
            {
                if (!EndPoints.TryParseListen(l, out var ep, out string err))
                    return Fail(err);
                listenEps.Add(ep);
            }
            var backendEps = new List<EndPoint>();
            foreach (string b in parse.GetValue(backend)!)
            {
                if (!EndPoints.TryParseBackend(b, out var ep, out string err))
                    return Fail(err);
                backendEps.Add(ep);
            }
            var loader = tls.CreateLoader(parse);
            var options = common.Build(parse, listenEps, backendEps);
            if (parse.GetValue(check))
                return Check(options, loader, common.GetMetrics(parse));
            return await RunAsync(options, loader, common.GetLogLevel(parse), onStarted: null, common.GetMetrics(parse), common.GetLogFormat(parse)).ConfigureAwait(false);
        });
        return cmd;
    }

    /// <summary>
    /// <c>--check</c>: loads everything a start would load (as SIGHUP reloads do) and prints it, like <c>nginx -t</c>
    /// or <c>haproxy -c</c>, without binding: a running instance may hold the addresses.
    /// </summary>
    internal static int Check(ProxyOptions options, TlsConfigLoader tls, string? metricsAddress)
    {
        if (!tls.TryLoad(out var config, out string error))
            return Fail(error);
        if (metricsAddress is not null && !EndPoints.TryParseListen(metricsAddress, out _, out error))
            return Fail("--metrics: " + error);
        var now = DateTimeOffset.UtcNow;
        Console.WriteLine("configuration ok");
        Console.WriteLine($"  listen   {string.Join(", ", options.Listen)}");
        Console.WriteLine($"  backends {string.Join(", ", options.Backends)}");
        foreach (var c in config!.Certificates)
            Console.WriteLine($"  certificate {c.Subject} ({Describe(c.KeyType)}), names {string.Join(", ", c.Names)}, expires {c.NotAfter:yyyy-MM-dd HH:mm} UTC ({CertificateExpiry.Remaining(c.NotAfter - now)})");
        Console.WriteLine($"  TLS {(config.AllowTls12 ? "1.2 and 1.3" : "1.3 only")}, ALPN {(config.ApplicationProtocols is { Count: > 0 } a ? string.Join(",", a) : "none")}, "
            + $"tickets {(config.TicketKeys is null ? "off" : config.TicketKeys.RotationInterval is { } every ? $"on (random keys, new every {every.TotalHours:0.#} h)" : $"on ({config.TicketKeys.KeyCount} key(s) from the file)")}, "
            + $"client certificates {config.ClientAuth.ToString().ToLowerInvariant()}");
        foreach (string warning in CertificateExpiry.Warnings(config.Certificates, now))
            Console.WriteLine("warning: " + warning);
        return 0;
    }

    private static string Describe(TlsCertificateKeyType type) => type switch
    {
        TlsCertificateKeyType.EcdsaP256 => "ECDSA P-256",
        TlsCertificateKeyType.EcdsaP384 => "ECDSA P-384",
        _ => "RSA",
    };

    /// <summary>An exception's message for an operator: without the " (Parameter 'keyPem')" an ArgumentException appends.</summary>
    internal static string Reason(Exception e) =>
        e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "") : e.Message;

    internal static int Fail(string message)
    {
        Console.Error.WriteLine("bufferless: " + message);
        return 1;
    }

    /// <summary>The proxy's counters (the SIGUSR1 line) as Prometheus metrics, read at each scrape.</summary>
    private static void RegisterMetrics(MetricsEndpoint m, ProxyServer server, Func<long> reloads, Func<long> reloadFailures)
    {
        ProxyStats s = server.Stats;
        m.Counter("bufferless_proxy_connections_accepted_total", "Client connections accepted.", () => s.Accepted.Value);
        m.Gauge("bufferless_proxy_connections_active", "Client connections open now.", () => server.ActiveConnections);
        m.Gauge("bufferless_proxy_connections_max", "The --max-connections limit; accepting pauses at it.", () => server.Options.MaxConnections);
        m.Counter("bufferless_proxy_connections_refused_per_client_total", "Connections reset at accept because their client address was at --max-connections-per-client.", () => s.RefusedPerClient.Value);
        m.Counter("bufferless_proxy_handshakes_total", "TLS handshakes completed (full and resumed).", () => s.Handshakes.Value);
        m.Counter("bufferless_proxy_resumed_total", "Connections whose handshake resumed a session (counted when they end).", () => s.Resumed.Value);
        m.Counter("bufferless_proxy_tls_failures_total", "Connections ended by a TLS error (an alert sent or received, a bad record).", () => s.TlsFailures.Value);
        m.Counter("bufferless_proxy_backend_connect_failures_total", "Backend connections that could not be made.", () => s.BackendConnectFailures.Value);
        m.Gauge("bufferless_proxy_backend_up", "1 when the backend is tried first, 0 while it is passed over after a failed connect (--backend-fail-timeout).", "backend",
            () => server.BackendStates.Select(b => (b.Backend.ToString()!, b.Up ? 1.0 : 0.0)));
        m.Counter("bufferless_proxy_client_received_bytes_total", "TLS bytes received from clients (counted when a connection ends).", () => s.BytesFromClients.Value);
        m.Counter("bufferless_proxy_client_sent_bytes_total", "TLS bytes sent to clients (counted when a connection ends).", () => s.BytesToClients.Value);
        m.Counter("bufferless_reloads_total", "SIGHUP reloads that took effect.", reloads);
        m.Counter("bufferless_reload_failures_total", "SIGHUP reloads refused (the running configuration was kept).", reloadFailures);
        m.CertificateExpiry(() => server.TlsConfig.Certificates.Select(c => (c.Subject, c.NotAfter)));
    }

    internal static bool TryLoadCertificate(FileInfo certFile, FileInfo keyFile, out TlsCertificate? certificate, out string error)
    {
        certificate = null;
        try
        {
            certificate = TlsCertificate.FromPem(File.ReadAllText(certFile.FullName), File.ReadAllText(keyFile.FullName));
            error = "";
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read certificate or key: {e.Message}";
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or NotSupportedException)
        {
            error = $"bad certificate or key ({certFile.Name}, {keyFile.Name}): {Reason(e)}";
        }
        return false;
    }

    internal static async Task<int> RunAsync(ProxyOptions options, TlsConfigLoader tls, LogLevel level, Action<ProxyServer>? onStarted,
        string? metricsAddress = null, LogFormat logFormat = LogFormat.Text)
    {
        if (!tls.TryLoad(out var config, out string error))
            return Fail(error);
        using var loggers = Logging.Create(level, logFormat);
        var log = loggers.CreateLogger("Bufferless");
        var server = new ProxyServer(options, config!, loggers);
        foreach (string warning in CertificateExpiry.Warnings(config!.Certificates, DateTimeOffset.UtcNow))
            log.LogWarning("{Warning}", warning);
        if (options.WarmupHandshakes > 0)
        {
            var warm = HandshakeWarmup.Run(config!, options.WarmupHandshakes);
            if (warm.Failure is null)
                log.LogInformation("warm-up: {Handshakes} in-memory handshakes ({Resumed} resumed) in {Ms:F0} ms", warm.Handshakes, warm.Resumed, warm.Elapsed.TotalMilliseconds);
            else
                log.LogInformation("warm-up skipped after {Handshakes} handshakes: {Reason}", warm.Handshakes, warm.Failure);
        }
        long reloads = 0, reloadFailures = 0;
        MetricsEndpoint? metrics = null;
        if (metricsAddress is not null)
        {
            if (!MetricsEndpoint.TryStart(metricsAddress, m => RegisterMetrics(m, server, () => reloads, () => reloadFailures), out metrics, out error))
                return Fail(error);
            log.LogInformation("metrics on {Url}", metrics!.Url);
        }
        using var metricsLifetime = metrics;
        try
        {
            server.Bind();
        }
        catch (SocketException e)
        {
            return Fail($"cannot listen on {string.Join(", ", options.Listen)}: {e.Message}");
        }
        onStarted?.Invoke(server);
        using var shutdown = new Shutdown();
        // SIGHUP: reload certificates for new connections; established ones keep the configuration they started with.
        using var reload = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            if (tls.TryLoad(out var fresh, out string reason))
            {
                server.UpdateTlsConfig(fresh!);
                Interlocked.Increment(ref reloads);
                log.LogInformation("reload: {What}", tls.Describe());
                foreach (string warning in CertificateExpiry.Warnings(fresh!.Certificates, DateTimeOffset.UtcNow))
                    log.LogWarning("{Warning}", warning);
            }
            else
            {
                Interlocked.Increment(ref reloadFailures);
                log.LogError("reload failed, keeping the running configuration: {Reason}", reason);
            }
        });
        var counters = loggers.CreateLogger(Logging.CountersCategory);
        void Report() => counters.LogInformation("counters: active={Active} {Stats}", server.ActiveConnections, server.Stats);
        using var usr1 = PosixSignalRegistration.Create((PosixSignal)10 /* SIGUSR1 */, c => { c.Cancel = true; Report(); });
        await server.RunAsync(shutdown.Token).ConfigureAwait(false);
        Report();
        return 0;
    }
}

/// <summary>Timeouts, limits and logging shared by the proxy-like commands.</summary>
internal sealed class CommonProxyOptions
{
    private readonly Option<double> _handshakeTimeout = new("--handshake-timeout") { Description = "Seconds from accept to a finished handshake.", DefaultValueFactory = _ => 10 };
    private readonly Option<double> _idleTimeout = new("--idle-timeout") { Description = "Seconds without traffic before a connection is closed.", DefaultValueFactory = _ => 300 };
    private readonly Option<double> _connectTimeout = new("--connect-timeout") { Description = "Seconds per backend connect attempt.", DefaultValueFactory = _ => 5 };
    private readonly Option<double> _backendFailTimeout = new("--backend-fail-timeout")
    {
        Description = "Seconds a backend whose connect failed is tried only after the others (like nginx's fail_timeout); 0: every backend in turn.",
        DefaultValueFactory = _ => 10,
    };
    private readonly Option<double> _drainTimeout = new("--drain-timeout") { Description = "Seconds to let connections finish on SIGTERM.", DefaultValueFactory = _ => 30 };
    private readonly Option<int> _maxConnections = new("--max-connections") { Description = "Concurrent client connections; above it accepting pauses.", DefaultValueFactory = _ => 10_000 };
    private readonly Option<int> _maxPerClient = new("--max-connections-per-client")
    {
        Description = "Open connections allowed from one client address; above it a new one is reset at once (0: no limit). Mind clients behind one NAT.",
        DefaultValueFactory = _ => 0,
    };
    private readonly Option<bool> _connectEarly = new("--connect-early") { Description = "Connect to the backend when the handshake completes (for server-speaks-first protocols) instead of on the first request byte." };
    private readonly Option<string> _proxyProtocol = new("--proxy-protocol")
    {
        Description = "Send a PROXY protocol header to the backend: v1 (text) or v2 (binary, with SNI, ALPN, TLS version and cipher TLVs).",
    };
    private readonly Option<int> _warmup = new("--warmup")
    {
        Description = "In-memory TLS handshakes (a full one, then resumed ones) run at start, so the first clients do not wait for the handshake code to compile. 0 turns it off.",
        DefaultValueFactory = _ => 2,
    };
    private readonly Option<string?> _metrics = MetricsEndpoint.CreateOption();
    private readonly Option<LogFormat> _logFormat = Logging.CreateFormatOption();
    private readonly Option<Microsoft.Extensions.Logging.LogLevel> _logLevel = new("--log-level") { Description = "Trace, Debug, Information (one line per connection), Warning, Error, None.", DefaultValueFactory = _ => Microsoft.Extensions.Logging.LogLevel.Information };

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(_handshakeTimeout);
        cmd.Options.Add(_idleTimeout);
        cmd.Options.Add(_connectTimeout);
        cmd.Options.Add(_backendFailTimeout);
        cmd.Options.Add(_drainTimeout);
        cmd.Options.Add(_maxConnections);
        cmd.Options.Add(_maxPerClient);
        cmd.Options.Add(_connectEarly);
        _proxyProtocol.AcceptOnlyFromAmong("v1", "v2");
        cmd.Options.Add(_proxyProtocol);
        cmd.Options.Add(_warmup);
        cmd.Options.Add(_metrics);
        cmd.Options.Add(_logLevel);
        cmd.Options.Add(_logFormat);
    }

    public LogLevel GetLogLevel(ParseResult parse) => parse.GetValue(_logLevel);

    public string? GetMetrics(ParseResult parse) => parse.GetValue(_metrics);

    public LogFormat GetLogFormat(ParseResult parse) => parse.GetValue(_logFormat);

    public ProxyOptions Build(ParseResult parse, IReadOnlyList<IPEndPoint> listen, IReadOnlyList<EndPoint> backends) => new()
    {
        Listen = listen,
        Backends = backends,
        HandshakeTimeout = TimeSpan.FromSeconds(parse.GetValue(_handshakeTimeout)),
        IdleTimeout = TimeSpan.FromSeconds(parse.GetValue(_idleTimeout)),
        ConnectTimeout = TimeSpan.FromSeconds(parse.GetValue(_connectTimeout)),
        BackendFailTimeout = TimeSpan.FromSeconds(Math.Max(0, parse.GetValue(_backendFailTimeout))),
        DrainTimeout = TimeSpan.FromSeconds(parse.GetValue(_drainTimeout)),
        MaxConnections = Math.Max(1, parse.GetValue(_maxConnections)),
        MaxConnectionsPerClient = Math.Max(0, parse.GetValue(_maxPerClient)),
        ConnectBackendEarly = parse.GetValue(_connectEarly),
        WarmupHandshakes = Math.Max(0, parse.GetValue(_warmup)),
        ProxyProtocol = parse.GetValue(_proxyProtocol) switch
        {
            "v1" => ProxyProtocolVersion.V1,
            "v2" => ProxyProtocolVersion.V2,
            _ => ProxyProtocolVersion.None,
        },
    };
}
