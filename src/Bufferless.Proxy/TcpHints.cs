using System.Net.Sockets;

namespace Bufferless.Proxy;

/// <summary>
/// Linux TCP options that only change when segments leave (or when a connection is handed to accept), never what is
/// sent. Each is a hint: elsewhere, or when the kernel refuses it, nothing happens.
/// </summary>
/// <remarks>
/// The proxy uses them as HAProxy does by default in HTTP mode ("tcp-smart-accept", "tcp-smart-connect"): an
/// acknowledgement that an answer is about to carry is not sent on its own. Before, a resumed connection through the
/// lab cost 13.0 segments in and 12.0 out of the proxy's namespace, HAProxy 11.1 and 12.0 (Tcp InSegs/OutSegs over 8000
/// h2load connections, and `tshark` on one; docs/BENCHMARKS.md 0.1, session 5): the pure ACKs were the ClientHello's,
/// the request's, the backend handshake's and the response's.
/// </remarks>
internal static class TcpHints
{
    private const int IpProtoTcp = 6, TcpCork = 3, TcpDeferAccept = 9, TcpQuickAck = 12;

    /// <summary>
    /// Accept a connection only once its first data (the ClientHello) is there, or after <paramref name="seconds"/>:
    /// no wake-up and no empty read for a connection that has said nothing yet, and the ClientHello's ACK leaves with
    /// the server's flight.
    /// </summary>
    public static void DeferAccept(Socket listener, int seconds) => Set(listener, TcpDeferAccept, Math.Max(1, seconds));

    /// <summary>Leave quick-ACK mode: the next ACKs wait (up to the delayed-ACK timer) for data to ride on.</summary>
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
