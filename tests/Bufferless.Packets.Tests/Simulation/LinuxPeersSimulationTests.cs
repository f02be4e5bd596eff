using Bufferless.Packets.Engine;

namespace Bufferless.Packets.Tests.Simulation;

/// <summary>
/// Endpoints that recover from loss like Linux (<see cref="SimTcpOptions.LinuxSender"/>): after a timeout they resend
/// one segment with cwnd 1 and back off. The kernel lab found that a client in that state, with a hole in the middle
/// of a 16 KiB record, waited forever: the engine may acknowledge whole records only (invariant 1).
/// </summary>
public class LinuxPeersSimulationTests
{
    private static SimScenario Upload(int seed, CutThroughMode mode, double loss) => new()
    {
        Seed = seed, Mode = mode, ClientBytes = 400_000, ServerBytes = 200, ClientMaxRecord = 16384, FixedRecordSize = true,
        Client = new SimTcpOptions { Mss = 1460, LinuxSender = true, ReceiveWindow = 262144 },
        Server = new SimTcpOptions { Mss = 1460, LinuxSender = true, ReceiveWindow = 262144 },
        ClientToEngine = new SimHop(Loss: loss, Reorder: 0.02, LatencyMs: 2, JitterMs: 3),
    };

    [Theory]
    [InlineData(CutThroughMode.Verified, 1)]
    [InlineData(CutThroughMode.Verified, 2)]
    [InlineData(CutThroughMode.Verified, 3)]
    [InlineData(CutThroughMode.Bufferless, 1)]
    [InlineData(CutThroughMode.Bufferless, 2)]
    public void LinuxClient_UploadWithLossBeforeEngine_Finishes(CutThroughMode mode, int seed)
    {
        using var world = new SimWorld(Upload(seed, mode, 0.03)) { TraceEnabled = true };
        world.Run(120_000);
        var failures = world.Check();
        if (failures.Count > 0)
            File.WriteAllLines(Path.Combine(Path.GetTempPath(), $"bufferless-linux-{mode}-{seed}.log"), world.Trace);
        Assert.True(failures.Count == 0, world.Describe() + $"\n  client timeouts {world.Client.Timeouts}, undos {world.Client.FrtoUndos}\n  " + string.Join("\n  ", failures));
        Assert.True(world.Client.SackNegotiated, "the engine grants SACK to the client");
    }
}
