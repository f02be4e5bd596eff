using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Bufferless.Proxy.Tests;

public class ProxyServerTests
{
    private static CancellationToken Timeout(int seconds = 30) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    private static ProxyOptions LoopbackListenOnly() =>
        new() { Listen = [new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)], Backends = [] };

    [Fact]
    public async Task Listener_AcceptedConnectionsHaveNoDelay()
    {
        // The accept loop relies on Linux copying TCP_NODELAY from the listener (one setsockopt per connection fewer).
        ProxyOptions options = LoopbackListenOnly();
        using Socket listener = ProxyServer.CreateListener(options.Listen[0], options);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, Timeout());
        await client.SendAsync("x"u8.ToArray(), SocketFlags.None); // TCP_DEFER_ACCEPT hands the connection over with data
        using Socket accepted = await listener.AcceptAsync(Timeout());
        Assert.True(accepted.NoDelay);
    }

    [Fact]
    public void Listener_SecondOnTheSameAddress_FailsAddressInUse()
    {
        // A second instance on the same address must fail, not share the port (SO_REUSEPORT) and split connections.
        ProxyOptions options = LoopbackListenOnly();
        using Socket first = ProxyServer.CreateListener(options.Listen[0], options);
        var taken = (System.Net.IPEndPoint)first.LocalEndPoint!;
        var e = Assert.Throws<SocketException>(() => ProxyServer.CreateListener(taken, options).Dispose());
        Assert.Equal(SocketError.AddressAlreadyInUse, e.SocketErrorCode);
    }

    [Fact]
    public async Task Proxy_EchoBackend_RoundTripsOneMegabyte()
    {
        await using var backend = TestBackend.Echo();
        await using var proxy = new ProxyHarness([backend.EndPoint]);
        await using SslStream ssl = await proxy.ConnectAsync(Timeout());
        byte[] data = RandomNumberGenerator.GetBytes(1 << 20);
        var reader = Task.Run(async () =>
        {
            byte[] back = new byte[data.Length];
            await ssl.ReadExactlyAsync(back, Timeout());
            return back;
        });
        await ssl.WriteAsync(data, Timeout());
        Assert.Equal(data, await reader);
    }

    [Fact]
    public async Task Proxy_ClientCloseNotify_BackendSeesHalfCloseAndResponseStillArrives()
    {
        // The backend reads the whole request (until the half-close), then answers and closes.
        await using var backend = new TestBackend(async (s, ct) =>
        {
            byte[] request = await s.ReadToEndAsync(ct);
            await s.WriteAsync(Encoding.ASCII.GetBytes($"got {request.Length} bytes"), ct);
        });
        await using var proxy = new ProxyHarness([backend.EndPoint]);
        await using SslStream ssl = await proxy.ConnectAsync(Timeout());
        await ssl.WriteAsync(new byte[5000], Timeout());
        await ssl.ShutdownAsync(); // close_notify: the client's write side is done
        byte[] response = await ssl.ReadToEndAsync(Timeout());
        Assert.Equal("got 5000 bytes", Encoding.ASCII.GetString(response));
    }

    [Fact]
    public async Task Proxy_BackendClosedFirst_ClientCloseNotify_BackendGetsACleanFin()
    {
        // The backend answers and half-closes; once the client has read everything it sends close_notify. The proxy
        // then skips the shutdown call (both directions are done) and closes the backend socket: the backend must still
        // see a clean end of stream (a FIN), not a reset.
        var backendSaw = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new TestBackend(async (s, ct) =>
        {
            byte[] request = new byte[5];
            await s.ReadExactlyAsync(request, ct);
            await s.WriteAsync("answer"u8.ToArray(), ct);
            s.Socket.Shutdown(SocketShutdown.Send);
            try
            {
                byte[] rest = await s.ReadToEndAsync(ct);
                backendSaw.TrySetResult($"eof after {rest.Length} more bytes");
            }
            catch (IOException e)
            {
                backendSaw.TrySetResult("reset: " + e.Message);
            }
        });
        await using var proxy = new ProxyHarness([backend.EndPoint]);
        await using SslStream ssl = await proxy.ConnectAsync(Timeout());
        await ssl.WriteAsync("hello"u8.ToArray(), Timeout());
        byte[] response = await ssl.ReadToEndAsync(Timeout()); // the answer, then the proxy's close_notify
        Assert.Equal("answer", Encoding.ASCII.GetString(response));
        await ssl.ShutdownAsync();
        Assert.Equal("eof after 0 more bytes", await backendSaw.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Proxy_ManyRecordsThenCloseNotify_BackendGetsEveryByteInOrder()
    {
        // Records of every size, written back to back, reach the proxy several to a read (the proxy joins the records of
        // one read into one backend write); the close_notify behind them must not overtake any of them.
        await using var backend = new TestBackend(async (s, ct) =>
        {
            byte[] request = await s.ReadToEndAsync(ct);
            await s.WriteAsync(Encoding.ASCII.GetBytes($"{request.Length} {Convert.ToHexString(SHA256.HashData(request))}"), ct);
        });
        await using var proxy = new ProxyHarness([backend.EndPoint]);
        await using SslStream ssl = await proxy.ConnectAsync(Timeout());
        byte[] data = RandomNumberGenerator.GetBytes(400_000);
        int[] sizes = [1, 16384, 100, 20000, 7, 65536, 3000, 16383, 16385, 50000, 2];
        int offset = 0;
        for (int i = 0; offset < data.Length; i++)
        {
            int n = Math.Min(sizes[i % sizes.Length], data.Length - offset);
            await ssl.WriteAsync(data.AsMemory(offset, n), Timeout());
            offset += n;
        }
        await ssl.ShutdownAsync();
        byte[] response = await ssl.ReadToEndAsync(Timeout());
        Assert.Equal($"{data.Length} {Convert.ToHexString(SHA256.HashData(data))}", Encoding.ASCII.GetString(response));
    }

    [Fact]
    public async Task Proxy_FirstBackendDown_NextBackendServes()
    {
        await using var backend = TestBackend.Echo();
        await using var proxy = new ProxyHarness([StreamExtensions.DeadEndPoint(), backend.EndPoint]);
        for (int i = 0; i < 4; i++)
            await PingThroughAsync(proxy);
        Assert.True(proxy.Server.Stats.BackendConnectFailures.Value >= 1);
    }

    [Theory]
    [InlineData(10.0, 1)]  // the dead backend is passed over after its first failure
    [InlineData(0.0, 4)]   // without the fail timeout, every other connection tries it (8 connections, round robin)
    public async Task Proxy_DeadBackend_PassedOverForTheFailTimeout(double failTimeoutSeconds, int expectedFailures)
    {
        await using var backend = TestBackend.Echo();
        await using var proxy = new ProxyHarness([StreamExtensions.DeadEndPoint(), backend.EndPoint],
            o => o with { BackendFailTimeout = TimeSpan.FromSeconds(failTimeoutSeconds) });
        for (int i = 0; i < 8; i++)
            await PingThroughAsync(proxy);
        Assert.Equal(expectedFailures, proxy.Server.Stats.BackendConnectFailures.Value);
        // Marked down once (and logged once); without the fail timeout each failure gets the plain line.
        Assert.Equal(failTimeoutSeconds > 0 ? 1 : 0, proxy.Log.Messages.Count(m => m.Contains("passed over for 10 s", StringComparison.Ordinal)));
        Assert.Equal(failTimeoutSeconds > 0 ? 0 : 4, proxy.Log.Messages.Count(m => m.StartsWith("backend ", StringComparison.Ordinal) && !m.Contains("passed over", StringComparison.Ordinal)));
        Assert.Equal(failTimeoutSeconds > 0, proxy.Server.BackendStates.Any(b => !b.Up));
        Assert.Equal(8, backend.Accepted);
    }

    /// <summary>One TLS connection through the proxy to an echo backend: "ping" there and back.</summary>
    private static async Task PingThroughAsync(ProxyHarness proxy)
    {
        await using SslStream ssl = await proxy.ConnectAsync(Timeout());
        await ssl.WriteAsync("ping"u8.ToArray(), Timeout());
        byte[] back = new byte[4];
        await ssl.ReadExactlyAsync(back, Timeout());
        Assert.Equal("ping"u8.ToArray(), back);
    }

    [Fact]
    public async Task Proxy_MaxConnectionsPerClient_ThirdResetAtOnce_SlotComesBackWhenOneCloses()
    {
        await using var backend = TestBackend.Echo();
        await using var proxy = new ProxyHarness([backend.EndPoint], o => o with { MaxConnectionsPerClient = 2 });
        SslStream first = await proxy.ConnectAsync(Timeout());
        await using SslStream second = await proxy.ConnectAsync(Timeout());
        // The third from the same address gets no handshake: the TLS client sees the connection reset or closed.
        await Assert.ThrowsAnyAsync<Exception>(async () => { await using var third = await proxy.ConnectAsync(Timeout()); });
        Assert.Equal(1, proxy.Server.Stats.RefusedPerClient.Value);
        // The two held ones still work.
        await second.WriteAsync("ping"u8.ToArray(), Timeout());
        byte[] back = new byte[4];
        await second.ReadExactlyAsync(back, Timeout());
        Assert.Equal("ping"u8.ToArray(), back);
        // One closes: its slot comes back (the end is counted when the proxy sees it, so wait for that).
        await first.DisposeAsync();
        for (int i = 0; i < 100 && proxy.Server.ActiveConnections > 1; i++)
            await Task.Delay(20);
        await PingThroughAsync(proxy);
        Assert.Equal(1, proxy.Server.Stats.RefusedPerClient.Value);
        Assert.Single(proxy.Log.Messages, m => m.StartsWith("client 127.0.0.1:", StringComparison.Ordinal)
            && m.EndsWith(" is at --max-connections-per-client (2): reset; 1 refused so since the last such line", StringComparison.Ordinal));
    }

    [Fact]
    public void ClientLimiter_CountsPerAddress_MappedIPv4IsIPv4_EntriesGoWhenClosed()
    {
        var limiter = new ClientLimiter(2);
        var a = System.Net.IPAddress.Parse("198.18.1.2");
        var mapped = System.Net.IPAddress.Parse("::ffff:198.18.1.2");
        var b = System.Net.IPAddress.Parse("2001:2::5");
        Assert.True(limiter.TryEnter(a));
        Assert.True(limiter.TryEnter(mapped));
        Assert.False(limiter.TryEnter(a));         // the mapped one counted for a
        Assert.True(limiter.TryEnter(b));
        Assert.Equal(2, limiter.Addresses);
        limiter.Exit(mapped);
        Assert.True(limiter.TryEnter(a));
        limiter.Exit(a); limiter.Exit(a); limiter.Exit(b);
        Assert.Equal(0, limiter.Addresses);
        limiter.Exit(b);                           // an extra exit changes nothing
        Assert.Equal(0, limiter.Addresses);
    }

    [Fact]
    public async Task Proxy_NoBackendReachable_ClientGetsCleanEnd()
    {
        await using var proxy = new ProxyHarness([StreamExtensions.DeadEndPoint()]);
        await using SslStream ssl = await proxy.ConnectAsync(Timeout());
        await ssl.WriteAsync("hello"u8.ToArray(), Timeout());
        // close_notify then FIN: SslStream reports a clean end of stream (0), not an exception.
        Assert.Equal(0, await ssl.ReadAsync(new byte[16], Timeout()));
    }

    [Fact]
    public async Task Proxy_IdleTlsConnection_OpensNoBackendConnection()
    {
        await using var backend = TestBackend.Echo();
        await using var proxy = new ProxyHarness([backend.EndPoint]);
        await using SslStream idle = await proxy.ConnectAsync(Timeout());
        await Task.Delay(200);
        Assert.Equal(0, backend.Accepted);
        await idle.WriteAsync("x"u8.ToArray(), Timeout());
        await idle.ReadExactlyAsync(new byte[1], Timeout());
        Assert.Equal(1, backend.Accepted);
    }

    [Fact]
    public async Task Proxy_GarbageInsteadOfClientHello_AlertForItOthersUnaffected()
    {
        await using var backend = TestBackend.Echo();
        await using var proxy = new ProxyHarness([backend.EndPoint]);
        await using SslStream healthy = await proxy.ConnectAsync(Timeout());

        using var raw = new TcpClient();
        await raw.ConnectAsync(proxy.EndPoint, Timeout());
        await raw.GetStream().WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), Timeout());
        byte[] answer = await raw.GetStream().ReadToEndAsync(Timeout());
        // One TLS alert record (content type 21, length 2), then EOF.
        Assert.True(answer.Length >= 7, $"got {answer.Length} bytes");
        Assert.Equal(21, answer[0]);
        Assert.Equal(2, answer[4]);

        await healthy.WriteAsync("still here"u8.ToArray(), Timeout());
        byte[] back = new byte[10];
        await healthy.ReadExactlyAsync(back, Timeout());
        Assert.Equal("still here"u8.ToArray(), back);
        Assert.True(proxy.Server.Stats.TlsFailures.Value >= 1);
    }

    [Fact]
    public async Task Proxy_SilentClient_ClosedAfterHandshakeTimeout()
    {
        await using var proxy = new ProxyHarness([StreamExtensions.DeadEndPoint()], o => o with { HandshakeTimeout = TimeSpan.FromMilliseconds(300) });
        using var raw = new TcpClient();
        await raw.ConnectAsync(proxy.EndPoint, Timeout());
        // The sweep runs once a second: the connection must be cut (FIN or RST) well before the test's own deadline.
        var deadline = Timeout(10);
        try
        {
            Assert.Equal(0, await raw.GetStream().ReadAsync(new byte[16], deadline));
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
        }
        Assert.False(deadline.IsCancellationRequested);
    }

    [Fact]
    public async Task Proxy_IdleTimeout_ClosesEstablishedConnection()
    {
        await using var backend = TestBackend.Echo();
        await using var proxy = new ProxyHarness([backend.EndPoint], o => o with { IdleTimeout = TimeSpan.FromMilliseconds(500) });
        await using SslStream ssl = await proxy.ConnectAsync(Timeout());
        await ssl.WriteAsync("x"u8.ToArray(), Timeout());
        await ssl.ReadExactlyAsync(new byte[1], Timeout());
        // Idle: the proxy cuts it (no close_notify: an abort), the read ends within the test's deadline.
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            int n = await ssl.ReadAsync(new byte[1], Timeout(10));
            if (n == 0) throw new EndOfStreamException();
        });
    }

    [Fact]
    public async Task Proxy_MaxConnections_ExtraClientWaitsForAFreeSlot()
    {
        await using var backend = TestBackend.Echo();
        await using var proxy = new ProxyHarness([backend.EndPoint], o => o with { MaxConnections = 2 });
        SslStream first = await proxy.ConnectAsync(Timeout());
        await using SslStream second = await proxy.ConnectAsync(Timeout());
        var third = proxy.ConnectAsync(Timeout());
        await Task.Delay(500);
        Assert.False(third.IsCompleted, "a third handshake completed while two connections held both slots");
        await first.DisposeAsync();
        await using SslStream thirdStream = await third;
        await thirdStream.WriteAsync("y"u8.ToArray(), Timeout());
        await thirdStream.ReadExactlyAsync(new byte[1], Timeout());
    }

    [Fact]
    public async Task Proxy_Stop_DrainsOpenConnectionThenReturns()
    {
        await using var backend = TestBackend.Echo();
        var proxy = new ProxyHarness([backend.EndPoint], o => o with { DrainTimeout = TimeSpan.FromSeconds(20) });
        await using SslStream ssl = await proxy.ConnectAsync(Timeout());
        await ssl.WriteAsync("a"u8.ToArray(), Timeout());
        await ssl.ReadExactlyAsync(new byte[1], Timeout());
        var stopping = proxy.DisposeAsync().AsTask();
        await Task.Delay(300);
        // Still draining: the established connection keeps working.
        Assert.False(stopping.IsCompleted);
        await ssl.WriteAsync("b"u8.ToArray(), Timeout());
        byte[] b = new byte[1];
        await ssl.ReadExactlyAsync(b, Timeout());
        Assert.Equal((byte)'b', b[0]);
        await ssl.ShutdownAsync();
        await stopping.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(0, proxy.Server.ActiveConnections);
    }
}
