using Bufferless.Packets.Engine;
using Bufferless.Packets.Tests.Simulation;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Engine;

/// <summary>
/// Window probes and keepalives (RFC 9293 §3.8.6.1, §3.8.4; Linux tcp_xmit_probe_skb: no data, one byte below what
/// the peer acknowledged) must reach the other side as segments it has to answer. The kernel lab found a download
/// stalled for good: the client's window update was lost, the server probed its zero window, and the engine passed each
/// probe on as an ordinary pure ACK at its next sequence number, which the client accepts silently.
/// </summary>
public class ProbeTests
{
    [Theory]
    [InlineData(CutThroughMode.Verified)]
    [InlineData(CutThroughMode.Bufferless)]
    public void ServerProbe_AllAcknowledged_ClientGetsSegmentBelowItsAck(CutThroughMode mode)
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(mode));
        harness.Establish();
        harness.Feed(harness.BuildServerBatch(4)); // the client acknowledges every record
        harness.ToClient.Clear();

        harness.Feed([harness.Packet(false, harness.ServerNext - 1, harness.ServerRcvNxt, TcpFlags.Ack, default)]);

        SeenSegment probe = Assert.Single(SeenSegment.Parse(harness.ToClient));
        Assert.Equal(0, probe.PayloadLength);
        Assert.Equal(harness.ClientRcvNxt - 1, probe.SequenceNumber);
        Assert.Equal(1, harness.Engine.Counters.ProbesToClient);
    }

    [Fact]
    public void ServerPureAck_AtItsNextSequence_ClientGetsOrdinaryAck()
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(CutThroughMode.Verified));
        harness.Establish();
        harness.Feed(harness.BuildServerBatch(2));
        harness.ToClient.Clear();

        harness.Feed([harness.Packet(false, harness.ServerNext, harness.ServerRcvNxt, TcpFlags.Ack, default)]);

        SeenSegment ack = Assert.Single(SeenSegment.Parse(harness.ToClient));
        Assert.Equal(harness.ClientRcvNxt, ack.SequenceNumber);
        Assert.Equal(0, harness.Engine.Counters.ProbesToClient);
    }

    [Theory]
    [InlineData(CutThroughMode.Verified)]
    [InlineData(CutThroughMode.Bufferless)]
    public void ClientKeepalive_AfterRecordsAcknowledged_ServerGetsSegmentBelowItsAck(CutThroughMode mode)
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(mode));
        harness.Establish();
        harness.Feed(harness.BuildClientBatch(2, 1426)); // two records, the server acknowledges them
        harness.ToServer.Clear();
        uint serverRcvNxt = harness.ClientIsn + 1 + 2 * 1426;

        harness.Feed([harness.Packet(true, harness.ClientNext - 1, harness.ClientRcvNxt, TcpFlags.Ack, default)]);

        SeenSegment probe = Assert.Single(SeenSegment.Parse(harness.ToServer));
        Assert.Equal(0, probe.PayloadLength);
        Assert.Equal(serverRcvNxt - 1, probe.SequenceNumber);
        Assert.Equal(1, harness.Engine.Counters.ProbesToServer);

        // An ordinary pure ACK from the client stays one.
        harness.ToServer.Clear();
        harness.Feed([harness.Packet(true, harness.ClientNext, harness.ClientRcvNxt, TcpFlags.Ack, default)]);
        SeenSegment ack = Assert.Single(SeenSegment.Parse(harness.ToServer));
        Assert.Equal(serverRcvNxt, ack.SequenceNumber);
        Assert.Equal(1, harness.Engine.Counters.ProbesToServer);
    }
}
