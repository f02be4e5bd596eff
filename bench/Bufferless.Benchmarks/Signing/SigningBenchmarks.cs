using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Bufferless.Crypto.Signing;

namespace Bufferless.Benchmarks.Signing;

/// <summary>
/// One TLS 1.3 CertificateVerify signature (130 bytes of content, as RFC 8446 §4.4.3 builds it for SHA-256):
/// through libcrypto (<see cref="EvpSigner"/>, what TlsCertificate uses) against .NET's SignData on the same key.
/// </summary>
[MemoryDiagnoser]
public class SigningBenchmarks
{
    private readonly byte[] _content = new byte[130];
    private ECDsa _ecdsa = null!;
    private RSA _rsa = null!;
    private EvpSigner _ecdsaSigner = null!, _rsaSigner = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _rsa = RSA.Create(2048);
        _ecdsaSigner = EvpSigner.TryCreate(_ecdsa)!;
        _rsaSigner = EvpSigner.TryCreate(_rsa)!;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ecdsaSigner.Dispose();
        _rsaSigner.Dispose();
        _ecdsa.Dispose();
        _rsa.Dispose();
    }

    [Benchmark]
    public byte[] EcdsaP256_Evp() => _ecdsaSigner.Sign(HashAlgorithmName.SHA256, _content);

    [Benchmark(Baseline = true)]
    public byte[] EcdsaP256_DotNet() => _ecdsa.SignData(_content, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    [Benchmark]
    public byte[] RsaPss2048_Evp() => _rsaSigner.Sign(HashAlgorithmName.SHA256, _content);

    [Benchmark]
    public byte[] RsaPss2048_DotNet() => _rsa.SignData(_content, HashAlgorithmName.SHA256, RSASignaturePadding.Pss);
}
