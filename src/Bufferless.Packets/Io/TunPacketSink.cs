using Bufferless.Packets.Engine;
using Bufferless.Packets.Offload;

namespace Bufferless.Packets.Io;

/// <summary>An engine sink whose output may be held for a batched write; <see cref="Flush"/> writes what is held.</summary>
public interface IBatchingPacketSink : IPacketSink
{
    void Flush();
}

/// <summary>
/// The engine's output written straight into the device (a TUN: the kernel routes it by the main table). With
/// <c>vnetHeader</c> (a TUN opened with offload) consecutive packets of one flow are coalesced into one GSO
/// write (<see cref="GsoCoalescer"/>) until a packet cannot join or <see cref="Flush"/> is called (the packet
/// loop calls it at the end of every read batch and after timers); without it every packet is one write.
/// </summary>
public sealed class TunPacketSink(IPacketDevice tun, bool vnetHeader = false) : IBatchingPacketSink
{
    private readonly GsoCoalescer? _coalescer = vnetHeader ? new GsoCoalescer() : null;

    /// <summary>With a virtio header every TCP packet is written with NEEDS_CSUM (<see cref="GsoCoalescer"/>).</summary>
    public bool CompletesChecksums => _coalescer is not null;

    /// <summary>Packets handed in by the engine and written (alone or inside a super-packet).</summary>
    public long Sent { get; private set; }
    /// <summary>Packets the device refused (counted per packet, a refused super-packet counts all it held).</summary>
    public long Failed { get; private set; }
    /// <summary>Write calls made.</summary>
    public long Writes { get; private set; }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Send(ReadOnlySpan<byte> ipPacket)
    {
        if (_coalescer is null)
        {
            Writes++;
            if (tun.Write(ipPacket)) Sent++;
            else Failed++;
            return;
        }
        if (_coalescer.TryAdd(ipPacket)) return;
        Flush();
        if (!_coalescer.TryAdd(ipPacket)) Failed++;
    }

    public void Flush()
    {
        if (_coalescer is null || _coalescer.Count == 0) return;
        int count = _coalescer.Count;
        Writes++;
        if (tun.Write(_coalescer.Finish())) Sent += count;
        else Failed += count;
    }
}
