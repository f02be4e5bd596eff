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
/// <c>vnetHeader</c> (a TUN opened with offload) packets are gathered in a few pending trains (<see cref="GsoCoalescer"/>),
/// one per TCP connection and direction at a time: consecutive packets of one direction become one GSO write, and
/// an ACK the engine sends the server does not cut the train of records going to the client. A pending lone pure
/// ACK is replaced by a later one of the same direction that acknowledges more (<see cref="GsoCoalescer.TryReplaceAck"/>).
/// Within one direction of a connection packets keep their order (a packet that cannot join writes that train
/// first); only packets of different directions or connections may pass one another, which TCP never relies on.
/// Everything pending is written by <see cref="Flush"/> (the packet loop calls it at the end of every read batch and
/// after timers), so nothing waits longer than one batch. Without a virtio header every packet is one write.
/// </summary>
public sealed class TunPacketSink : IBatchingPacketSink
{
    /// <summary>Pending trains at once: the two directions of a download or upload, and a little more.</summary>
    public const int Trains = 4;

    private readonly IPacketDevice _tun;
    private readonly GsoCoalescer[]? _trains;
    private int _next;

    public TunPacketSink(IPacketDevice tun, bool vnetHeader = false)
    {
        _tun = tun;
        if (vnetHeader)
        {
            _trains = new GsoCoalescer[Trains];
            for (int i = 0; i < Trains; i++) _trains[i] = new GsoCoalescer();
        }
    }

    /// <summary>With a virtio header every TCP packet is written with NEEDS_CSUM (<see cref="GsoCoalescer"/>).</summary>
    public bool CompletesChecksums => _trains is not null;

    /// <summary>Packets handed in by the engine and written (alone or inside a super-packet).</summary>
    public long Sent { get; private set; }
    /// <summary>Packets the device refused (counted per packet, a refused super-packet counts all it held).</summary>
    public long Failed { get; private set; }
    /// <summary>Write calls made.</summary>
    public long Writes { get; private set; }
    /// <summary>Pure ACKs not written because a later ACK of the same direction replaced them before the flush.</summary>
    public long AcksSuperseded { get; private set; }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Send(ReadOnlySpan<byte> ipPacket)
    {
        if (_trains is null)
        {
            Writes++;
            if (_tun.Write(ipPacket)) Sent++;
            else Failed++;
            return;
        }
        int free = -1;
        for (int i = 0; i < _trains.Length; i++)
        {
            GsoCoalescer train = _trains[i];
            if (train.Count == 0)
            {
                if (free < 0) free = i;
                continue;
            }
            if (train.TryAdd(ipPacket)) return;
            if (train.TryReplaceAck(ipPacket))
            {
                AcksSuperseded++;
                return;
            }
            if (train.MustPrecede(ipPacket))
            {
                Write(train);
                if (free < 0) free = i;
            }
        }
        if (free < 0)
        {
            // All trains busy with other directions: write the one whose turn it is.
            free = _next;
            _next = (_next + 1) % _trains.Length;
            Write(_trains[free]);
        }
        if (!_trains[free].TryAdd(ipPacket)) Failed++;
    }

    public void Flush()
    {
        if (_trains is null) return;
        foreach (GsoCoalescer train in _trains)
            if (train.Count > 0) Write(train);
    }

    private void Write(GsoCoalescer train)
    {
        int count = train.Count;
        Writes++;
        if (_tun.Write(train.Finish())) Sent += count;
        else Failed += count;
    }
}
