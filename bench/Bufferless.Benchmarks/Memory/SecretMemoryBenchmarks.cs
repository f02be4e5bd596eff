using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Bufferless.Crypto;
using Bufferless.Crypto.Memory;

namespace Bufferless.Benchmarks.Memory;

/// <summary>
/// What a TLS connection pays per key for its secret area, and per handshake for random bytes:
/// a pinned array per key (before) against a block of <see cref="SecretBlockPool"/> (now), each beside the ordinary
/// garbage a connection leaves (ten 1,000-byte arrays), so that the collections the memory diagnoser counts show which
/// generation the pinned object heap drags in; and one platform RNG call against <see cref="RandomBytes"/> for 32 bytes.
/// </summary>
[MemoryDiagnoser]
public class SecretMemoryBenchmarks
{
    private const int SecretSize = 512; // a GcmKey's round keys and GHASH powers
    private readonly SecretBlockPool _pool = new(SecretSize);
    private readonly byte[] _random = new byte[32];
    private object? _keep;

    [Benchmark(Baseline = true)]
    public object? Key_PinnedArray()
    {
        byte[] secret = GC.AllocateArray<byte>(SecretSize, pinned: true);
        CryptographicOperations.ZeroMemory(secret);
        return Garbage(secret);
    }

    [Benchmark]
    public object? Key_PooledBlock()
    {
        SecretBlock block = _pool.Rent();
        _pool.Return(block);
        return Garbage(null);
    }

    [Benchmark]
    public byte[] Random32_Platform()
    {
        RandomNumberGenerator.Fill(_random);
        return _random;
    }

    [Benchmark]
    public byte[] Random32_RandomBytes()
    {
        RandomBytes.Fill(_random);
        return _random;
    }

    private object? Garbage(object? secret)
    {
        for (int i = 0; i < 10; i++)
            _keep = new byte[1000];
        return secret ?? _keep;
    }
}
