using Bufferless.Packets.Engine;
using Bufferless.Packets.Flows;
using Bufferless.Packets.Tests.Simulation;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Engine;

/// <summary>
/// How flows end: client resets while records are in flight to the server, and the FIN exchange (a mass close of
/// idle connections left servers established when the engine's RST missed the server's RCV.NXT).
/// </summary>
public class CloseTests
{
    private const long Later = 10_000_000; // well past every timeout (the harness clock starts at 1 ms)

    private static List<uint> ResetSequences(List<byte[]> packets) =>
        SeenSegment.Parse(packets).Where(s => s.Has(TcpFlags.Rst)).Select(s => s.SequenceNumber).ToList();

    [Theory]
    [InlineData(CutThroughMode.Bufferless)]
    [InlineData(CutThroughMode.Verified)]
    public void ClientReset_ForwardedRecordLostOnTheWayToServer_ServerGetsRstAtItsRcvNxt(CutThroughMode mode)
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(mode));
        harness.Establish();
        uint serverRcvNxt = harness.ClientIsn + 1;
        // One whole record (1426 bytes of plaintext in one segment): the engine passes it on, the server never gets it
        // (lost between the engine and the server), so the server's RCV.NXT stays where it was.
        harness.Feed(harness.BuildClientBatch(1, 1426));
        Assert.Contains(SeenSegment.Parse(harness.ToServer), s => s.PayloadLength > 0);
        harness.ToServer.Clear();

        harness.Feed([harness.Packet(true, harness.ClientNext, 0, TcpFlags.Rst, default)]);

        // RFC 5961 §3.2: only an RST at exactly RCV.NXT resets the server; the engine's sent end (1426 further) would
        // only draw a challenge ACK.
        Assert.Contains(serverRcvNxt, ResetSequences(harness.ToServer));
        Assert.Equal(0, harness.Engine.Counters.Flows(FlowState.Established));
        Assert.Equal(1, harness.Engine.Counters.ResetsFromClient);
    }

    [Fact]
    public void ClientReset_ServerAnswersWithChallengeAck_EngineResetsAtTheAckNumber_FlowFreedLater()
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(CutThroughMode.Bufferless));
        harness.Establish();
        harness.Feed(harness.BuildClientBatch(2, 1426));
        harness.Feed([harness.Packet(true, harness.ClientNext, 0, TcpFlags.Rst, default)]);
        harness.ToServer.Clear();
        harness.ToClient.Clear();
        // The server got part of what the engine sent (its RCV.NXT is neither the engine's sent end nor its last ACK):
        // both resets miss, it answers with a challenge ACK carrying its RCV.NXT (RFC 5961 §3.2).
        uint rcvNxt = harness.ClientIsn + 1 + 1426 + 700;
        harness.Feed([harness.Packet(false, harness.ServerNext, rcvNxt, TcpFlags.Ack, default)]);

        Assert.Equal([rcvNxt], ResetSequences(harness.ToServer));
        Assert.DoesNotContain(SeenSegment.Parse(harness.ToClient), s => !s.Has(TcpFlags.Rst));
        Assert.Equal(1, harness.Engine.Counters.ResetsToClosedServer);
        // A server RST for the flow gets no answer (RFC 9293 §3.10.7.1: an incoming RST is discarded when closed).
        harness.ToServer.Clear();
        harness.Feed([harness.Packet(false, harness.ServerNext, 0, TcpFlags.Rst, default)]);
        Assert.Empty(harness.ToServer);

        Assert.Equal(1, harness.Engine.Counters.Flows(FlowState.Closed));
        harness.Engine.OnTimer(Later);
        Assert.Equal(0, harness.Engine.Counters.Flows(FlowState.Closed));
        Assert.Equal(0, harness.Engine.Counters.Flows(FlowState.Established));
        // A reset flow's slot freed later is not an idle expiry.
        Assert.Equal(1, harness.Engine.Counters.ClosedFlowsFreed);
        Assert.Equal(0, harness.Engine.Counters.FlowsExpiredIdle);
    }

    [Fact]
    public void ClientReset_NothingInFlight_OneRstAtTheServersRcvNxt()
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(CutThroughMode.Bufferless));
        harness.Establish();
        harness.Feed([harness.Packet(true, harness.ClientNext, 0, TcpFlags.Rst, default)]);
        Assert.Equal([harness.ClientIsn + 1], ResetSequences(harness.ToServer));
    }

    [Fact]
    public void BothFins_ClientsFinalAck_ReachesServerAcknowledgingItsFin_NoDrops()
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(CutThroughMode.Bufferless));
        harness.Establish();
        harness.Feed([harness.Packet(true, harness.ClientNext, harness.ClientRcvNxt, TcpFlags.Ack | TcpFlags.Fin, default)]);
        SeenSegment fin = Assert.Single(SeenSegment.Parse(harness.ToServer), s => s.Has(TcpFlags.Fin));
        Assert.Equal(harness.ClientIsn + 1, fin.SequenceNumber);
        harness.ToServer.Clear();

        // The server closes too (its FIN acknowledges the client's): close_notify and FIN to the client.
        harness.Feed([harness.Packet(false, harness.ServerNext, harness.ClientIsn + 2, TcpFlags.Ack | TcpFlags.Fin, default)]);
        SeenSegment closeNotify = Assert.Single(SeenSegment.Parse(harness.ToClient), s => s.Has(TcpFlags.Fin));
        uint clientEnd = closeNotify.SequenceNumber + (uint)closeNotify.PayloadLength + 1;
        harness.ToClient.Clear();

        // The client's last ACK covers the close_notify record and the FIN: the server's FIN is acknowledged.
        harness.Feed([harness.Packet(true, harness.ClientNext + 1, clientEnd, TcpFlags.Ack, default)]);
        List<SeenSegment> toServer = SeenSegment.Parse(harness.ToServer);
        Assert.Contains(toServer, s => s.Has(TcpFlags.Ack) && !s.Has(TcpFlags.Rst) && s.AcknowledgementNumber == harness.ServerNext + 1);
        Assert.DoesNotContain(toServer, s => s.Has(TcpFlags.Rst));
        Assert.Equal(0, harness.Engine.Counters.Drops(DropReason.NoFlow));
        Assert.Equal(0, harness.Engine.Counters.Drops(DropReason.FlowClosed));

        // Both FINs seen: the flow lingers out the closing timeout, counted as a closing expiry, not an idle one.
        harness.Engine.OnTimer(Later);
        Assert.Equal(0, harness.Engine.FlowCount);
        Assert.Equal(1, harness.Engine.Counters.FlowsExpiredClosing);
        Assert.Equal(0, harness.Engine.Counters.FlowsExpiredIdle);
    }

    [Fact]
    public void IdleEstablishedFlow_Expires_CountedIdle()
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(CutThroughMode.Bufferless));
        harness.Establish();
        harness.Engine.OnTimer(Later);
        Assert.Equal(0, harness.Engine.FlowCount);
        Assert.Equal(1, harness.Engine.Counters.FlowsExpiredIdle);
        Assert.Equal(0, harness.Engine.Counters.FlowsExpiredClosing);
        Assert.Equal(0, harness.Engine.Counters.ClosedFlowsFreed);
    }

    [Fact]
    public void NonTcpPacket_CountedAsNotTcp_NotMalformed()
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(CutThroughMode.Bufferless));
        // An IPv4 UDP datagram 198.18.1.2 -> 198.18.2.2 (header checksum filled in below).
        byte[] udp =
        [
            0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 198, 18, 1, 2, 198, 18, 2, 2,
            0x13, 0x88, 0x13, 0x89, 0, 8, 0, 0,
        ];
        uint sum = 0;
        for (int i = 0; i < 20; i += 2)
            sum += (uint)(udp[i] << 8 | udp[i + 1]);
        while (sum > 0xFFFF)
            sum = (sum & 0xFFFF) + (sum >> 16);
        udp[10] = (byte)(~sum >> 8);
        udp[11] = (byte)~sum;
        harness.Engine.OnPacket(udp, 1);
        harness.Engine.OnPacket(new byte[] { 0x45, 0, 0 }, 1);
        Assert.Equal(1, harness.Engine.Counters.Drops(DropReason.NotTcp));
        Assert.Equal(1, harness.Engine.Counters.Drops(DropReason.Malformed));
    }
}
