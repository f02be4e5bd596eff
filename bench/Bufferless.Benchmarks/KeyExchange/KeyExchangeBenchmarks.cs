using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Bufferless.Crypto.KeyExchange;

namespace Bufferless.Benchmarks.KeyExchange;

/// <summary>
/// One server-side key exchange per operation: validate the client's share, make an ephemeral key (or ML-KEM
/// encapsulation), write the server share and the shared secret. The .NET baselines do the same work with
/// ECDiffieHellman (import peer, generate, derive, export the public point).
/// </summary>
[MemoryDiagnoser]
public class KeyExchangeBenchmarks
{
    private readonly byte[] _serverShare = new byte[1120];
    private readonly byte[] _secret = new byte[64];
    private byte[] _x25519 = [], _p256 = [], _p384 = [], _hybrid = [];
    private ECParameters _p256Peer, _p384Peer;

    [GlobalSetup]
    public void Setup()
    {
        _x25519 = Share(NamedGroup.X25519);
        _p256 = Share(NamedGroup.Secp256r1);
        _p384 = Share(NamedGroup.Secp384r1);
        _hybrid = Share(NamedGroup.X25519MLKEM768);
        using (var c = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256)) _p256Peer = c.ExportParameters(false);
        using (var c = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384)) _p384Peer = c.ExportParameters(false);
    }

    private static byte[] Share(NamedGroup group)
    {
        using ClientKeyShare client = KeyAgreement.Get(group).CreateClientShare();
        return client.PublicShare.ToArray();
    }

    [Benchmark]
    public bool X25519_Respond() => KeyAgreement.Get(NamedGroup.X25519).TryServerRespond(_x25519, _serverShare, _secret);

    [Benchmark]
    public bool P256_Respond() => KeyAgreement.Get(NamedGroup.Secp256r1).TryServerRespond(_p256, _serverShare, _secret);

    [Benchmark]
    public bool P384_Respond() => KeyAgreement.Get(NamedGroup.Secp384r1).TryServerRespond(_p384, _serverShare, _secret);

    [Benchmark]
    public bool X25519MLKEM768_Respond() => KeyAgreement.Get(NamedGroup.X25519MLKEM768).TryServerRespond(_hybrid, _serverShare, _secret);

    [Benchmark]
    public byte[] DotNet_P256_Respond() => DotNetRespond(_p256Peer, ECCurve.NamedCurves.nistP256);

    [Benchmark]
    public byte[] DotNet_P384_Respond() => DotNetRespond(_p384Peer, ECCurve.NamedCurves.nistP384);

    private static byte[] DotNetRespond(ECParameters peer, ECCurve curve)
    {
        using var peerKey = ECDiffieHellman.Create(peer);
        using var ephemeral = ECDiffieHellman.Create(curve);
        byte[] secret = ephemeral.DeriveRawSecretAgreement(peerKey.PublicKey);
        ECParameters own = ephemeral.ExportParameters(false);
        return own.Q.X!.Length > 0 ? secret : [];
    }
}
