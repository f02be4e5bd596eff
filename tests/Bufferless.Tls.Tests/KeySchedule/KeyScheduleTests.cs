using System.Security.Cryptography;
using Bufferless.Tls.KeySchedule;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.KeySchedule;

public class KeyScheduleTests
{
    private static readonly CipherSuiteInfo Suite = CipherSuiteInfo.Get(TlsCipherSuite.Aes128GcmSha256);

    private static byte[] Hash(params byte[][] messages)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var m in messages) h.AppendData(m);
        return h.GetHashAndReset();
    }

    [Fact]
    public void EarlySecret_NoPsk_MatchesRfc8448()
    {
        using var early = EarlySecret.Create(Suite);
        Assert.Equal(Rfc8448.EarlySecret, early.Secret.ToArray());
    }

    [Fact]
    public void HandshakeSecret_Rfc8448SharedSecret_MatchesTrafficSecretsAndKeys()
    {
        Assert.Equal(Rfc8448.HelloHash, Hash(Rfc8448.ClientHello, Rfc8448.ServerHello));
        using var early = EarlySecret.Create(Suite);
        using var hs = early.DeriveHandshakeSecret(Rfc8448.SharedSecret);
        Assert.Equal(Rfc8448.HandshakeSecret, hs.Secret.ToArray());
        using var c = hs.DeriveClientTrafficSecret(Rfc8448.HelloHash);
        using var s = hs.DeriveServerTrafficSecret(Rfc8448.HelloHash);
        Assert.Equal(Rfc8448.ClientHandshakeSecret, c.Secret.ToArray());
        Assert.Equal(Rfc8448.ServerHandshakeSecret, s.Secret.ToArray());
        byte[] key = new byte[16], iv = new byte[12];
        s.DeriveKeyAndIv(key, iv);
        Assert.Equal(Rfc8448.ServerHandshakeKey, key);
        Assert.Equal(Rfc8448.ServerHandshakeIv, iv);
        c.DeriveKeyAndIv(key, iv);
        Assert.Equal(Rfc8448.ClientHandshakeKey, key);
        Assert.Equal(Rfc8448.ClientHandshakeIv, iv);
    }

    [Fact]
    public void MasterSecret_Rfc8448Transcript_MatchesFinishedAndApplicationSecrets()
    {
        using var early = EarlySecret.Create(Suite);
        using var hs = early.DeriveHandshakeSecret(Rfc8448.SharedSecret);
        using var sHs = hs.DeriveServerTrafficSecret(Rfc8448.HelloHash);
        using var cHs = hs.DeriveClientTrafficSecret(Rfc8448.HelloHash);

        byte[] beforeFinished = Hash(Rfc8448.ClientHello, Rfc8448.ServerHello, Rfc8448.ServerFlight.AsSpan(0, 621).ToArray());
        byte[] verify = new byte[32];
        sHs.ComputeFinished(beforeFinished, verify);
        Assert.Equal(Rfc8448.ServerVerifyData, verify);

        byte[] throughServerFinished = Hash(Rfc8448.ClientHello, Rfc8448.ServerHello, Rfc8448.ServerFlight);
        cHs.ComputeFinished(throughServerFinished, verify);
        Assert.Equal(Rfc8448.ClientVerifyData, verify);

        using var master = hs.DeriveMasterSecret();
        Assert.Equal(Rfc8448.MasterSecret, master.Secret.ToArray());
        using var cAp = master.DeriveClientApplicationSecret(throughServerFinished);
        using var sAp = master.DeriveServerApplicationSecret(throughServerFinished);
        Assert.Equal(Rfc8448.ClientApplicationSecret, cAp.Secret.ToArray());
        Assert.Equal(Rfc8448.ServerApplicationSecret, sAp.Secret.ToArray());
        Assert.Equal(Rfc8448.ExporterSecret, master.DeriveExporterSecret(throughServerFinished));
        byte[] key = new byte[16], iv = new byte[12];
        sAp.DeriveKeyAndIv(key, iv);
        Assert.Equal(Rfc8448.ServerApplicationKey, key);
        Assert.Equal(Rfc8448.ServerApplicationIv, iv);
        cAp.DeriveKeyAndIv(key, iv);
        Assert.Equal(Rfc8448.ClientApplicationKey, key);
        Assert.Equal(Rfc8448.ClientApplicationIv, iv);
    }

    [Fact]
    public void TrafficSecret_Next_ChangesSecretAndKeys()
    {
        using var secret = new TrafficSecret(Suite, (byte[])Rfc8448.ServerApplicationSecret.Clone());
        using var next = secret.Next();
        Assert.NotEqual(secret.Secret.ToArray(), next.Secret.ToArray());
        // RFC 8446 §7.2: HKDF-Expand-Label(secret, "traffic upd", "", Hash.length), checked independently here.
        byte[] info = [0, 32, 17, .. "tls13 traffic upd"u8, 0];
        byte[] expected = new byte[32];
        HKDF.Expand(HashAlgorithmName.SHA256, Rfc8448.ServerApplicationSecret, expected, info);
        Assert.Equal(expected, next.Secret.ToArray());
    }

    [Fact]
    public void StageSecret_Dispose_ZeroesSecret()
    {
        var early = EarlySecret.Create(Suite);
        early.Dispose();
        Assert.True(early.Secret.ToArray().All(b => b == 0));
    }
}
