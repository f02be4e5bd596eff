using System.Security.Cryptography;
using Bufferless.Crypto.KeyExchange;

namespace Bufferless.Crypto.Tests.KeyExchange;

public class EcdhKeyAgreementTests
{
    private static readonly KeyAgreement P256 = KeyAgreement.Get(NamedGroup.Secp256r1);
    private static readonly KeyAgreement P384 = KeyAgreement.Get(NamedGroup.Secp384r1);

    public static TheoryData<NamedGroup, int> Curves => new() { { NamedGroup.Secp256r1, 32 }, { NamedGroup.Secp384r1, 48 } };

    private static byte[] Scalar(byte[] asn1Integer, int size)
    {
        ReadOnlySpan<byte> s = asn1Integer.AsSpan().TrimStart((byte)0);
        var scalar = new byte[size];
        s.CopyTo(scalar.AsSpan(size - s.Length));
        return scalar;
    }

    /// <summary>
    /// Every ecdh_secp256r1_ecpoint_test.json vector (public keys as raw X9.62 points, the key_share encoding).
    /// 'valid' must derive the file's secret; 'invalid' (off-curve, twist, bad encodings) must be refused. The one
    /// 'acceptable' vector is a compressed point: RFC 8446 §4.2.8.2 allows only the uncompressed form, so TLS
    /// refuses it.
    /// </summary>
    [Fact]
    public void TryServerRespond_WycheproofEcpointVectors_AgreeWithFile()
    {
        int valid = 0, invalid = 0, acceptable = 0;
        var serverShare = new byte[65];
        var secret = new byte[32];
        var tests = WycheproofFile.Tests("ecdh_secp256r1_ecpoint_test.json", out var doc);
        using var _ = doc;
        foreach (var test in tests)
        {
            byte[] priv = Scalar(test.Hex("private"), 32);
            bool ok = P256.TryServerRespond(test.Hex("public"), priv, serverShare, secret);
            switch (test.Str("result"))
            {
                case "valid":
                    Assert.True(ok, $"tc {test.Id()}");
                    Assert.Equal(test.Hex("shared"), secret);
                    Assert.Equal(0x04, serverShare[0]);
                    valid++;
                    break;
                case "invalid":
                    Assert.False(ok, $"tc {test.Id()}");
                    invalid++;
                    break;
                default:
                    Assert.True(test.HasFlag("CompressedPublic"), $"tc {test.Id()}");
                    Assert.False(ok, $"tc {test.Id()}");
                    acceptable++;
                    break;
            }
        }
        Assert.Equal((330, 24, 1), (valid, invalid, acceptable));
    }

    [Theory]
    [MemberData(nameof(Curves))]
    public void TryServerRespond_DeterministicKey_MatchesPlatformEcdh(NamedGroup group, int size)
    {
        KeyAgreement ka = KeyAgreement.Get(group);
        ECCurve curve = size == 32 ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384;
        using var server = ECDiffieHellman.Create(curve);
        using var client = ECDiffieHellman.Create(curve);
        ECParameters sp = server.ExportParameters(true);
        byte[] clientShare = Point(client.ExportParameters(false));
        var serverShare = new byte[1 + 2 * size];
        var secret = new byte[size];

        Assert.True(ka.TryServerRespond(clientShare, sp.D!, serverShare, secret));

        Assert.Equal(Point(sp), serverShare);
        Assert.Equal(client.DeriveRawSecretAgreement(server.PublicKey), secret);
    }

