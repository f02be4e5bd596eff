using System.Net.Sockets;

namespace Bufferless.Proxy;

/// <summary>
/// Linux TCP options that only change when segments leave (or when a connection is handed to accept), never what is
/// sent. Each is a hint: elsewhere, or when the kernel refuses it, nothing happens.
/// </summary>
/// <remarks>
/// Before them, a resumed connection through the lab cost 13.0 segments in and 12.0 out of the proxy's namespace,
/// HAProxy 11.1 and 12.0 (Tcp InSegs/OutSegs over 8000 h2load connections, and `tshark` on one; docs/BENCHMARKS.md S5.1,
/// session 5). The proxy now defers accept until the ClientHello is there (no wake-up and empty read for it), lets the
/// backend handshake's last ACK ride on the request, and skips the forced ACK of the client's Finished when the request
/// came with it. It does not delay ACKs beyond that (HAProxy's "tcp-smart-accept" does, in HTTP mode only): a generic
/// TCP proxy cannot know that an answer will follow, and a peer with Nagle on would wait up to 40 ms for them.
/// </remarks>
internal static class TcpHints
{
    private const int IpProtoTcp = 6, TcpCork = 3, TcpDeferAccept = 9, TcpQuickAck = 12;

    /// <summary>
    /// Accept a connection only once its first data (the ClientHello) is there, or after <paramref name="seconds"/>:
    /// no wake-up and no empty read for a connection that has said nothing yet.
    /// </summary>
    public static void DeferAccept(Socket listener, int seconds) => Set(listener, TcpDeferAccept, Math.Max(1, seconds));

    /// <summary>
    /// Leave quick-ACK mode: the next ACKs wait (up to the delayed-ACK timer) for data to ride on. Set before a connect,
    /// it holds back the handshake's last ACK for the first bytes sent (the kernel then quick-ACKs as usual).
    /// </summary>
    public static void DelayAcks(Socket socket) => Set(socket, TcpQuickAck, 0);

    /// <summary>Acknowledge what has arrived now (and quick-ACK for a while).</summary>
    public static void AckNow(Socket socket) => Set(socket, TcpQuickAck, 1);

    /// <summary>Hold partial segments until uncorked or shut down, so data, close_notify and FIN leave together.</summary>
    public static void Cork(Socket socket) => Set(socket, TcpCork, 1);

    private static void Set(Socket socket, int option, int value)
    {
        if (!OperatingSystem.IsLinux())
            return;
        try
        {
            Span<byte> bytes = stackalloc byte[4];
            BitConverter.TryWriteBytes(bytes, value);
            socket.SetRawSocketOption(IpProtoTcp, option, bytes);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Only a hint.
        }
    }
}
