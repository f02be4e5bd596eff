using System.Collections.Concurrent;
using System.Net;

namespace Bufferless.Proxy;

/// <summary>
/// Open connections per client address, capped (<see cref="ProxyOptions.MaxConnectionsPerClient"/>): one address can
/// no longer take every slot of <see cref="ProxyOptions.MaxConnections"/> from the others. An address is listed only
/// while it has connections open, so the table is as large as the set of clients connected now.
/// </summary>
internal sealed class ClientLimiter(int limit)
{
    private readonly ConcurrentDictionary<IPAddress, int> _open = new();

    public int Limit { get; } = limit > 0 ? limit : throw new ArgumentOutOfRangeException(nameof(limit));

    /// <summary>Addresses with connections open now.</summary>
    public int Addresses => _open.Count;

    /// <summary>IPv4 clients of a dual-stack listener arrive as ::ffff:a.b.c.d; they count as a.b.c.d.</summary>
    public static IPAddress Key(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>Counts one more connection from <paramref name="address"/>; false (nothing counted) when it has <see cref="Limit"/> open.</summary>
    public bool TryEnter(IPAddress address)
    {
        address = Key(address);
        while (true)
        {
            if (_open.TryGetValue(address, out int n))
            {
                if (n >= Limit)
                    return false;
                if (_open.TryUpdate(address, n + 1, n))
                    return true;
            }
            else if (_open.TryAdd(address, 1))
            {
                return true;
            }
        }
    }

    /// <summary>One connection from <paramref name="address"/> ended (one that <see cref="TryEnter"/> let in).</summary>
    public void Exit(IPAddress address)
    {
        address = Key(address);
        while (_open.TryGetValue(address, out int n))
        {
            if (n <= 1 ? _open.TryRemove(new KeyValuePair<IPAddress, int>(address, n)) : _open.TryUpdate(address, n - 1, n))
                return;
        }
    }
}
