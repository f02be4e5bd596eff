using Bufferless.Packets.Engine;
using Bufferless.Packets.Flows;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Simulation;

/// <summary>
/// Endpoints that recover from loss like Linux (<see cref="SimTcpOptions.LinuxSender"/>): after a timeout they resend
/// one segment with cwnd 1 and back off. The kernel lab found that a client in that state, with a hole in the middle
/// of a 16 KiB record, waited forever: the engine may acknowledge whole records only (invariant 1), and the client
/// resends only its head. With SACK granted to the client the engine names what it holds, so the client's recovery
/// moves on to the hole (tests/e2e/known-issues/README.md tells what is left).
/// </summary>
public class LinuxPeersSimulationTests
{
    private static SimScenario Upload(int seed, CutThroughMode mode, double loss, bool sack = true) => new()
    {
        Seed = seed, Mode = mode, ClientBytes = 400_000, ServerBytes = 200, ClientMaxRecord = 16384, FixedRecordSize = true,
        Client = new SimTcpOptions { Mss = 1460, LinuxSender = true, ReceiveWindow = 262144, OfferSack = sack },
        Server = new SimTcpOptions { Mss = 1460, LinuxSender = true, ReceiveWindow = 262144 },
        ClientToEngine = new SimHop(Loss: loss, Reorder: 0.02, LatencyMs: 2, JitterMs: 3),
    };

    private static SimWorld Run(SimScenario scenario, bool trace = false)
    {
        var world = new SimWorld(scenario) { TraceEnabled = trace };
        world.Run(120_000);
        return world;
    }

    /// <summary>
    /// The bug as the kernel lab saw it, still there in verified mode without SACK: the client backs off forever (the
    /// server has nothing of a record before its tag, so nothing of it can be acknowledged, invariants 1 and 3).
    /// </summary>
    [Fact]
    public void LinuxClient_WithoutSack_Verified_UploadDeadlocks()
    {
        using SimWorld world = Run(Upload(1, CutThroughMode.Verified, 0.03, sack: false));
        Assert.False(world.Done, world.Describe());
        Assert.False(world.Client.SackNegotiated);
        Assert.True(world.Client.Timeouts >= 10, $"client timeouts {world.Client.Timeouts}");
        Assert.True(world.Server.Received.Count < 400_000);
    }

    /// <summary>
    /// Bufferless mode acknowledges a client stuck on its head inside the record being assembled, up to what the server
    /// acknowledged (CutThroughEngine.GrantRecordPartAck): even without SACK the upload finishes (it deadlocked on every
    /// seed before). 100 of 100 seeds at 2% and 3% loss when this was written.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void LinuxClient_WithoutSack_Bufferless_AckedInsideRecord_UploadFinishes(int seed)
    {
        using SimWorld world = Run(Upload(seed, CutThroughMode.Bufferless, 0.03, sack: false));
        var failures = world.Check();
        Assert.True(failures.Count == 0, world.Describe() + $"\n  client timeouts {world.Client.Timeouts}\n  " + string.Join("\n  ", failures));
        Assert.False(world.Client.SackNegotiated);
        Assert.True(world.Engine.Counters.RecordPartAcks > 0);
        Assert.Equal(0, world.Engine.Counters.LostRecordStateResets);
    }

    /// <summary>
    /// Verified seed 4 (the client's last data segment lost with its FIN behind it) has its own test since the engine
    /// keeps and SACKs such a FIN: <see cref="LinuxClient_Verified_LastSegmentLostFinBehind_FinKeptAndUploadFinishes"/>.
    /// </summary>
    [Theory]
    [InlineData(CutThroughMode.Verified, 1)]
    [InlineData(CutThroughMode.Verified, 2)]
    [InlineData(CutThroughMode.Verified, 6)]
    [InlineData(CutThroughMode.Bufferless, 1)]
    [InlineData(CutThroughMode.Bufferless, 2)]
    [InlineData(CutThroughMode.Bufferless, 4)]
    public void LinuxClient_UploadWithLossBeforeEngine_Finishes(CutThroughMode mode, int seed)
    {
        using SimWorld world = Run(Upload(seed, mode, 0.03));
        var failures = world.Check();
        Assert.True(failures.Count == 0, world.Describe() + $"\n  client timeouts {world.Client.Timeouts}, undos {world.Client.FrtoUndos}\n  " + string.Join("\n  ", failures));
        Assert.True(world.Client.SackNegotiated, "the engine grants SACK to the client");
        Assert.True(world.Engine.Counters.ClientSegmentsHeld > 0);
        Assert.Equal(0, world.Engine.Counters.ClientHeldBytes); // every hold went back to the pool once acknowledged
    }

