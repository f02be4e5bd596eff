namespace Bufferless.Packets.Engine;

/// <summary>
/// Where the engine's output packets go: the TUN device in production, the simulated network in tests.
/// The span is valid only during the call (the sink copies or writes it out before returning).
/// </summary>
public interface IPacketSink
{
    /// <summary>
    /// Sends one complete IPv4 or IPv6 packet (checksums already correct, except the TCP and IPv4 header checksums
    /// when <see cref="CompletesChecksums"/>).
    /// </summary>
    void Send(ReadOnlySpan<byte> ipPacket);

    /// <summary>
    /// True when the sink has the TCP checksum of every packet completed downstream (a TUN with a virtio header marks
    /// it NEEDS_CSUM: the kernel or the device finishes it), so the engine may leave only the pseudo-header sum in the
    /// field instead of summing every payload byte, and may leave the IPv4 header checksum zero (the sink fills it once
    /// per write).
    /// </summary>
    bool CompletesChecksums => false;
}
