using System.Net.Sockets;

namespace Bufferless.Proxy;

/// <summary>
/// Linux socket options that only change when segments leave (or when a connection is handed to accept, or whether a
/// listener may bind), never what is sent. Each is a hint: elsewhere, or when the kernel refuses it, nothing happens.
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
    private const int SolSocket = 1, SoReuseAddr = 2; // Linux <asm-generic/socket.h>

    /// <summary>
    /// Accept a connection only once its first data (the ClientHello) is there, or after <paramref name="seconds"/>:
    /// no wake-up and no empty read for a connection that has said nothing yet.
    /// </summary>
    public static void DeferAccept(Socket listener, int seconds) => Set(listener, IpProtoTcp, TcpDeferAccept, Math.Max(1, seconds));

    /// <summary>
    /// SO_REUSEADDR alone, so that a restart binds while the old connections sit in TIME_WAIT. Not .NET's ReuseAddress
    /// option: on Linux it also sets SO_REUSEPORT, with which a second proxy started on the same address shared the port
    /// silently (the kernel splitting new connections between the two) instead of failing with "in use".
    /// </summary>
    public static void ReuseAddress(Socket listener) => Set(listener, SolSocket, SoReuseAddr, 1);

    /// <summary>
    /// Leave quick-ACK mode: the next ACKs wait (up to the delayed-ACK timer) for data to ride on. Set before a connect,
    /// it holds back the handshake's last ACK for the first bytes sent (the kernel then quick-ACKs as usual).
    /// </summary>
    public static void DelayAcks(Socket socket) => Set(socket, IpProtoTcp, TcpQuickAck, 0);

    /// <summary>Acknowledge what has arrived now (and quick-ACK for a while).</summary>
    public static void AckNow(Socket socket) => Set(socket, IpProtoTcp, TcpQuickAck, 1);

    /// <summary>Hold partial segments until uncorked or shut down, so data, close_notify and FIN leave together.</summary>
    public static void Cork(Socket socket) => Set(socket, IpProtoTcp, TcpCork, 1);

    private static void Set(Socket socket, int level, int option, int value)
    {
        if (!OperatingSystem.IsLinux())
            return;
        try
        {
            Span<byte> bytes = stackalloc byte[4];
            BitConverter.TryWriteBytes(bytes, value);
            socket.SetRawSocketOption(level, option, bytes);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Only a hint.
        }
    }
}
