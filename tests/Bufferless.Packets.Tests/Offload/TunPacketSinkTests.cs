using System.Buffers.Binary;
using Bufferless.Packets.Io;
using Bufferless.Packets.Offload;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Offload;

/// <summary>The offloading sink: one pending train per direction, lone pure ACKs superseded, order kept within a direction.</summary>
public class TunPacketSinkTests
{
    private const uint Client = 0xC6120102, Server = 0xC6120202;
    private static readonly byte[] Timestamps = [1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78];

    /// <summary>A packet towards the client (server's address, port 443) or towards the server (client's address, port 80).</summary>
    private static byte[] Packet(bool toClient, uint seq, uint ack, int payload, TcpFlags flags = TcpFlags.Ack, ushort clientPort = 40000)
    {
        var spec = toClient
            ? new TcpPacketSpec(false, Server, Client, 443, clientPort, new SeqNumber(seq), new SeqNumber(ack), flags, 500)
            : new TcpPacketSpec(false, Client, Server, clientPort, 80, new SeqNumber(seq), new SeqNumber(ack), flags, 500);
        var buf = new byte[2000];
        var data = new byte[payload];
        for (int i = 0; i < payload; i++) data[i] = (byte)(seq + i);
        int n = TcpPacketWriter.Write(buf, spec, Timestamps, data, partialChecksum: true);
        return buf[..n];
    }

    private static (VirtioNetHeader Header, byte[] Packet) Parse(byte[] written)
    {
        Assert.True(VirtioNetHeader.TryRead(written, out var h));
        return (h, written[VirtioNetHeader.Size..]);
    }

    private static uint AckOf(byte[] packet) => BinaryPrimitives.ReadUInt32BigEndian(packet.AsSpan(20 + 8));
    private static uint SeqOf(byte[] packet) => BinaryPrimitives.ReadUInt32BigEndian(packet.AsSpan(20 + 4));

    [Fact]
    public void Send_AckToServerBetweenRecords_RecordsStayOneTrain()
    {
        var tun = new FakeTun();
        var sink = new TunPacketSink(tun, vnetHeader: true);

        sink.Send(Packet(toClient: true, 1000, 50, 1400));
        sink.Send(Packet(toClient: false, 50, 7000, 0));
        sink.Send(Packet(toClient: true, 2400, 50, 1400));
        sink.Flush();

        Assert.Equal(2, tun.Written.Count);
        Assert.Equal(2, sink.Writes);
        Assert.Equal(3, sink.Sent);
        var train = tun.Written.Select(Parse).Single(w => w.Header.GsoType == VirtioNetHeader.GsoTcpV4);
        Assert.Equal(1400, train.Header.GsoSize);
        Assert.Equal(40 + 12 + 2800, train.Packet.Length);
        var ack = tun.Written.Select(Parse).Single(w => w.Header.GsoType == VirtioNetHeader.GsoNone);
        Assert.Equal(7000u, AckOf(ack.Packet));
    }

    [Fact]
    public void Send_LaterPureAckSameDirection_ReplacesThePendingOne()
    {
        var tun = new FakeTun();
        var sink = new TunPacketSink(tun, vnetHeader: true);

        sink.Send(Packet(toClient: false, 50, 7000, 0));
        sink.Send(Packet(toClient: false, 50, 9000, 0));
        sink.Send(Packet(toClient: false, 50, 12000, 0));
        sink.Flush();

        var only = Assert.Single(tun.Written);
        Assert.Equal(12000u, AckOf(Parse(only).Packet));
        Assert.Equal(2, sink.AcksSuperseded);
        Assert.Equal(1, sink.Sent);
        // The survivor is a whole packet whose checksum the kernel completes.
        GsoOffloadTests.CompletedSingle(only);
    }

