using Bufferless.Packets.Engine;

namespace Bufferless.Packets.Io;

/// <summary>The engine's output written straight into the device (a TUN: the kernel routes it by the main table).</summary>
public sealed class TunPacketSink(IPacketDevice tun) : IPacketSink
{
    public long Sent { get; private set; }
    public long Failed { get; private set; }

    public void Send(ReadOnlySpan<byte> ipPacket)
    {
        if (tun.Write(ipPacket)) Sent++;
        else Failed++;
    }
}
