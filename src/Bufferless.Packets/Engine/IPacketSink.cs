namespace Bufferless.Packets.Engine;

/// <summary>
/// Where the engine's output packets go: the TUN device in production, the simulated network in tests.
/// The span is valid only during the call (the sink copies or writes it out before returning).
/// </summary>
public interface IPacketSink
{
    /// <summary>Sends one complete IPv4 or IPv6 packet (checksums already correct).</summary>
    void Send(ReadOnlySpan<byte> ipPacket);
}
