using System.Net;
using Microsoft.Extensions.Logging;

namespace Bufferless.Proxy;

/// <summary>Every log line the proxy writes, in one place (source-generated, no allocation when disabled).</summary>
internal sealed partial class ProxyLog(ILogger logger)
{
    public void ConnectionEnded(in ConnectionSummary s)
    {
        if (!logger.IsEnabled(LogLevel.Information))
            return;
        Connection(s.Client, s.ServerName ?? "-", s.Version ?? "-", s.CipherSuite ?? "-", s.Group ?? "-", s.Resumed ? "yes" : "no", s.Alpn ?? "-", s.Backend?.ToString() ?? "-",
            s.BytesFromClient, s.BytesToClient, (long)s.Duration.TotalMilliseconds, s.End);
    }

    [LoggerMessage(1, LogLevel.Information, "conn client={Client} sni={Sni} version={Version} suite={Suite} group={Group} resumed={Resumed} alpn={Alpn} backend={Backend} in={BytesIn} out={BytesOut} ms={Millis} end={End}")]
    private partial void Connection(EndPoint? client, string sni, string version, string suite, string group, string resumed, string alpn, string backend, long bytesIn, long bytesOut, long millis, string end);

    [LoggerMessage(2, LogLevel.Information, "listening on {EndPoint}")]
    public partial void Listening(IPEndPoint endPoint);

    [LoggerMessage(3, LogLevel.Warning, "backend {Backend} connect failed: {Reason}")]
    public partial void BackendConnectFailed(EndPoint backend, string reason);

    [LoggerMessage(7, LogLevel.Warning, "backend {Backend} connect failed: {Reason}; passed over for {Seconds} s")]
    public partial void BackendDown(EndPoint backend, string reason, double seconds);

    [LoggerMessage(8, LogLevel.Information, "backend {Backend} connects again")]
    public partial void BackendUp(EndPoint backend);

    [LoggerMessage(9, LogLevel.Warning, "client {Client} is at --max-connections-per-client ({Limit}): reset; {Refused} refused so since the last such line")]
    public partial void RefusedOverClientLimit(EndPoint? client, int limit, long refused);

    [LoggerMessage(4, LogLevel.Warning, "accept failed: {Reason}")]
    public partial void AcceptFailed(string reason);

    [LoggerMessage(5, LogLevel.Information, "draining {Count} connections for up to {Timeout}")]
    public partial void Draining(int count, TimeSpan timeout);

    [LoggerMessage(6, LogLevel.Error, "connection from {Client} hit an internal error")]
    public partial void UnexpectedError(EndPoint? client, Exception exception);
}
