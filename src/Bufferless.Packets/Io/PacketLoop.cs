using Bufferless.Packets.Engine;

namespace Bufferless.Packets.Io;

/// <summary>
/// The read / process / write loop: one thread, one preallocated buffer, nothing allocated per packet. Reads
/// every waiting packet (up to <see cref="BatchLimit"/> per wake-up, so timers are never starved), hands each to
/// the engine in place, runs the engine's timers when due, and sleeps in poll() until the next packet or timer.
/// </summary>
public sealed class PacketLoop
{
    /// <summary>Longest sleep, so cancellation is seen promptly without a wake-up descriptor.</summary>
    public const int MaxSleepMs = 100;
    public const int BatchLimit = 256;

    private readonly IPacketDevice _tun;
    private readonly IPacketEngine _engine;
    private readonly byte[] _buffer;
    private readonly Func<long> _clock;

    /// <param name="bufferSize">Largest packet read; 65,535 covers any IP packet the TUN can hand over.</param>
    /// <param name="clock">Monotonic milliseconds; <see cref="Environment.TickCount64"/> unless a test passes its own.</param>
    public PacketLoop(IPacketDevice tun, IPacketEngine engine, int bufferSize = 65535, Func<long>? clock = null)
    {
        _tun = tun;
        _engine = engine;
        _buffer = GC.AllocateUninitializedArray<byte>(bufferSize, pinned: true);
        _clock = clock ?? (static () => Environment.TickCount64);
    }

    public long PacketsRead { get; private set; }
    public long Wakeups { get; private set; }

    /// <summary>Runs until <paramref name="cancel"/> fires. Exceptions from the device propagate; the engine never throws by contract.</summary>
    public void Run(CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            long now = _clock();
            RunTimers(now);
            long next = _engine.NextTimerMs;
            int sleep = next == long.MaxValue ? MaxSleepMs : (int)Math.Clamp(next - now, 0, MaxSleepMs);
            if (!_tun.WaitReadable(sleep)) continue;
            Wakeups++;
            for (int i = 0; i < BatchLimit; i++)
            {
                int n = _tun.Read(_buffer);
                if (n == 0) break;
                PacketsRead++;
                now = _clock();
                _engine.OnPacket(_buffer.AsSpan(0, n), now);
                RunTimers(now);
            }
        }
    }

    private void RunTimers(long now)
    {
        if (_engine.NextTimerMs <= now) _engine.OnTimer(now);
    }
}
