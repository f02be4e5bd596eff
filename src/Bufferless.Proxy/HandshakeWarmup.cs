using System.Diagnostics;
using System.Net.Security;
using System.Security.Authentication;
using Bufferless.Tls;

namespace Bufferless.Proxy;

/// <summary>
/// Runs TLS handshakes against a server configuration in memory before the first client comes: a .NET SslStream
/// client (libssl underneath) talks to <see cref="TlsServerConnection"/> through a synchronous pipe, first a full
/// handshake and then, with the ticket it got, a resumed one, each with a short request and answer.
/// </summary>
/// <remarks>
/// Why: the runtime compiles the handshake code on its first call. Without this the first client after a start paid
/// ~150 ms for its handshake (three h2load connections right after a start took 151 ms, HAProxy's 5 ms; a throwaway
/// tshark capture, docs/BENCHMARKS.md S5.1), and the first 8000 resumed connections of a fresh process cost 256-258 µs
/// each instead of 240-248 µs (`BL_ARGS="--warmup 0|2" BL_TESTS="hsresume hsresume hs" BL_RSA=0
/// bash bench/lab/proxy-vs-peers.sh none`, interleaved). The connections are the server's real
/// code paths on the configured certificate; nothing of them stays (no socket, no state outside this call).
/// </remarks>
public static class HandshakeWarmup
{
    /// <summary>What the warm-up did: handshakes completed, how many were resumed, and how long it took.</summary>
    public readonly record struct Result(int Handshakes, int Resumed, TimeSpan Elapsed, string? Failure);

    public static Result Run(TlsServerConfig config, int rounds = 2)
    {
        config = config.WithoutKeyLog(); // these sessions are not the operator's: keep them out of SSLKEYLOGFILE
        long start = Stopwatch.GetTimestamp();
        int done = 0, resumed = 0;
        string? targetHost = PickServerName(config);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost ?? "",
            EnabledSslProtocols = SslProtocols.Tls13 | SslProtocols.Tls12,
            // The client checks nothing: it talks to this process's own configuration, and no byte of it leaves.
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        };
        byte[] answer = new byte[64];
        try
        {
            for (int i = 0; i < rounds; i++)
            {
                using var server = new TlsServerConnection(config);
                using var pipe = new ServerPipe(server);
                using var client = new SslStream(pipe, leaveInnerStreamOpen: true);
                client.AuthenticateAsClient(options);
                client.Write("GET / HTTP/1.1\r\n\r\n"u8);
                if (client.Read(answer) <= 0)
                    return new Result(done, resumed, Stopwatch.GetElapsedTime(start), "no answer after the handshake");
                done++;
                if (server.IsResumed)
                    resumed++;
            }
            return new Result(done, resumed, Stopwatch.GetElapsedTime(start), null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A configuration that a default client cannot complete (client certificates required, no suite or group
            // in common), or a client library that fails on this machine: the warm-up is only an optimisation, so
            // it never stops the start; the first real client simply pays for compiling, as before.
            return new Result(done, resumed, Stopwatch.GetElapsedTime(start), e.Message);
        }
    }

    /// <summary>A name the configuration answers with its default certificate (a wildcard's own subdomain).</summary>
    private static string? PickServerName(TlsServerConfig config)
    {
        TlsCertificate? certificate = (config.DefaultCertificates ?? config.Certificates).FirstOrDefault();
        string? name = certificate?.Names.FirstOrDefault();
        if (name is null)
            return null;
        return name.StartsWith("*.", StringComparison.Ordinal) ? "warmup" + name[1..] : name;
    }

    /// <summary>
    /// The client's transport: what the client writes is processed by the server at once (application data is
    /// answered with the same bytes), and what the server queued is what the client reads next.
    /// </summary>
    private sealed class ServerPipe(TlsServerConnection server) : Stream
    {
        private readonly byte[] _plain = new byte[1024];
        private readonly MemoryStream _toClient = new();
        private int _readAt;

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> input)
        {
            while (true)
            {
                TlsStatus status = server.Process(input, out int used);
                input = input[used..];
                switch (status)
                {
                    case TlsStatus.WantRead:
                        return;
                    case TlsStatus.WantWrite or TlsStatus.HandshakeComplete:
                        TakeOutput(); // WantWrite: the server's queue is full; it goes on once drained
                        break;
                    case TlsStatus.ApplicationDataAvailable:
                        int n = server.ReadApplicationData(_plain);
                        server.WriteApplicationData(_plain.AsSpan(0, n));
                        break;
                    default:
                        throw new IOException($"warm-up handshake ended: {status} ({server.FailureReason})");
                }
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> destination)
        {
            TakeOutput();
            int n = Math.Min(destination.Length, (int)_toClient.Length - _readAt);
            _toClient.GetBuffer().AsSpan(_readAt, n).CopyTo(destination);
            _readAt += n;
            return n;
        }

        private void TakeOutput()
        {
            Span<byte> chunk = stackalloc byte[4096];
            int n;
            while ((n = server.DrainOutput(chunk)) > 0)
                _toClient.Write(chunk[..n]);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
