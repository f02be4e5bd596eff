using System.CommandLine;
using System.Net;
using System.Reflection;
using Prometheus;

namespace Bufferless.Cli;

/// <summary>
/// <c>--metrics ADDR:PORT</c>: a Prometheus endpoint (<c>GET /metrics</c>, text format) served by prometheus-net's
/// HttpListener server from a registry of its own.
/// </summary>
/// <remarks>
/// Nothing is added to the packet or record path: the commands keep their plain counters (the ones SIGUSR1 logs) and a
/// callback copies them into the registry just before each scrape. Beside them the registry has prometheus-net's
/// process and runtime figures (CPU seconds, resident and virtual memory, open handles, threads, start time, GC counts
/// and heap size), but not its EventCounter and Meter listeners, which would run inside the process all the time.
/// </remarks>
internal sealed class MetricsEndpoint : IDisposable
{
    private readonly MetricServer _server;

    private MetricsEndpoint(MetricServer server, CollectorRegistry registry, string url)
    {
        _server = server;
        Url = url;
        Registry = registry;
        Factory = Metrics.WithCustomRegistry(registry);
    }

    public CollectorRegistry Registry { get; }

    public IMetricFactory Factory { get; }

    /// <summary>Where it serves, e.g. http://127.0.0.1:9100/metrics.</summary>
    public string Url { get; }

    /// <summary>The option, shared by the commands that have counters.</summary>
    public static Option<string?> CreateOption() => new("--metrics")
    {
        HelpName = "ADDR:PORT",
        Description = "Serve Prometheus metrics on http://ADDR:PORT/metrics (e.g. 127.0.0.1:9100): the counters SIGUSR1 logs, "
            + "certificate expiry, process CPU and memory. Off by default; bind it to a management address, it has no authentication.",
    };

    /// <summary>
    /// Starts the endpoint on <paramref name="text"/> (ADDR:PORT) after <paramref name="register"/> has added the
    /// command's metrics; false with a one-line reason when the address is malformed or cannot be bound.
    /// </summary>
    public static bool TryStart(string text, Action<MetricsEndpoint> register, out MetricsEndpoint? endpoint, out string error)
    {
        endpoint = null;
        if (!EndPoints.TryParseListen(text, out var ep, out error))
        {
            error = "--metrics: " + error;
            return false;
        }
        var registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);
        var server = new MetricServer(HostFor(ep.Address), ep.Port, "metrics/", registry);
        var created = new MetricsEndpoint(server, registry, $"http://{ep}/metrics");
        var info = created.Factory.CreateGauge("bufferless_build_info", "Always 1; the version label is the running build.", ["version"]);
        info.WithLabels(Version).Set(1);
        register(created);
        try
        {
            server.Start();
        }
        catch (Exception e) when (e is HttpListenerException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            server.Dispose();
            error = $"cannot serve metrics on {text}: {e.Message}";
            return false;
        }
        endpoint = created;
        return true;
    }

    /// <summary>
    /// A counter whose value is read from <paramref name="read"/> at each scrape. The source only ever grows (the
    /// commands' counters are monotonic), so IncTo keeps the Prometheus counter equal to it.
    /// </summary>
    public void Counter(string name, string help, Func<long> read)
    {
        var counter = Factory.CreateCounter(name, help);
        Registry.AddBeforeCollectCallback(() => counter.IncTo(read()));
    }

    /// <summary>A counter with one label, one series per value <paramref name="read"/> yields (each monotonic).</summary>
    public void Counter(string name, string help, string label, Func<IEnumerable<(string Value, long Count)>> read)
    {
        var counter = Factory.CreateCounter(name, help, [label]);
        Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var (value, count) in read())
                counter.WithLabels(value).IncTo(count);
        });
    }

    /// <summary>A gauge with one label, one series per value <paramref name="read"/> yields.</summary>
    public void Gauge(string name, string help, string label, Func<IEnumerable<(string Value, double Amount)>> read)
    {
        var gauge = Factory.CreateGauge(name, help, [label]);
        Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var (value, amount) in read())
                gauge.WithLabels(value).Set(amount);
        });
    }

    /// <summary>"TableFull" -> "table_full": enum names as Prometheus label values.</summary>
    public static string SnakeCase(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));

    /// <summary>A gauge set from <paramref name="read"/> at each scrape.</summary>
    public void Gauge(string name, string help, Func<double> read)
    {
        var gauge = Factory.CreateGauge(name, help);
        Registry.AddBeforeCollectCallback(() => gauge.Set(read()));
    }

    /// <summary>
    /// Certificate expiry, one series per loaded leaf certificate (label: its subject), from <paramref name="current"/>
    /// at each scrape, so a reload that replaces a certificate replaces its series too.
    /// </summary>
    public void CertificateExpiry(Func<IEnumerable<(string Subject, DateTimeOffset NotAfter)>> current)
    {
        var gauge = Factory.CreateGauge("bufferless_certificate_expiry_timestamp_seconds",
            "When each served certificate expires (its notAfter), Unix seconds; the subject label names it.", ["subject"]);
        var published = new HashSet<string>(StringComparer.Ordinal);
        Registry.AddBeforeCollectCallback(() =>
        {
            // Two scrapers at once run this twice at once: one at a time keeps the set of published series whole.
            lock (published)
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (subject, notAfter) in current())
                {
                    if (seen.Add(subject))
                        gauge.WithLabels(subject).Set(notAfter.ToUnixTimeSeconds());
                }
                foreach (string gone in published.Where(s => !seen.Contains(s)).ToList())
                    gauge.RemoveLabelled(gone);
                published.Clear();
                published.UnionWith(seen);
            }
        });
    }

    public void Dispose() => _server.Dispose();

    private static string HostFor(IPAddress address) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "+"
        : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]"
        : address.ToString();

    private static string Version =>
        typeof(MetricsEndpoint).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
