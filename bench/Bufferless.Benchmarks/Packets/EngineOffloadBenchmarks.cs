using BenchmarkDotNet.Attributes;
using Bufferless.Packets.Offload;
using Bufferless.Packets.Wire;

namespace Bufferless.Benchmarks.Packets;

/// <summary>
/// Cost of the TUN offload layer around the engine, per 1448-byte segment: cutting a 64 KiB GSO super-packet
/// (45 segments, IPv4, timestamps) into packets with full checksums, and coalescing 45 engine output packets back
/// into one GSO write, and cutting in place (what the packet loop does: headers written before each payload, partial
/// TCP checksums, no payload copied). Mean = ns per segment. Run:
/// <c>dotnet run -c Release --project bench/Bufferless.Benchmarks -- --filter '*EngineOffload*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(EngineBenchmarkConfig))]
public class EngineOffloadBenchmarks
{
    private const int Segments = 45, Mss = 1448;
    private readonly byte[] _super = new byte[65535];
    private readonly byte[] _scratch = new byte[65535];
    private readonly byte[] _work = new byte[65535];
    private readonly byte[] _template = new byte[256];
    private readonly byte[][] _packets = new byte[Segments][];
    private readonly GsoCoalescer _coalescer = new();
    private VirtioNetHeader _header;
    private int _superLength;

    [GlobalSetup]
    public void Setup()
    {
        byte[] options = [1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78];
        var payload = new byte[Segments * Mss];
        new Random(1).NextBytes(payload);
        var spec = new TcpPacketSpec(false, 0xC6120202, 0xC6120102, 80, 40000, new SeqNumber(1), new SeqNumber(9), TcpFlags.Ack, 1000);
        _superLength = TcpPacketWriter.Write(_super, spec, options, payload);
        _header = new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoTcpV4, 52, Mss, 20, 16);
        _super.AsSpan(0, _superLength).CopyTo(_work);
        for (int i = 0; i < Segments; i++)
        {
            var b = new byte[100 + Mss];
            int n = TcpPacketWriter.Write(b, spec with { Seq = new SeqNumber((uint)(1 + i * Mss)), Flags = TcpFlags.Ack | TcpFlags.Psh },
                options, payload.AsSpan(i * Mss, Mss));
            _packets[i] = b[..n];
        }
    }

    [Benchmark(OperationsPerInvoke = Segments)]
    public int Split()
    {
        GsoSplitter.TryCreate(_super.AsSpan(0, _superLength), _header, out var splitter);
        int total = 0;
        while (splitter.TryNext(_scratch, out int n)) total += n;
        return total;
    }

    [Benchmark(OperationsPerInvoke = Segments)]
    public int SplitInPlace()
    {
        // Only the first segment's headers need restoring between runs: the rest are rewritten from the template.
        _super.AsSpan(0, 52).CopyTo(_work);
        GsoSplitter.TryCreateInPlace(_work.AsSpan(0, _superLength), _header, _template, out var splitter);
        int total = 0;
        while (splitter.TryNextInPlace(out _, out int n)) total += n;
        return total;
    }

    [Benchmark(OperationsPerInvoke = Segments)]
    public int Coalesce()
    {
        foreach (var p in _packets) _coalescer.TryAdd(p);
        return _coalescer.Finish().Length;
    }
}
