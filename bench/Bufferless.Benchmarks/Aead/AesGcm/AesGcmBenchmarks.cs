using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Bufferless.Crypto.Aead;
using PlatformAesGcm = System.Security.Cryptography.AesGcm;

namespace Bufferless.Benchmarks.Aead.AesGcm;

/// <summary>Shared set-up: a random key of the chosen size, one record sealed by the platform.</summary>
public abstract class AesGcmBenchmarkBase
{
    protected const int Piece = 1448; // a TCP segment's payload with timestamps on a 1500-byte MTU

    [Params("AES-128", "AES-256")]
    public string Cipher { get; set; } = "AES-128";

    /// <summary>Record plaintext size in bytes (MB/s column is computed from it).</summary>
    public abstract int Size { get; set; }

    protected byte[] Key = [];
    protected byte[] Nonce = new byte[12];
    protected byte[] Aad = new byte[13];
    protected byte[] Plaintext = [];
    protected byte[] Body = [];       // ciphertext || tag
    protected byte[] Output = [];
    protected RecordAead Ours = null!;
    protected RecordOpener Opener = null!;
    protected PlatformAesGcm Platform = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        Key = new byte[Cipher == "AES-128" ? 16 : 32];
        rng.NextBytes(Key);
        rng.NextBytes(Nonce);
        rng.NextBytes(Aad);
        Plaintext = new byte[Size];
        rng.NextBytes(Plaintext);
        Body = new byte[Size + 16];
        Output = new byte[Size + 16];
        Platform = new PlatformAesGcm(Key, 16);
        Platform.Encrypt(Nonce, Plaintext, Body.AsSpan(0, Size), Body.AsSpan(Size), Aad);
        Ours = RecordAead.Create(Key.Length == 16 ? AeadAlgorithm.Aes128Gcm : AeadAlgorithm.Aes256Gcm, Key);
        Opener = Ours.CreateOpener();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Opener.Dispose();
        Ours.Dispose();
        Platform.Dispose();
    }
}

/// <summary>(a) A 16 KiB record decrypted as TCP segments bring it, against the platform's one-shot decrypt.</summary>
[Config(typeof(AesGcmBenchmarkConfig))]
public class AesGcmStreamingOpenBenchmarks : AesGcmBenchmarkBase
{
    [Params(16_384)]
    public override int Size { get; set; }

    [Benchmark(Baseline = true, Description = ".NET AesGcm.Decrypt one-shot")]
    public void PlatformDecrypt() => Platform.Decrypt(Nonce, Body.AsSpan(0, Size), Body.AsSpan(Size), Output.AsSpan(0, Size), Aad);

    [Benchmark(Description = "Opener, 1448-byte pieces")]
    public bool OpenerInSegments()
    {
        RecordOpener opener = Opener;
        opener.Begin(Nonce, Aad, Size);
        ReadOnlySpan<byte> body = Body;
        Span<byte> output = Output;
        int written = 0;
        for (int pos = 0; pos < body.Length; pos += Piece)
            written += opener.Update(body.Slice(pos, Math.Min(Piece, body.Length - pos)), output[written..]);
        return opener.Finish() ? true : throw new InvalidOperationException("tag");
    }
}

/// <summary>(b) Open of one-segment records, against the platform's one-shot decrypt.</summary>
[Config(typeof(AesGcmBenchmarkConfig))]
public class AesGcmOpenBenchmarks : AesGcmBenchmarkBase
{
    [Params(Piece)]
    public override int Size { get; set; }

    [Benchmark(Baseline = true, Description = ".NET AesGcm.Decrypt one-shot")]
    public void PlatformDecrypt() => Platform.Decrypt(Nonce, Body.AsSpan(0, Size), Body.AsSpan(Size), Output.AsSpan(0, Size), Aad);

    [Benchmark(Description = "RecordAead.Open")]
    public bool Open() => Ours.Open(Nonce, Aad, Body, Output) ? true : throw new InvalidOperationException("tag");
}

/// <summary>
/// Regression guard for (b): the same one-call Open with the record and the output placed at chosen offsets inside
/// one pinned, 4 KiB-aligned buffer (cache-line split loads, and an output 4 KiB apart from its input so loads and
/// earlier stores alias in the low 12 address bits). The figures should match (b) at every placement.
/// </summary>
[Config(typeof(AesGcmBenchmarkConfig))]
public unsafe class AesGcmOpenLayoutBenchmarks
{
    private const int Size = 1448;
    private byte* _memory;
    private byte* _body;
    private byte* _output;
    private RecordAead _aead = null!;
    private readonly byte[] _nonce = new byte[12];
    private readonly byte[] _aad = new byte[13];

    /// <summary>Byte offset of the record body from a 64-byte boundary.</summary>
    [Params(0, 8, 40)]
    public int BodyOffset { get; set; }

    /// <summary>Distance from body to output: 1488 (next to each other), 4096 (4 KiB aliasing), 4096 + 136.</summary>
    [Params(1488, 4096, 4232)]
    public int OutputDistance { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        byte[] key = new byte[16];
        rng.NextBytes(key);
        rng.NextBytes(_nonce);
        rng.NextBytes(_aad);
        byte[] plaintext = new byte[Size];
        rng.NextBytes(plaintext);
        _memory = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(4 * 4096, 4096);
        _body = _memory + BodyOffset;
        _output = _body + OutputDistance;
        _aead = RecordAead.Create(AeadAlgorithm.Aes128Gcm, key);
        _aead.Seal(_nonce, _aad, plaintext, new Span<byte>(_body, Size + 16));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _aead.Dispose();
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_memory);
    }

    [Benchmark(Description = "RecordAead.Open 1448 B, AES-128")]
    public bool Open() => _aead.Open(_nonce, _aad, new ReadOnlySpan<byte>(_body, Size + 16), new Span<byte>(_output, Size))
        ? true : throw new InvalidOperationException("tag");
}

/// <summary>(c) Seal of one-segment and full records, against the platform's one-shot encrypt.</summary>
[Config(typeof(AesGcmBenchmarkConfig))]
public class AesGcmSealBenchmarks : AesGcmBenchmarkBase
{
    [Params(Piece, 16_384)]
    public override int Size { get; set; }

    [Benchmark(Baseline = true, Description = ".NET AesGcm.Encrypt one-shot")]
    public void PlatformEncrypt() => Platform.Encrypt(Nonce, Plaintext, Output.AsSpan(0, Size), Output.AsSpan(Size, 16), Aad);

    [Benchmark(Description = "RecordAead.Seal")]
    public void Seal() => Ours.Seal(Nonce, Aad, Plaintext, Output);
}

public sealed class AesGcmBenchmarkConfig : ManualConfig
{
    public AesGcmBenchmarkConfig()
    {
        AddColumn(new ThroughputColumn());
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}

/// <summary>MB/s (10^6 bytes per second) of record plaintext, from the mean time and the Size parameter.</summary>
public sealed class ThroughputColumn : IColumn
{
    public string Id => nameof(ThroughputColumn);
    public string ColumnName => "MB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Statistics;
    public int PriorityInCategory => 10;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Record plaintext megabytes (10^6) per second";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        object? size = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Size")?.Value;
        if (report?.ResultStatistics is null || size is not int bytes)
            return "-";
        double seconds = report.ResultStatistics.Mean / 1e9;
        return (bytes / seconds / 1e6).ToString("N0", CultureInfo.InvariantCulture);
    }
}
