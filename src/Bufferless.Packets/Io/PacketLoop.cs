using Bufferless.Packets.Engine;
using Bufferless.Packets.Offload;

namespace Bufferless.Packets.Io;

/// <summary>
/// The read / process / write loop: one thread, preallocated buffers, nothing allocated per packet. Reads
/// every waiting packet (up to <see cref="BatchLimit"/> per wake-up, so timers are never starved), hands each to
/// the engine in place, runs the engine's timers when due, flushes the batching sink at the end of each batch,
/// and sleeps in poll() until the next packet or timer.
/// </summary>
/// <remarks>
/// With <c>vnetHeader</c> (a TUN opened with offload) every read starts with a <see cref="VirtioNetHeader"/>:
/// a GSO super-packet is cut by <see cref="GsoSplitter"/> into MSS-sized packets where it lies (each segment's
/// headers written just before its payload) and handed to the engine one by one. Those segments carry the partial
/// TCP checksum the kernel left (pseudo-header sum; the engine does not verify transport checksums, and the sink
/// marks everything it writes NEEDS_CSUM); a single packet whose checksum is still partial gets it completed in
/// place first.
/// </remarks>
public sealed class PacketLoop
{
    /// <summary>Longest sleep, so cancellation is seen promptly without a wake-up descriptor.</summary>
    public const int MaxSleepMs = 100;
    public const int BatchLimit = 256;

    private readonly IPacketDevice _tun;
    private readonly IPacketEngine _engine;
    private readonly IBatchingPacketSink? _output;
    private readonly bool _vnetHeader;
    private readonly byte[] _buffer;
    private readonly byte[]? _segment;
    /// <summary>The headers of the super-packet being cut in place (IP + TCP with options; longer ones take the copying path).</summary>
    private readonly byte[] _template = new byte[256];
    private readonly Func<long> _clock;

    /// <param name="bufferSize">Largest packet read; 65,535 covers any IP packet the TUN can hand over.</param>
    /// <param name="clock">Monotonic milliseconds; <see cref="Environment.TickCount64"/> unless a test passes its own.</param>
    /// <param name="vnetHeader">Reads carry a virtio_net_hdr and may be GSO super-packets (<see cref="TunDevice.VnetHeader"/>).</param>
    /// <param name="output">The engine's sink, flushed at the end of every read batch and after timers.</param>
    public PacketLoop(IPacketDevice tun, IPacketEngine engine, int bufferSize = 65535, Func<long>? clock = null,
        bool vnetHeader = false, IBatchingPacketSink? output = null)
    {
        _tun = tun;
        _engine = engine;
        _output = output;
        _vnetHeader = vnetHeader;
        _buffer = GC.AllocateUninitializedArray<byte>(bufferSize + (vnetHeader ? VirtioNetHeader.Size : 0), pinned: true);
        if (vnetHeader) _segment = GC.AllocateUninitializedArray<byte>(bufferSize, pinned: true);
        _clock = clock ?? (static () => Environment.TickCount64);
    }

    /// <summary>Reads from the device (a super-packet counts once).</summary>
    public long PacketsRead { get; private set; }
    public long Wakeups { get; private set; }
    /// <summary>GSO super-packets read and the packets they were cut into.</summary>
    public long SuperPackets { get; private set; }
    public long Segments { get; private set; }
    /// <summary>Reads dropped because their virtio header did not fit the packet.</summary>
    public long OffloadErrors { get; private set; }

    /// <summary>
    /// Called once when no packet has arrived for <see cref="IdleMs"/> after some did (e.g. to trim memory after a
    /// burst of handshakes, <see cref="MemoryTrim"/>). Runs on the loop thread: packets wait while it runs.
    /// </summary>
    public Action? OnIdle { get; init; }
    public int IdleMs { get; init; } = 1000;

    /// <summary>Runs until <paramref name="cancel"/> fires. Exceptions from the device propagate; the engine never throws by contract.</summary>
    public void Run(CancellationToken cancel)
    {
        long lastPacket = _clock();
        bool busySinceIdle = false;
        while (!cancel.IsCancellationRequested)
        {
            long now = _clock();
            RunTimers(now);
            _output?.Flush();
            long next = _engine.NextTimerMs;
            int sleep = next == long.MaxValue ? MaxSleepMs : (int)Math.Clamp(next - now, 0, MaxSleepMs);
            if (!_tun.WaitReadable(sleep))
            {
                if (busySinceIdle && OnIdle is not null && _clock() - lastPacket >= IdleMs)
                {
                    busySinceIdle = false;
                    OnIdle();
                }
                continue;
            }
            Wakeups++;
            busySinceIdle = true;
            for (int i = 0; i < BatchLimit; i++)
            {
                int n = _tun.Read(_buffer);
                if (n == 0) break;
                PacketsRead++;
                now = _clock();
                if (_vnetHeader) Deliver(_buffer.AsSpan(0, n), now);
                else _engine.OnPacket(_buffer.AsSpan(0, n), now);
                RunTimers(now);
            }
            _output?.Flush();
            lastPacket = _clock();
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Deliver(Span<byte> read, long now)
    {
        if (!VirtioNetHeader.TryRead(read, out var header))
        {
            OffloadErrors++;
            return;
        }
        Span<byte> packet = read[VirtioNetHeader.Size..];
        if (header.GsoKind == VirtioNetHeader.GsoNone)
        {
            if (header.NeedsChecksum && !GsoSplitter.TryCompleteChecksum(packet, header))
            {
                OffloadErrors++;
                return;
            }
            _engine.OnPacket(packet, now);
            return;
        }
        if (GsoSplitter.TryCreateInPlace(packet, header, _template, out var splitter))
        {
            // The common case: segments are cut where they lie, no payload byte is copied.
            SuperPackets++;
            while (splitter.TryNextInPlace(out int offset, out int length))
            {
                Segments++;
                _engine.OnPacket(packet.Slice(offset, length), now);
            }
            return;
        }
        if (!GsoSplitter.TryCreate(packet, header, out splitter))
        {
            OffloadErrors++;
            return;
        }
        SuperPackets++;
        while (splitter.TryNext(_segment, out int length))
        {
            Segments++;
            _engine.OnPacket(_segment.AsSpan(0, length), now);
        }
    }

    private void RunTimers(long now)
    {
        if (_engine.NextTimerMs <= now) _engine.OnTimer(now);
    }
}
