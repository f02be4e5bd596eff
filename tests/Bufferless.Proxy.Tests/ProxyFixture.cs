using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bufferless.Tls;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Bufferless.Proxy.Tests;

/// <summary>A proxy on loopback in front of backends the test controls, and SslStream clients that trust it.</summary>
internal sealed class ProxyHarness : IAsyncDisposable
{
    private static readonly Lazy<(X509Certificate2 Cert, byte[] Pfx)> s_cert = new(CreateCertificate);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public ProxyHarness(IReadOnlyList<EndPoint> backends, Func<ProxyOptions, ProxyOptions>? tweak = null)
    {
        var options = new ProxyOptions { Listen = [new IPEndPoint(IPAddress.Loopback, 0)], Backends = backends };
        if (tweak is not null)
            options = tweak(options);
        Server = new ProxyServer(options, new TlsServerConfig { Certificates = [LoadCertificate()] }, new LoggerFactory([Log]));
        Server.Bind();
        EndPoint = Server.BoundEndPoints[0];
        _run = Server.RunAsync(_stop.Token);
    }

    public ProxyServer Server { get; }

    /// <summary>What the proxy logged (Information and above), one formatted message per entry.</summary>
    public ListLogger Log { get; } = new();
    public IPEndPoint EndPoint { get; }

    public async Task<SslStream> ConnectAsync(CancellationToken ct = default)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(EndPoint, ct);
        var ssl = new SslStream(tcp.GetStream(), false, (_, cert, _, _) => cert is not null && cert.GetCertHashString() == s_cert.Value.Cert.GetCertHashString());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, ct);
        return ssl;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _run.WaitAsync(TimeSpan.FromSeconds(30));
        _stop.Dispose();
    }

    /// <summary>The harness's self-signed P-256 certificate for "localhost", with its key, as the TLS server takes it.</summary>
    public static TlsCertificate LoadCertificate()
    {
        using var withKey = X509CertificateLoader.LoadPkcs12(s_cert.Value.Pfx, null);
        return TlsCertificate.FromX509(withKey);
    }

    private static (X509Certificate2, byte[]) CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        req.CertificateExtensions.Add(san.Build());
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        byte[] pfx = cert.Export(X509ContentType.Pfx);
        return (X509CertificateLoader.LoadCertificate(cert.RawData), pfx);
    }
}

/// <summary>A plain TCP backend on loopback whose per-connection behaviour the test supplies.</summary>
internal sealed class TestBackend : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private int _accepted;

    public TestBackend(Func<NetworkStream, CancellationToken, Task> serve)
    {
        _listener.Start();
        _accept = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (OperationCanceledException) { return; }
                catch (SocketException) { return; }
                Interlocked.Increment(ref _accepted);
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        try { await serve(client.GetStream(), _stop.Token); }
                        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException) { }
                    }
                });
            }
        });
    }

    public EndPoint EndPoint => _listener.LocalEndpoint;
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Echoes every byte until the client half-closes, then closes.</summary>
    public static TestBackend Echo() => new(async (s, ct) =>
    {
        byte[] buf = new byte[16384];
        int n;
        while ((n = await s.ReadAsync(buf, ct)) > 0)
            await s.WriteAsync(buf.AsMemory(0, n), ct);
    });

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accept;
        _stop.Dispose();
    }
}

internal static class StreamExtensions
{
    public static async Task<byte[]> ReadToEndAsync(this Stream s, CancellationToken ct)
    {
        var ms = new MemoryStream();
        await s.CopyToAsync(ms, ct);
        return ms.ToArray();
    }

    /// <summary>A port with nothing listening (bound then closed).</summary>
    public static IPEndPoint DeadEndPoint()
    {
        using var l = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        l.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)l.LocalEndPoint!;
    }
}

/// <summary>A logger provider that keeps every message of Information and above, for tests to look at.</summary>
internal sealed class ListLogger : ILoggerProvider, ILogger
{
    private readonly ConcurrentQueue<string> _messages = new();

    public IReadOnlyList<string> Messages => [.. _messages];

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
            _messages.Enqueue(formatter(state, exception));
    }

    public void Dispose() { }
}
