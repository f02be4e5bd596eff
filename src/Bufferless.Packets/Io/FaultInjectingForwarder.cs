using Bufferless.Packets.Engine;

namespace Bufferless.Packets.Io;

/// <summary>Fault rates (each 0 to 1, per packet) and the seed that makes a run repeatable.</summary>
public readonly record struct FaultOptions(double Loss = 0, double Duplicate = 0, double Reorder = 0, int ReorderDelayMs = 3, int Seed = 1)
{
    public bool IsPassThrough => Loss == 0 && Duplicate == 0 && Reorder == 0;
}

/// <summary>
/// A forwarder for a namespace hop: every packet read is written back unchanged, except that, with a seeded
/// generator, some are dropped, some are sent twice, and some are held for <see cref="FaultOptions.ReorderDelayMs"/>
/// so later packets overtake them. With all rates at zero it is a plain pass-through (used to prove the TUN
/// loop and the policy routing before the real engine exists). Allocation-free: held packets go into a fixed
/// set of preallocated slots; when all are busy the packet is forwarded at once.
/// </summary>
public sealed class FaultInjectingForwarder : IPacketEngine
{
    private const int Slots = 32, SlotSize = 2048;

    private readonly IPacketSink _sink;
    private readonly FaultOptions _options;
    private readonly Random _random;
    private readonly byte[] _held = new byte[Slots * SlotSize];
    private readonly int[] _heldLength = new int[Slots];
    private readonly long[] _releaseAt = new long[Slots];

    public FaultInjectingForwarder(IPacketSink sink, FaultOptions options)
    {
        _sink = sink;
        _options = options;
        _random = new Random(options.Seed);
        Array.Fill(_releaseAt, long.MaxValue);
    }

    public long Forwarded { get; private set; }
    public long Dropped { get; private set; }
    public long Duplicated { get; private set; }
    public long Reordered { get; private set; }

    public long NextTimerMs
    {
        get
        {
            long next = long.MaxValue;
            foreach (long t in _releaseAt) next = Math.Min(next, t);
            return next;
        }
    }

    public void OnPacket(Span<byte> ipPacket, long nowMs)
    {
        if (_options.IsPassThrough)
        {
            Send(ipPacket);
            return;
        }
        double r = _random.NextDouble();
        if (r < _options.Loss)
        {
            Dropped++;
            return;
        }
        if (_random.NextDouble() < _options.Reorder && TryHold(ipPacket, nowMs))
        {
            Reordered++;
            return;
        }
        Send(ipPacket);
        if (_random.NextDouble() < _options.Duplicate)
        {
            Duplicated++;
            Send(ipPacket);
        }
    }

    public void OnTimer(long nowMs)
    {
        for (int i = 0; i < Slots; i++)
        {
            if (_releaseAt[i] > nowMs) continue;
            _releaseAt[i] = long.MaxValue;
            Send(_held.AsSpan(i * SlotSize, _heldLength[i]));
        }
    }

    private bool TryHold(ReadOnlySpan<byte> packet, long nowMs)
    {
        if (packet.Length > SlotSize) return false;
        int free = Array.IndexOf(_releaseAt, long.MaxValue);
        if (free < 0) return false;
        packet.CopyTo(_held.AsSpan(free * SlotSize));
        _heldLength[free] = packet.Length;
        _releaseAt[free] = nowMs + Math.Max(1, _options.ReorderDelayMs);
        return true;
    }

    private void Send(ReadOnlySpan<byte> packet)
    {
        Forwarded++;
        _sink.Send(packet);
    }
}