    [Theory]
    [MemberData(nameof(Curves))]
    public void RoundTrip_ClientAndServer_AgreeOnSecretAndPlatformAgrees(NamedGroup group, int size)
    {
        KeyAgreement ka = KeyAgreement.Get(group);
        Assert.True(KeyAgreement.IsSupported(group));
        Assert.Equal((1 + 2 * size, 1 + 2 * size, size), (ka.ClientShareLength, ka.ServerShareLength, ka.SharedSecretLength));
        for (int i = 0; i < 10; i++)
        {
            using ClientKeyShare client = ka.CreateClientShare();
            Assert.Equal(group, client.Group);
            Assert.Equal(ka.ClientShareLength, client.PublicShare.Length);
            Assert.Equal(0x04, client.PublicShare[0]);
            var serverShare = new byte[ka.ServerShareLength];
            var s1 = new byte[size];
            var s2 = new byte[size];
            Assert.True(ka.TryServerRespond(client.PublicShare, serverShare, s1));
            Assert.True(client.TryComplete(serverShare, s2));
            Assert.Equal(s1, s2);

            // The platform, as an independent client, agrees with our server.
            using var platform = ECDiffieHellman.Create(size == 32 ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
            byte[] platformShare = Point(platform.ExportParameters(false));
            Assert.True(ka.TryServerRespond(platformShare, serverShare, s1));
            using var serverPublic = ECDiffieHellman.Create(new ECParameters
            {
                Curve = platform.ExportParameters(false).Curve,
                Q = new ECPoint { X = serverShare[1..(1 + size)], Y = serverShare[(1 + size)..] },
            });
            Assert.Equal(platform.DeriveRawSecretAgreement(serverPublic.PublicKey), s1);
        }
    }

    [Theory]
    [MemberData(nameof(Curves))]
    public void TryServerRespond_MalformedShares_ReturnFalse(NamedGroup group, int size)
    {
        KeyAgreement ka = KeyAgreement.Get(group);
        using ClientKeyShare client = ka.CreateClientShare();
        byte[] good = client.PublicShare.ToArray();
        var serverShare = new byte[ka.ServerShareLength];
        var secret = new byte[size];
        Assert.True(ka.TryServerRespond(good, serverShare, secret));

        List<byte[]> bad =
        [
            [],
            [0x04],
            [0x00], // point at infinity encoding
            good[..^1],
            [.. good, 0x00],
            good[..(1 + size)], // X only
        ];
        byte[] compressed = new byte[1 + size];
        compressed[0] = (byte)(2 | (good[^1] & 1));
        good.AsSpan(1, size).CopyTo(compressed.AsSpan(1));
        bad.Add(compressed);
        byte[] hybrid = (byte[])good.Clone();
        hybrid[0] = (byte)(6 | (good[^1] & 1));
        bad.Add(hybrid);
        byte[] offCurve = (byte[])good.Clone();
        offCurve[^1] ^= 1;
        bad.Add(offCurve);
        byte[] xTooBig = (byte[])good.Clone();
        xTooBig.AsSpan(1, size).Fill(0xFF);
        bad.Add(xTooBig);
        byte[] zeros = new byte[1 + 2 * size];
        zeros[0] = 0x04;
        bad.Add(zeros);

        foreach (byte[] share in bad)
        {
            Assert.False(ka.TryServerRespond(share, serverShare, secret), Convert.ToHexString(share));
            Assert.False(client.TryComplete(share, secret), Convert.ToHexString(share));
        }
    }

    [Fact]
    public void TryServerRespond_P256ShareOnP384_ReturnsFalse()
    {
        using ClientKeyShare client = P256.CreateClientShare();
        Assert.False(P384.TryServerRespond(client.PublicShare, new byte[97], new byte[48]));
    }

    [Fact]
    public void TryServerRespond_ManyThreadsBothCurves_AllAgree()
    {
        Parallel.For(0, 100, i =>
        {
            KeyAgreement ka = (i & 1) == 0 ? P256 : P384;
            using ClientKeyShare client = ka.CreateClientShare();
            var serverShare = new byte[ka.ServerShareLength];
            var s1 = new byte[ka.SharedSecretLength];
            var s2 = new byte[ka.SharedSecretLength];
            Assert.True(ka.TryServerRespond(client.PublicShare, serverShare, s1));
            Assert.True(client.TryComplete(serverShare, s2));
            Assert.Equal(s1, s2);
        });
    }

    private static byte[] Point(ECParameters p) => [0x04, .. p.Q.X!, .. p.Q.Y!];
}
