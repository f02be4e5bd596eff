using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Bufferless.Crypto.Aead;

namespace Bufferless.Benchmarks.Aead.ChaCha;

/// <summary>
/// Streaming ChaCha20-Poly1305 (the path <see cref="RecordAead.Create"/> picks: Hybrid on AVX-512) against the
/// platform's one-shot ChaCha20Poly1305. Compare the 16 KiB figures with
/// `openssl speed -evp chacha20-poly1305 -bytes 16384` (bench/crypto.sh runs both).
/// </summary>
[MemoryDiagnoser]
public class ChaChaBenchmarks
{
    private const int Small = 1448;
    private const int Large = 16384;

    private readonly byte[] _nonce = RandomNumberGenerator.GetBytes(12);
    private readonly byte[] _aad = RandomNumberGenerator.GetBytes(5);
    private readonly byte[] _plain = RandomNumberGenerator.GetBytes(Large);
    private readonly byte[] _body16K = new byte[Large + 16];
    private readonly byte[] _body1448 = new byte[Small + 16];
    private readonly byte[] _output = new byte[Large + 16];
    private RecordAead _aead = null!;
    private RecordOpener _opener = null!;
    private ChaCha20Poly1305 _platform = null!;

    [GlobalSetup]
    public void Setup()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        _aead = RecordAead.Create(AeadAlgorithm.ChaCha20Poly1305, key);
        _opener = _aead.CreateOpener();
        _platform = new ChaCha20Poly1305(key);
        _aead.Seal(_nonce, _aad, _plain, _body16K);
        _aead.Seal(_nonce, _aad, _plain.AsSpan(0, Small), _body1448);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _opener.Dispose();
        _aead.Dispose();
        _platform.Dispose();
    }

    /// <summary>A 16 KiB record fed to the streaming opener in 1448-byte pieces (one TCP segment each).</summary>
    [Benchmark]
    public bool Opener_16K_In1448Pieces()
    {
        _opener.Begin(_nonce, _aad, Large);
        ReadOnlySpan<byte> body = _body16K;
        int written = 0;
        for (int at = 0; at < body.Length; at += Small)
        {
            int n = Math.Min(Small, body.Length - at);
            written += _opener.Update(body.Slice(at, n), _output.AsSpan(written));
        }
        return _opener.Finish();
    }

    [Benchmark]
    public bool Open_1448() => _aead.Open(_nonce, _aad, _body1448, _output);

    [Benchmark]
    public bool Open_16K() => _aead.Open(_nonce, _aad, _body16K, _output);

    [Benchmark]
    public void Seal_1448() => _aead.Seal(_nonce, _aad, _plain.AsSpan(0, Small), _output);

    [Benchmark]
    public void Seal_16K() => _aead.Seal(_nonce, _aad, _plain, _output);

    [Benchmark]
    public void DotNet_Decrypt_1448() =>
        _platform.Decrypt(_nonce, _body1448.AsSpan(0, Small), _body1448.AsSpan(Small), _output.AsSpan(0, Small), _aad);

    [Benchmark]
    public void DotNet_Decrypt_16K() =>
        _platform.Decrypt(_nonce, _body16K.AsSpan(0, Large), _body16K.AsSpan(Large), _output.AsSpan(0, Large), _aad);

    [Benchmark]
    public void DotNet_Encrypt_1448() =>
        _platform.Encrypt(_nonce, _plain.AsSpan(0, Small), _output.AsSpan(0, Small), _output.AsSpan(Small, 16), _aad);

    [Benchmark]
    public void DotNet_Encrypt_16K() =>
        _platform.Encrypt(_nonce, _plain, _output.AsSpan(0, Large), _output.AsSpan(Large, 16), _aad);
}

/// <summary>
/// The streaming opener on each implementation path, a 16 KiB record fed in 1448-byte pieces (TCP segments with
/// timestamps) and in 1408-byte pieces (22 whole ChaCha20 blocks: shows what pieces ending inside a block cost).
/// </summary>
[MemoryDiagnoser]
public class ChaChaOpenerPathBenchmarks
{
    private const int Large = 16384;

    private readonly byte[] _nonce = RandomNumberGenerator.GetBytes(12);
    private readonly byte[] _aad = RandomNumberGenerator.GetBytes(5);
    private readonly byte[] _body = new byte[Large + 16];
    private readonly byte[] _output = new byte[Large + 16];
    private RecordAead _aead = null!;
    private RecordOpener _opener = null!;

    [Params("Evp", "Wide", "Hybrid")]
    public string Path { get; set; } = "Hybrid";

    // 16400: the whole record (body and tag) in one piece, the streaming opener's speed at 16 KiB with no piece cost.
    [Params(1448, 1408, 16400)]
    public int Piece { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        _aead = ChaCha20Poly1305Aead.Create(key, Enum.Parse<ChaChaPath>(Path));
        _opener = _aead.CreateOpener();
        _aead.Seal(_nonce, _aad, RandomNumberGenerator.GetBytes(Large), _body);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _opener.Dispose();
        _aead.Dispose();
    }

    [Benchmark(Description = "Opener 16 KiB in pieces")]
    public bool Opener_16K()
    {
        _opener.Begin(_nonce, _aad, Large);
        ReadOnlySpan<byte> body = _body;
        int written = 0;
        for (int at = 0; at < body.Length; at += Piece)
            written += _opener.Update(body.Slice(at, Math.Min(Piece, body.Length - at)), _output.AsSpan(written));
        return _opener.Finish() ? true : throw new InvalidOperationException("tag");
    }
}
