using Bufferless.Packets.Engine;

namespace Bufferless.Packets.Tests.Simulation;

/// <summary>
/// DESIGN.md §6 problem cases: a server whose retransmissions do not line up with the records (cut into pieces,
/// as after a path MTU drop), and a client whose window is smaller than one record (the patent's small-window
/// section: 200-300 bytes).
/// </summary>
public class AwkwardPeersSimulationTests
{
    [Theory]
    [InlineData(CutThroughMode.Verified, 41, 300)]
    [InlineData(CutThroughMode.Bufferless, 42, 700)]
    [InlineData(CutThroughMode.Verified, 43, 128)]
    public void SplitServerRetransmissions_PiecesJoinedIntoTheirRecords(CutThroughMode mode, int seed, int piece)
    {
        var scenario = new SimScenario
        {
            Seed = seed, Mode = mode, ClientBytes = 2000, ServerBytes = 200_000,
            Client = new SimTcpOptions { Mss = 1460, EnforceWindow = true },
            Server = new SimTcpOptions { Mss = 1460, SplitRetransmissions = false, RetransmitPiece = piece },
            EngineToClient = new SimHop(Loss: 0.04), ServerToEngine = new SimHop(Loss: 0.02, Reorder: 0.02),
        };
        using var world = new SimWorld(scenario);
        world.Run(600_000);
        var failures = world.Check();
        Assert.True(failures.Count == 0, world.Describe() + "\n  " + string.Join("\n  ", failures));
        // Lost records come back from the server in pieces; the engine joins them and seals each whole record again
        // under its original number (the simulator checks byte-identical plaintext per record number).
        Assert.True(world.Engine.Counters.PartialRetransmissionsJoined > 0, world.Describe());
        Assert.Equal(0, world.Engine.Counters.PartialHeldBytes);
    }

    [Fact]
    public void SplitServerRetransmissions_PieceBudgetExhausted_DroppedNotStuck()
    {
        // With no budget for pieces the engine falls back to dropping them (bufferless mode needs no budget for the
        // client's records); the server's later retransmissions, cut the same way, can then never be joined, so the
        // run is not expected to finish, only to stay sound and hold nothing.
        var scenario = new SimScenario
        {
            Seed = 44, Mode = CutThroughMode.Bufferless, ClientBytes = 500, ServerBytes = 100_000,
            Server = new SimTcpOptions { SplitRetransmissions = false, RetransmitPiece = 400 },
            EngineToClient = new SimHop(Loss: 0.15),
        };
        var options = new CutThroughOptions
        {
            TlsConfig = SimTickets.ServerConfig(scenario.Suite, false), Mode = scenario.Mode, MaxFlows = 16, HashSeed = 1,
            GlobalHoldBudgetBytes = 0,
        };
        using var world = new SimWorld(scenario, options);
        world.Run(30_000);
        Assert.Empty(world.Violations);
        Assert.Equal(0, world.Engine.Counters.PartialRetransmissionsJoined);
        Assert.True(world.Engine.Counters.Drops(DropReason.HoldBudget) > 0, world.Describe());
        Assert.Equal(0, world.Engine.Counters.PartialHeldBytes);
    }

    [Theory]
    [InlineData(CutThroughMode.Verified, 51, 300, 0.0)]
    [InlineData(CutThroughMode.Bufferless, 52, 200, 0.5)]
    [InlineData(CutThroughMode.Verified, 53, 1000, 0.5)]
    public void TinyClientWindow_NeverExceeded_TransferCompletes(CutThroughMode mode, int seed, int window, double shortServerSegments)
    {
        // The client advertises a window smaller than one full record and drops anything beyond it; the server
        // sends small segments, so the record overhead inflates what the engine must send (patent Table 2).
        var scenario = new SimScenario
        {
            Seed = seed, Mode = mode, ClientBytes = 3000, ServerBytes = 40_000,
            Client = new SimTcpOptions { Mss = 536, ReceiveWindow = window, WindowScale = 0xFF, EnforceWindow = true },
            Server = new SimTcpOptions { Mss = 1460, ShortSegments = shortServerSegments },
            EngineToClient = new SimHop(Loss: 0.01),
        };
        using var world = new SimWorld(scenario);
        world.Run(600_000);
        var failures = world.Check();
        Assert.True(failures.Count == 0, world.Describe() + "\n  " + string.Join("\n  ", failures));
        Assert.Equal(0, world.Client.BeyondWindowBytes);
        Assert.True(world.Engine.Counters.WindowHolds > 0, "the window never filled: " + world.Describe());
        Assert.Equal(0, world.Engine.Counters.WindowHeldBytes);
    }
}
