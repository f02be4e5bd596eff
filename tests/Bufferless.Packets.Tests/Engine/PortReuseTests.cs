using Bufferless.Packets.Engine;
using Bufferless.Packets.Flows;
using Bufferless.Packets.Tests.Simulation;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Engine;

/// <summary>
/// A client that reuses its port right after a connection closed. With "Connection: close" the server sends its FIN
/// first, so the Linux client keeps no TIME-WAIT and may pick the same port for its next connection within
/// milliseconds, while the engine still keeps the old flow for its closing timeout (hs_load.py in the lab: SYNs
/// dropped as UnexpectedInState, connections timing out after 5 s).
/// </summary>
public class PortReuseTests
{
    private const uint OldIsn = 0x1000_0000;

    private static List<uint> Syns(List<byte[]> packets)
    {
        var seqs = new List<uint>();
        foreach (byte[] p in packets)
        {
            Assert.True(SegmentCodec.TryParse(p, out Segment s));
            if (s.Has(TcpFlags.Syn) && !s.Has(TcpFlags.Ack))
                seqs.Add(s.SequenceNumber);
        }
        return seqs;
    }

    /// <summary>A connection on <see cref="EngineHarness.ClientPort"/> through the whole FIN exchange (server first).</summary>
    private static EngineHarness ClosedConnection(CutThroughEngine engine, EngineHarness.Router router, int port = EngineHarness.ClientPort)
    {
        long established = engine.Counters.Flows(FlowState.Established);
        var h = new EngineHarness(engine, router, port) { ClientIsn = OldIsn };
        h.Establish();
        // The server answers and closes (its FIN first), the client reads to EOF and closes too.
        h.Feed([h.Packet(false, h.ServerNext, h.ClientNext, TcpFlags.Ack | TcpFlags.Fin, default)]);
        uint clientEnd = 0;
        foreach (byte[] p in h.ToClient)
        {
            Assert.True(SegmentCodec.TryParse(p, out Segment s));
            if (s.Has(TcpFlags.Fin))
                clientEnd = s.SequenceNumber + (uint)s.Payload.Length + 1; // close_notify, then the FIN
        }
        Assert.NotEqual(0u, clientEnd);
        h.Feed([h.Packet(true, h.ClientNext, clientEnd, TcpFlags.Ack | TcpFlags.Fin, default)]);
        h.Feed([h.Packet(false, h.ServerNext + 1, h.ClientNext + 1, TcpFlags.Ack, default)]);
        Assert.Equal(established + 1, engine.Counters.Flows(FlowState.Established)); // kept for the closing timeout
        h.ToServer.Clear();
        h.ToClient.Clear();
        return h;
    }

    [Theory]
    [InlineData(CutThroughMode.Verified)]
    [InlineData(CutThroughMode.Bufferless)]
    public void NewSyn_SamePortRightAfterClose_PassedToServer_NewConnectionCompletesTls(CutThroughMode mode)
    {
        var router = new EngineHarness.Router();
        using var engine = new CutThroughEngine(EngineHarness.DefaultOptions(mode), router);
        using EngineHarness old = ClosedConnection(engine, router);

        // The same 4-tuple again a few ms later: a new ISN beyond the old connection's and newer timestamps.
        using var next = new EngineHarness(engine, router, EngineHarness.ClientPort) { ClientIsn = OldIsn + 100_000 };
        next.Advance(5);
        next.Establish(); // throws unless the TLS handshake completes through the engine

        Assert.Equal(0, engine.Counters.Drops(DropReason.UnexpectedInState));
        Assert.Equal(2, engine.Counters.HandshakesCompleted);
        Assert.Equal(1, engine.Counters.FlowsReopened);
        Assert.Equal(1, engine.Counters.Flows(FlowState.Established));
    }

    [Fact]
    public void NewSyn_SamePortRightAfterClose_ForwardedToServerWithItsIsn()
    {
        var router = new EngineHarness.Router();
        using var engine = new CutThroughEngine(EngineHarness.DefaultOptions(CutThroughMode.Verified), router);
        using EngineHarness old = ClosedConnection(engine, router);
        using var next = new EngineHarness(engine, router, EngineHarness.ClientPort);
        next.Advance(5);
        uint isn = OldIsn + 7; // the ISN alone would not say it is new: the newer TSval does (RFC 6191 §2)
        next.Feed([next.Packet(true, isn, 0, TcpFlags.Syn, default, syn: true)]);

        Assert.Equal([isn], Syns(next.ToServer));
        Assert.Equal(1, engine.Counters.Flows(FlowState.SynSeen));
        Assert.Equal(0, engine.Counters.Flows(FlowState.Established));
    }

    [Fact]
    public void OldDuplicateSyn_AfterClose_Dropped_FlowKept()
    {
        var router = new EngineHarness.Router();
        using var engine = new CutThroughEngine(EngineHarness.DefaultOptions(CutThroughMode.Verified), router);
        using EngineHarness old = ClosedConnection(engine, router);
        // The old connection's own SYN, delayed in the network: old ISN, old TSval.
        using var stray = new EngineHarness(engine, router, EngineHarness.ClientPort);
        stray.Feed([stray.Packet(true, OldIsn, 0, TcpFlags.Syn, default, syn: true)]);

        Assert.Empty(Syns(stray.ToServer));
        Assert.Equal(1, engine.Counters.Drops(DropReason.UnexpectedInState));
        Assert.Equal(1, engine.Counters.Flows(FlowState.Established));
        Assert.Equal(0, engine.Counters.FlowsReopened);
    }

    [Fact]
    public void TableFullOfClosedConnections_NewSynOnAnotherPort_EvictsOne_CompletesTls()
    {
        var router = new EngineHarness.Router();
        using var engine = new CutThroughEngine(EngineHarness.DefaultOptions(CutThroughMode.Verified, maxFlows: 4), router);
        var closed = new List<EngineHarness>();
        for (int i = 0; i < 4; i++)
            closed.Add(ClosedConnection(engine, router, 30000 + i));

        using var next = new EngineHarness(engine, router, 31000);
        next.Establish();

        Assert.Equal(0, engine.Counters.Drops(DropReason.TableFull));
        Assert.Equal(5, engine.Counters.HandshakesCompleted);
        foreach (EngineHarness h in closed)
            h.Dispose();
    }
}
