using Bufferless.Packets.Io;

namespace Bufferless.Packets.Tests.Offload;

/// <summary>A TUN device in memory: packets queued in <see cref="Incoming"/> are read, everything written is recorded.</summary>
internal sealed class FakeTun : IPacketDevice
{
    public readonly Queue<byte[]> Incoming = new();
    public readonly List<byte[]> Written = [];
    public Action? OnWait;

    public int Read(Span<byte> buffer)
    {
        if (Incoming.Count == 0) return 0;
        var p = Incoming.Dequeue();
        p.CopyTo(buffer);
        return p.Length;
    }

    public bool Write(ReadOnlySpan<byte> packet)
    {
        Written.Add(packet.ToArray());
        return true;
    }

    public bool WaitReadable(int timeoutMs)
    {
        if (Incoming.Count > 0) return true;
        if (OnWait is not null) OnWait();
        else Thread.Sleep(1);
        return Incoming.Count > 0;
    }
}
