using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Bufferless.Packets.Engine;
using Bufferless.Packets.Tests.Simulation;

namespace Bufferless.Benchmarks.Packets;

/// <summary>
/// Per-packet cost of the cut-through engine on one established flow (handshake done for real in GlobalSetup).
/// Each iteration feeds a batch of full 1448-byte client segments (or the server segments that become them),
/// built in IterationSetup so only the engine's work is timed; one ACK from the far side follows every second
/// data packet and its translation is included. Mean = ns per data packet; MB/s = 1448-byte client-side segments
/// per second on one core. Run: <c>dotnet run -c Release --project bench/Bufferless.Benchmarks -- --filter '*Engine*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(EngineBenchmarkConfig))]
public abstract class EngineBenchmarkBase
{
    public const int Packets = 4096;

    [Params(CutThroughMode.Verified, CutThroughMode.Bufferless)]
    public CutThroughMode Mode { get; set; }

    internal EngineHarness Harness = null!;
    internal byte[][] Batch = [];

    [GlobalSetup]
    public void GlobalSetup()
    {
        Harness = new EngineHarness(EngineHarness.DefaultOptions(Mode));
        Harness.Establish();
        Harness.Capture = false;
        // Tiered JIT and dynamic PGO promote the hot path only after many calls and a background delay; with one
        // invocation per iteration BenchmarkDotNet's warm-up alone is too short, so run the path for a while first.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.ElapsedMilliseconds < 1500)
        {
            Warm();
            Thread.Sleep(20);
        }
    }

    protected abstract void Warm();

    [GlobalCleanup]
    public void GlobalCleanup() => Harness.Dispose();
}

/// <summary>Client to server: record boundaries found, each segment decrypted (streaming AEAD) and forwarded.</summary>
public class EngineClientToServerBenchmarks : EngineBenchmarkBase
{
    /// <summary>Client record plaintext: 1426 is one record per segment; 16384 spans twelve segments (curl, browsers).</summary>
    [Params(1426, 16384)]
    public int RecordSize { get; set; }

    protected override void Warm() => Harness.Feed(Harness.BuildClientBatch(Packets, RecordSize));

    [IterationSetup]
    public void Build() => Batch = Harness.BuildClientBatch(Packets, RecordSize);

    [Benchmark(OperationsPerInvoke = Packets)]
    public void DecryptAndForward() => Harness.Feed(Batch);
}

/// <summary>Server to client: each server segment sealed as one record, mapped, and the client's ACKs translated.</summary>
public class EngineServerToClientBenchmarks : EngineBenchmarkBase
{
    protected override void Warm() => Harness.Feed(Harness.BuildServerBatch(Packets));

    [IterationSetup]
    public void Build() => Batch = Harness.BuildServerBatch(Packets);

    [Benchmark(OperationsPerInvoke = Packets)]
    public void EncryptMapAndTranslateAcks() => Harness.Feed(Batch);
}

public sealed class EngineBenchmarkConfig : ManualConfig
{
    public EngineBenchmarkConfig() => AddColumn(new SegmentThroughputColumn());
}

/// <summary>MB/s (10^6 bytes a second) of 1448-byte client-side segments from the mean time per packet.</summary>
public sealed class SegmentThroughputColumn : IColumn
{
    public string Id => nameof(SegmentThroughputColumn);
    public string ColumnName => "MB/s/core";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "1448-byte segments per second on one core, in MB/s";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } stats)
            return "-";
        return (EngineHarness.SegmentPayload / stats.Mean * 1000).ToString("F0", CultureInfo.InvariantCulture);
    }
}
