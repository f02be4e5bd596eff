using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Bufferless.Demo;

/// <summary>
/// The demo's plain-HTTP backend on loopback: answers every request with a short page, keep-alive, and drains
/// request bodies given by Content-Length. Just enough HTTP/1.1 to show the proxy working; not a web server.
/// </summary>
internal sealed class DemoHttpBackend : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private long _requests;

    public DemoHttpBackend()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(512);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public async Task RunAsync(CancellationToken stop)
    {
        using var registration = stop.Register(_listener.Dispose);
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        var buffer = new byte[16 * 1024];
        int filled = 0;
        try
        {
            while (true)
            {
                int end;
                while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
                {
                    if (filled == buffer.Length)
                        return; // header too large for a demo
                    int n = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None).ConfigureAwait(false);
                    if (n == 0)
                        return;
                    filled += n;
                }
                string head = Encoding.ASCII.GetString(buffer, 0, end);
                int headerBytes = end + 4;
                long bodyLength = ContentLength(head);
                // Discard the request body.
                long inBuffer = Math.Min(bodyLength, filled - headerBytes);
                long toSkip = bodyLength - inBuffer;
                int consumed = headerBytes + (int)inBuffer;
                Buffer.BlockCopy(buffer, consumed, buffer, 0, filled - consumed);
                filled -= consumed;
                while (toSkip > 0)
                {
                    int n = await client.ReceiveAsync(buffer.AsMemory(filled, (int)Math.Min(buffer.Length - filled, toSkip)), SocketFlags.None).ConfigureAwait(false);
                    if (n == 0)
                        return;
                    toSkip -= n;
                }

                long number = Interlocked.Increment(ref _requests);
                string requestLine = head.Split("\r\n", 2)[0];
                string body = $"Hello from the Bufferless demo backend.\nYou sent: {requestLine}\nThis backend speaks plain HTTP on {EndPoint}; Bufferless did the TLS.\nRequest number {number}.\n";
                bool close = head.Contains("\r\nConnection: close", StringComparison.OrdinalIgnoreCase);
                byte[] response = Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n{(close ? "Connection: close\r\n" : "")}\r\n{body}");
                await client.SendAsync(response, SocketFlags.None).ConfigureAwait(false);
                if (close)
                    return;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private static long ContentLength(string head)
    {
        foreach (string line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase) && long.TryParse(line.AsSpan(15).Trim(), out long n) && n >= 0)
                return n;
        }
        return 0;
    }

    public void Dispose() => _listener.Dispose();
}
