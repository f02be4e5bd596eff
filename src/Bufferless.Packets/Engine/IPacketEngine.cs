namespace Bufferless.Packets.Engine;

/// <summary>
/// The contract between packet I/O (TUN loop, simulator) and the cut-through engine. Single-threaded: one
/// thread calls these methods (flows are pinned to an engine instance by 5-tuple hash). Time is passed in
/// (monotonic milliseconds), never read inside, so simulations are deterministic.
/// </summary>
public interface IPacketEngine
{
    /// <summary>
    /// One packet read from the network (either direction). The engine may rewrite it in place and send it
    /// on, send other packets, or drop it. Never throws for malformed input (counted and dropped instead).
    /// </summary>
    void OnPacket(Span<byte> ipPacket, long nowMs);

    /// <summary>Runs due timers (retransmission of the engine's own bytes, idle and half-open expiry).</summary>
    void OnTimer(long nowMs);

    /// <summary>The earliest time <see cref="OnTimer"/> has work, or long.MaxValue.</summary>
    long NextTimerMs { get; }
}