    /// <summary>
    /// The client's last data segment lost with its FIN-only segment behind it (verified seed 4 at 3% loss): the engine
    /// keeps a FIN that arrives ahead of a hole and SACKs its sequence number, so the client's recovery (RACK) sees the
    /// lost segment as the one hole and resends it; the FIN is passed on once the hole fills. Before, a FIN ahead of a
    /// hole was dropped unSACKed, and the client, after a tail loss probe and a timeout, resent only its head for ever.
    /// </summary>
    [Fact]
    public void LinuxClient_Verified_LastSegmentLostFinBehind_FinKeptAndUploadFinishes()
    {
        using SimWorld world = Run(Upload(4, CutThroughMode.Verified, 0.03));
        var failures = world.Check();
        Assert.True(failures.Count == 0, world.Describe() + $"\n  client timeouts {world.Client.Timeouts}, undos {world.Client.FrtoUndos}\n  " + string.Join("\n  ", failures));
        Assert.True(world.Engine.Counters.ClientFinsHeld > 0, "the FIN never arrived ahead of a hole: the test no longer covers it");
        Assert.Equal(0, world.Engine.Counters.ClientHeldBytes);
    }

    /// <summary>
    /// Forty seeds per mode at the kernel lab's 2% loss. In verified mode a Linux client can still be left with nothing
    /// for the engine to SACK after a timeout (its window down to the head, which only the record's end may acknowledge);
    /// the engine withholds the newest segments of a client that resent its head so that one is left (CipherHold), and
    /// the residue is pinned here so that a change that makes it worse fails (before SACK: 0 of 40 in both modes; 34 of
    /// 40 before the simulated sender reset its RTO backoff on SACK RTT samples and sent tail loss probes; 40 of 40,
    /// 390 of 400 over seeds 1-400, when this was written). In bufferless mode the engine acknowledges such a client
    /// inside the record (GrantRecordPartAck): all finish.
    /// </summary>
    [Theory]
    [InlineData(CutThroughMode.Verified, 40)]
    [InlineData(CutThroughMode.Bufferless, 40)]
    public void LinuxClient_UploadSeeds_MostFinish(CutThroughMode mode, int expectedAtLeast)
    {
        var failed = new List<int>();
        long probes = 0;
        for (int seed = 1; seed <= 40; seed++)
        {
            using SimWorld world = Run(Upload(seed, mode, 0.02));
            var failures = world.Check();
            probes += world.Client.LossProbes;
            // Whatever finishes must be exact; a seed that does not finish may only be stuck, never wrong.
            Assert.DoesNotContain(failures, x => x.Contains("bytes the client did not send") || x.Contains("invariant") || x.Contains("reset"));
            if (failures.Count > 0)
                failed.Add(seed);
        }
        Assert.True(40 - failed.Count >= expectedAtLeast, $"{40 - failed.Count}/40 finished; stuck: {string.Join(",", failed)}");
        Assert.True(probes > 0, "the simulated Linux client never sent a tail loss probe");
    }

