using System.Net;

namespace Bufferless.Proxy;

/// <summary>Round robin over the configured backends; a failed connect moves on to the next one.</summary>
internal sealed class BackendPool(IReadOnlyList<EndPoint> backends)
{
    private readonly EndPoint[] _backends = backends.Count > 0 ? [.. backends] : throw new ArgumentException("at least one backend is required");
    private uint _next;

    public int Count => _backends.Length;

    /// <summary>The backend to try for attempt <paramref name="attempt"/> of a connection that started at <paramref name="start"/>.</summary>
    public EndPoint Pick(uint start, int attempt) => _backends[(start + (uint)attempt) % (uint)_backends.Length];

    public uint NextStart() => Interlocked.Increment(ref _next) - 1;
}