    [Theory]
    [InlineData("duplicate-ack")]
    [InlineData("older-ack")]
    [InlineData("other-seq")]
    [InlineData("other-port")]
    [InlineData("with-payload")]
    [InlineData("fin")]
    public void Send_AckThatDoesNotSupersede_BothWrittenInOrder(string kind)
    {
        var tun = new FakeTun();
        var sink = new TunPacketSink(tun, vnetHeader: true);
        byte[] first = Packet(toClient: false, 50, 7000, 0);
        byte[] second = kind switch
        {
            "duplicate-ack" => Packet(toClient: false, 50, 7000, 0),
            "older-ack" => Packet(toClient: false, 50, 6000, 0),
            "other-seq" => Packet(toClient: false, 51, 9000, 0),
            "other-port" => Packet(toClient: false, 50, 9000, 0, clientPort: 40001),
            "with-payload" => Packet(toClient: false, 50, 9000, 100),
            "fin" => Packet(toClient: false, 50, 9000, 0, TcpFlags.Ack | TcpFlags.Fin),
            _ => throw new ArgumentException(kind),
        };

        sink.Send(first);
        sink.Send(second);
        sink.Flush();

        Assert.Equal(0, sink.AcksSuperseded);
        Assert.Equal(2, tun.Written.Count);
        if (kind != "other-port")
        {
            // Same direction: written in the order sent.
            Assert.Equal(7000u, AckOf(Parse(tun.Written[0]).Packet));
            Assert.Equal(SeqOf(second), SeqOf(Parse(tun.Written[1]).Packet));
        }
    }

    [Fact]
    public void Send_SameDirectionPacketThatCannotJoin_TrainWrittenFirst()
    {
        var tun = new FakeTun();
        var sink = new TunPacketSink(tun, vnetHeader: true);

        sink.Send(Packet(toClient: true, 1000, 50, 1400));
        sink.Send(Packet(toClient: true, 2400, 50, 1400));
        sink.Send(Packet(toClient: true, 3800, 50, 24, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin));

        Assert.Single(tun.Written); // the FIN cannot join: the train goes before it, at once
        sink.Flush();
        Assert.Equal(2, tun.Written.Count);
        Assert.Equal(1000u, SeqOf(Parse(tun.Written[0]).Packet));
        Assert.Equal(3800u, SeqOf(Parse(tun.Written[1]).Packet));
    }

    [Fact]
    public void Send_MoreDirectionsThanTrains_EveryPacketWrittenOnce()
    {
        var tun = new FakeTun();
        var sink = new TunPacketSink(tun, vnetHeader: true);
        int directions = TunPacketSink.Trains + 3;

        for (int round = 0; round < 2; round++)
            for (int d = 0; d < directions; d++)
                sink.Send(Packet(toClient: true, (uint)(1000 + round * 1400), 50, 1400, clientPort: (ushort)(41000 + d)));
        sink.Flush();

        Assert.Equal(2 * directions, sink.Sent);
        Assert.Equal(0, sink.Failed);
        int packets = tun.Written.Select(Parse).Sum(w => w.Header.GsoType == VirtioNetHeader.GsoNone ? 1 : (w.Packet.Length - 52) / 1400);
        Assert.Equal(2 * directions, packets);
        // Per direction, the first record never follows the second.
        for (int d = 0; d < directions; d++)
        {
            var seqs = tun.Written.Select(Parse)
                .Where(w => BinaryPrimitives.ReadUInt16BigEndian(w.Packet.AsSpan(22)) == 41000 + d)
                .Select(w => SeqOf(w.Packet)).ToList();
            Assert.Equal(seqs.OrderBy(s => s), seqs);
            Assert.Equal(1000u, seqs[0]);
        }
    }

    [Fact]
    public void Send_NonTcp_WritesEverythingPendingFirst()
    {
        var tun = new FakeTun();
        var sink = new TunPacketSink(tun, vnetHeader: true);
        byte[] udp = Packet(toClient: true, 1, 1, 100);
        udp[9] = IpProtocol.Udp;

        sink.Send(Packet(toClient: true, 1000, 50, 1400));
        sink.Send(Packet(toClient: false, 50, 7000, 0));
        sink.Send(udp);

        Assert.Equal(2, tun.Written.Count);
        sink.Flush();
        Assert.Equal(3, tun.Written.Count);
        Assert.Equal(udp, Parse(tun.Written[2]).Packet);
    }
}