    /// <summary>
    /// Bufferless mode with loss on both sides of the engine and no SACK, so that part ACKs are frequent (tens per
    /// upload): after a part ACK the client will not resend the record's start, so plaintext the server loses in the rest
    /// of that record can only come from the copy the engine keeps until the server acknowledges it (ReplayCopy). Without
    /// the copy every one of these seeds was reset (LostRecordStateResets); before part ACKs they deadlocked
    /// (LinuxClient_WithoutSack_*). 100 of 100 seeds at 2% and at 3% on both sides when this was written.
    /// </summary>
    [Fact]
    public void LinuxClient_Bufferless_NoSack_LossOnBothSides_AllFinishWithoutReset()
    {
        var failed = new List<string>();
        long replays = 0;
        for (int seed = 1; seed <= 20; seed++)
        {
            var scenario = Upload(seed, CutThroughMode.Bufferless, 0.02, sack: false) with
            {
                EngineToServer = new SimHop(Loss: 0.02, Reorder: 0.02, LatencyMs: 1, JitterMs: 2),
                ServerToEngine = new SimHop(Loss: 0.02, LatencyMs: 1, JitterMs: 2),
            };
            using SimWorld world = Run(scenario);
            var failures = world.Check();
            replays += world.Engine.Counters.PartAckReplays;
            if (failures.Count > 0 || world.Engine.Counters.LostRecordStateResets > 0)
                failed.Add($"{seed}: {string.Join("; ", failures)} resets {world.Engine.Counters.LostRecordStateResets}");
            Assert.Equal(0, world.Engine.Counters.PartAckCopyBytes); // every copy went back once acknowledged
        }
        Assert.True(failed.Count == 0, string.Join("\n", failed));
        Assert.True(replays > 0, "no seed needed the copy: the test no longer covers it");
    }

    /// <summary>
    /// The kernel lab's clean 64 MiB upload stalled about one run in seven: the client's window (1.6 MB) was far beyond
    /// what the engine keeps past its ACK (<c>CipherHold.Reach</c>), so after any hole everything the client sent past
    /// the reach was dropped unkept and unSACKed, and after a timeout the client resent only its head (the record could
    /// not end). The window the client gets now ends at most the reach past the ACK, so every in-window segment can be
    /// kept and SACKed; with peers whose windows are large the upload still finishes.
    /// </summary>
    [Theory]
    [InlineData(CutThroughMode.Verified)]
    [InlineData(CutThroughMode.Bufferless)]
    public void LinuxClient_LargeWindows_ClientWindowWithinHoldReach_UploadFinishes(CutThroughMode mode)
    {
        var scenario = new SimScenario
        {
            Seed = 3, Mode = mode, ClientBytes = 1_000_000, ServerBytes = 200, ClientMaxRecord = 16384, FixedRecordSize = true,
            Client = new SimTcpOptions { Mss = 1460, LinuxSender = true, ReceiveWindow = 2 << 20, OfferSack = true },
            Server = new SimTcpOptions { Mss = 1460, LinuxSender = true, ReceiveWindow = 2 << 20 },
            ClientToEngine = new SimHop(Loss: 0.01, Reorder: 0.01, LatencyMs: 1, JitterMs: 1),
        };
        var world = new SimWorld(scenario);
        long widest = 0;
        int checkedAcks = 0;
        world.Tamper = (hop, packet) =>
        {
            if (hop == 1 && SegmentCodec.TryParse(packet, out Segment seg) && !seg.Has(TcpFlags.Syn) && seg.Has(TcpFlags.Ack))
            {
                // The server's SYN-ACK carried window scale 7, passed on to the client unchanged.
                widest = Math.Max(widest, (long)seg.Window << 7);
                checkedAcks++;
            }
            return packet;
        };
        using (world)
        {
            world.Run(120_000);
            var failures = world.Check();
            Assert.True(failures.Count == 0, world.Describe() + $"\n  client timeouts {world.Client.Timeouts}\n  " + string.Join("\n  ", failures));
            Assert.True(checkedAcks > 100, $"{checkedAcks} ACKs to the client");
            Assert.True(widest <= CipherHold.Reach, $"window {widest} past the ACK, reach {CipherHold.Reach}");
            Assert.True(widest >= CipherHold.Reach - 128, $"window {widest}: the cap, not the server, should bound it");
        }
    }
}
