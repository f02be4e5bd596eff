using System.Net;
using System.Net.Sockets;

namespace Bufferless.Cli;

/// <summary>Parses ADDR:PORT flags: "127.0.0.1:8443", "[::1]:443", ":443" (all addresses), "localhost:80".</summary>
internal static class EndPoints
{
    public static bool TryParseListen(string text, out IPEndPoint endPoint, out string error)
    {
        endPoint = null!;
        if (text.StartsWith(':') && int.TryParse(text.AsSpan(1), out int anyPort) && anyPort is >= 0 and <= 65535)
        {
            endPoint = new IPEndPoint(IPAddress.IPv6Any, anyPort);
            error = "";
            return true;
        }
        if (IPEndPoint.TryParse(text, out var ep) && ep.Port != 0 || text.EndsWith(":0") && IPEndPoint.TryParse(text, out ep))
        {
            endPoint = ep!;
            error = "";
            return true;
        }
        error = $"'{text}' is not ADDR:PORT (e.g. 0.0.0.0:443, [::]:443, :443)";
        return false;
    }

    public static bool TryParseBackend(string text, out EndPoint endPoint, out string error)
    {
        endPoint = null!;
        if (IPEndPoint.TryParse(text, out var ip) && ip.Port != 0)
        {
            endPoint = ip;
            error = "";
            return true;
        }
        int colon = text.LastIndexOf(':');
        if (colon > 0 && int.TryParse(text.AsSpan(colon + 1), out int port) && port is > 0 and <= 65535)
        {
            string host = text[..colon];
            try
            {
                var addresses = Dns.GetHostAddresses(host);
                var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
                if (address is not null)
                {
                    endPoint = new IPEndPoint(address, port);
                    error = "";
                    return true;
                }
            }
            catch (SocketException e)
            {
                error = $"backend '{text}': cannot resolve {host}: {e.Message}";
                return false;
            }
        }
        error = $"backend '{text}' is not HOST:PORT";
        return false;
    }
}
