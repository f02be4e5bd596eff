using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Bufferless.Crypto.Hash;

namespace Bufferless.Benchmarks.Hash;

/// <summary>
/// The short hashes a TLS 1.3 handshake makes some 30 of (HKDF-Expand-Label is one HMAC): HMAC-SHA256 over 60 bytes,
/// one Expand-Label-sized HKDF-Expand, and a transcript's current hash (copy and finish), each on libcrypto's
/// low-level SHA-2 calls (the default) and on EVP (job "Evp", BUFFERLESS_SHA2_EVP=1), beside .NET's HMACSHA256.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Paths))]
public class HashBenchmarks
{
    private sealed class Paths : ManualConfig
    {
        public Paths()
        {
            AddJob(Job.Default.WithId("LowLevel"));
            AddJob(Job.Default.WithId("Evp").WithEnvironmentVariables(new EnvironmentVariable("BUFFERLESS_SHA2_EVP", "1")));
        }
    }

    private readonly byte[] _key = new byte[32], _data = new byte[60], _info = new byte[40], _out = new byte[32];
    private readonly TranscriptHash _transcript = new(Sha2Kind.Sha256);

    [GlobalSetup]
    public void Setup()
    {
        RandomNumberGenerator.Fill(_key);
        RandomNumberGenerator.Fill(_data);
        _transcript.AppendData(new byte[700]); // a ClientHello and a ServerHello's worth
    }

    [GlobalCleanup]
    public void Cleanup() => _transcript.Dispose();

    [Benchmark]
    public int Hmac_Sha256_60B() => Hmac.Compute(Sha2Kind.Sha256, _key, _data, _out);

    [Benchmark]
    public byte[] HkdfExpand_Sha256_32B()
    {
        Hkdf.Expand(Sha2Kind.Sha256, _key, _info, _out);
        return _out;
    }

    [Benchmark]
    public int Transcript_CurrentHash() => _transcript.GetCurrentHash(_out);

    [Benchmark(Baseline = true)]
    public int DotNet_HmacSha256_60B() => HMACSHA256.HashData(_key, _data, _out);
}
