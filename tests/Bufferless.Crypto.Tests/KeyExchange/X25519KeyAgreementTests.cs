using Bufferless.Crypto.KeyExchange;

namespace Bufferless.Crypto.Tests.KeyExchange;

public class X25519KeyAgreementTests
{
    private static readonly KeyAgreement X25519 = KeyAgreement.Get(NamedGroup.X25519);

    [Fact]
    public void Registry_X25519_IsSupportedWithRawSizes()
    {
        Assert.True(KeyAgreement.IsSupported(NamedGroup.X25519));
        Assert.Equal(NamedGroup.X25519, X25519.Group);
        Assert.Equal(32, X25519.ClientShareLength);
        Assert.Equal(32, X25519.ServerShareLength);
        Assert.Equal(32, X25519.SharedSecretLength);
    }

    // RFC 7748 §6.1: Alice's and Bob's key pairs and their shared secret.
    private const string AlicePrivate = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    private const string AlicePublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
    private const string BobPrivate = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
    private const string BobPublic = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
    private const string Shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

    [Fact]
    public void TryServerRespond_Rfc7748Section61_MatchesPublicKeyAndSharedSecret()
    {
        Span<byte> serverShare = stackalloc byte[32];
        Span<byte> secret = stackalloc byte[32];

        Assert.True(X25519.TryServerRespond(Convert.FromHexString(AlicePublic), Convert.FromHexString(BobPrivate), serverShare, secret));
        Assert.Equal(BobPublic, Convert.ToHexString(serverShare).ToLowerInvariant());
        Assert.Equal(Shared, Convert.ToHexString(secret).ToLowerInvariant());

        Assert.True(X25519.TryServerRespond(Convert.FromHexString(BobPublic), Convert.FromHexString(AlicePrivate), serverShare, secret));
        Assert.Equal(AlicePublic, Convert.ToHexString(serverShare).ToLowerInvariant());
        Assert.Equal(Shared, Convert.ToHexString(secret).ToLowerInvariant());
    }

    [Fact]
    public void ProviderPath_SystemLibcrypto_IsAvailable()
    {
        // The fast path must be the one in use here; the EVP path remains as the fallback.
        Assert.True(X25519Provider.IsAvailable);
    }

    [Fact]
    public void TryRespondEvp_Rfc7748Section61_MatchesPublicKeyAndSharedSecret()
    {
        Span<byte> serverShare = stackalloc byte[32];
        Span<byte> secret = stackalloc byte[32];

        Assert.True(X25519KeyAgreement.TryRespondEvp(Convert.FromHexString(AlicePublic), Convert.FromHexString(BobPrivate), serverShare, secret));
        Assert.Equal(BobPublic, Convert.ToHexString(serverShare).ToLowerInvariant());
        Assert.Equal(Shared, Convert.ToHexString(secret).ToLowerInvariant());
    }

    /// <summary>The EVP fallback and the provider path agree on every Wycheproof vector: same verdict, same bytes.</summary>
    [Fact]
    public void TryRespondEvp_WycheproofVectors_SameAsProviderPath()
    {
        Span<byte> shareA = stackalloc byte[32], secretA = stackalloc byte[32];
        Span<byte> shareB = stackalloc byte[32], secretB = stackalloc byte[32];
        var tests = WycheproofFile.Tests("x25519_test.json", out var doc);
        using var _ = doc;
        int count = 0, rejected = 0;
        foreach (var test in tests)
        {
            bool a = X25519Provider.TryRespond(test.Hex("public"), test.Hex("private"), shareA, secretA);
            bool b = X25519KeyAgreement.TryRespondEvp(test.Hex("public"), test.Hex("private"), shareB, secretB);
            Assert.Equal(a, b);
            Assert.True(shareA.SequenceEqual(shareB));
            Assert.True(secretA.SequenceEqual(secretB));
            if (!a)
            {
                Assert.True(secretA.IndexOfAnyExcept((byte)0) < 0); // a refused result leaves no secret behind
                rejected++;
            }
            count++;
        }
        Assert.True(count > 400);
        Assert.True(rejected > 0);
    }

