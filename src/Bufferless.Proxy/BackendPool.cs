using System.Net;

namespace Bufferless.Proxy;

/// <summary>
/// Round robin over the configured backends, with passive health as nginx's <c>fail_timeout</c>: a backend whose
/// connect failed is marked down for <see cref="FailTimeout"/> and tried only after every backend that is up, so one
/// dead or black-holed backend does not cost every Nth client a refused or timed-out connect. When all are down they
/// are all still tried in turn (a TCP proxy has no error page to send instead), and the first good connect marks a
/// backend up again.
/// </summary>
internal sealed class BackendPool
{
    private readonly EndPoint[] _backends;
    private readonly long[] _downUntil; // Environment.TickCount64-style milliseconds; 0 = up
    private readonly Func<long> _nowMs;
    private uint _next;

    public BackendPool(IReadOnlyList<EndPoint> backends, TimeSpan failTimeout, Func<long>? nowMs = null)
    {
        _backends = backends.Count > 0 ? [.. backends] : throw new ArgumentException("at least one backend is required");
        _downUntil = new long[_backends.Length];
        FailTimeout = failTimeout;
        _nowMs = nowMs ?? (static () => Environment.TickCount64);
    }

    public int Count => _backends.Length;

    /// <summary>How long a failed backend is passed over; zero turns the health marking off (plain round robin).</summary>
    public TimeSpan FailTimeout { get; }

    public EndPoint this[int index] => _backends[index];

    /// <summary>Where a new connection's round starts.</summary>
    public uint NextStart() => Interlocked.Increment(ref _next) - 1;

    /// <summary>The backends that are down now, as a mask of positions counted from <paramref name="start"/> (bit i: the i-th in this round); only the first 64.</summary>
    public ulong DownMask(uint start)
    {
        if (FailTimeout <= TimeSpan.Zero)
            return 0;
        long now = _nowMs();
        ulong mask = 0;
        for (int i = 0; i < Math.Min(_backends.Length, 64); i++)
        {
            if (Volatile.Read(ref _downUntil[Index(start, i)]) > now)
                mask |= 1UL << i;
        }
        return mask;
    }

    /// <summary>
    /// The backend for attempt <paramref name="attempt"/> (0 .. 2 x Count - 1) of a connection: the first Count
    /// attempts go to the backends that were up when it started (<paramref name="downMask"/> from <see cref="DownMask"/>),
    /// the next Count to the ones that were down. False: nothing to try at this attempt.
    /// </summary>
    public bool TryPick(uint start, int attempt, ulong downMask, out int index)
    {
        int i = attempt % _backends.Length;
        bool down = i < 64 && (downMask & (1UL << i)) != 0;
        index = Index(start, i);
        return attempt < _backends.Length ? !down : down;
    }

    /// <summary>A connect to backend <paramref name="index"/> failed; true when this marked it down (it was up).</summary>
    public bool MarkDown(int index)
    {
        if (FailTimeout <= TimeSpan.Zero)
            return false;
        long now = _nowMs();
        long previous = Interlocked.Exchange(ref _downUntil[index], now + (long)FailTimeout.TotalMilliseconds);
        return previous <= now;
    }

    /// <summary>A connect to backend <paramref name="index"/> succeeded; true when it had been marked down.</summary>
    public bool MarkUp(int index) => Volatile.Read(ref _downUntil[index]) != 0 && Interlocked.Exchange(ref _downUntil[index], 0) != 0;

    /// <summary>Whether backend <paramref name="index"/> is passed over now.</summary>
    public bool IsDown(int index) => Volatile.Read(ref _downUntil[index]) > _nowMs();

    private int Index(uint start, int i) => (int)((start + (uint)i) % (uint)_backends.Length);
}
