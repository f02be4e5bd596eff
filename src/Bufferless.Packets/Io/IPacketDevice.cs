namespace Bufferless.Packets.Io;

/// <summary>Whole-packet, non-blocking I/O: a TUN device in production, an in-memory queue in tests.</summary>
public interface IPacketDevice
{
    /// <summary>Reads one packet into <paramref name="buffer"/>; returns its length, 0 if none is waiting.</summary>
    int Read(Span<byte> buffer);

    /// <summary>Writes one packet; false if it was refused.</summary>
    bool Write(ReadOnlySpan<byte> packet);

    /// <summary>Sleeps until a packet is readable or the timeout passes; true if readable.</summary>
    bool WaitReadable(int timeoutMs);
}