    /// <summary>
    /// Every x25519_test.json vector through the deterministic server path. 'valid' must agree with the file.
    /// 'acceptable' vectors (twist points, low-order and non-canonical public keys, ...) are accepted as RFC 7748
    /// computes them (the u-coordinate is masked and reduced), except those whose result is all zero: RFC 8446
    /// §7.4.2 makes TLS reject them, so they must fail. Nothing is 'invalid' in this file.
    /// </summary>
    [Fact]
    public void TryServerRespond_WycheproofVectors_AgreeWithFile()
    {
        int valid = 0, acceptedAcceptable = 0, rejectedZero = 0;
        Span<byte> serverShare = stackalloc byte[32];
        Span<byte> secret = stackalloc byte[32];
        var tests = WycheproofFile.Tests("x25519_test.json", out var doc);
        using var _ = doc;
        foreach (var test in tests)
        {
            byte[] expected = test.Hex("shared");
            bool ok = X25519.TryServerRespond(test.Hex("public"), test.Hex("private"), serverShare, secret);
            string result = test.Str("result");
            bool zero = expected.All(b => b == 0);
            if (zero)
            {
                Assert.True(result == "acceptable", $"tc {test.Id()}");
                Assert.False(ok, $"tc {test.Id()}: all-zero shared secret must be rejected");
                Assert.True(secret.IndexOfAnyExcept((byte)0) < 0, $"tc {test.Id()}: secret buffer cleared");
                rejectedZero++;
                continue;
            }
            Assert.True(ok, $"tc {test.Id()} ({result}) should be accepted");
            Assert.Equal(expected, secret.ToArray());
            if (result == "valid") valid++; else acceptedAcceptable++;
        }
        Assert.Equal(264, valid);
        Assert.Equal(254 - rejectedZero, acceptedAcceptable);
        Assert.Equal(31, rejectedZero);
    }

    [Fact]
    public void RoundTrip_ClientAndServer_AgreeOnSecret()
    {
        for (int i = 0; i < 20; i++)
        {
            using ClientKeyShare client = X25519.CreateClientShare();
            Assert.Equal(NamedGroup.X25519, client.Group);
            Assert.Equal(32, client.PublicShare.Length);
            var serverShare = new byte[32];
            var serverSecret = new byte[32];
            var clientSecret = new byte[32];
            Assert.True(X25519.TryServerRespond(client.PublicShare, serverShare, serverSecret));
            Assert.True(client.TryComplete(serverShare, clientSecret));
            Assert.Equal(serverSecret, clientSecret);
            Assert.Contains(serverSecret, b => b != 0);
            Assert.NotEqual(client.PublicShare.ToArray(), serverShare);
        }
    }

    [Fact]
    public void TryServerRespond_FreshKeys_DifferEachCall()
    {
        using ClientKeyShare client = X25519.CreateClientShare();
        var a = new byte[32]; var b = new byte[32]; var s = new byte[32];
        Assert.True(X25519.TryServerRespond(client.PublicShare, a, s));
        Assert.True(X25519.TryServerRespond(client.PublicShare, b, s));
        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(65)]
    public void TryServerRespond_WrongLength_ReturnsFalse(int length)
    {
        var share = new byte[length];
        Random.Shared.NextBytes(share);
        Assert.False(X25519.TryServerRespond(share, new byte[32], new byte[32]));
        using ClientKeyShare client = X25519.CreateClientShare();
        Assert.False(client.TryComplete(share, new byte[32]));
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")] // u = 0
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")] // u = 1
    [InlineData("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")] // order-8 point
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")] // u = p - 1
    public void TryServerRespond_LowOrderShare_ReturnsFalseAndClearsSecret(string share)
    {
        var secret = new byte[32];
        Array.Fill(secret, (byte)0xAA);
        Assert.False(X25519.TryServerRespond(Convert.FromHexString(share), new byte[32], secret));
        Assert.All(secret, b => Assert.Equal(0, b));
        using ClientKeyShare client = X25519.CreateClientShare();
        Assert.False(client.TryComplete(Convert.FromHexString(share), secret));
    }

    [Fact]
    public void TryServerRespond_ShortOutput_Throws()
    {
        using ClientKeyShare client = X25519.CreateClientShare();
        byte[] share = client.PublicShare.ToArray();
        Assert.Throws<ArgumentException>(() => X25519.TryServerRespond(share, new byte[31], new byte[32]));
        Assert.Throws<ArgumentException>(() => X25519.TryServerRespond(share, new byte[32], new byte[31]));
    }

    [Fact]
    public void TryServerRespond_ManyThreads_AllAgree()
    {
        Parallel.For(0, 200, _ =>
        {
            using ClientKeyShare client = X25519.CreateClientShare();
            var serverShare = new byte[32]; var s1 = new byte[32]; var s2 = new byte[32];
            Assert.True(X25519.TryServerRespond(client.PublicShare, serverShare, s1));
            Assert.True(client.TryComplete(serverShare, s2));
            Assert.Equal(s1, s2);
        });
    }
}
