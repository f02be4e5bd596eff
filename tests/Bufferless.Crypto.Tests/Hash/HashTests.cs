using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bufferless.Crypto.Hash;

namespace Bufferless.Crypto.Tests.Hash;

public class HashTests
{
    private static byte[] H(string hex) => Convert.FromHexString(hex);

    // RFC 4231 §4: test cases 1-4, 6, 7 (case 5 is a truncated tag, checked by the Wycheproof truncated groups).
    public static TheoryData<string, string, string, string> Rfc4231 => new()
    {
        { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
          "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6" },
        { "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
          "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649" },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", new string('d', 100),
          "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
          "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27" },
        { "0102030405060708090a0b0c0d0e0f10111213141516171819", string.Concat(Enumerable.Repeat("cd", 50)),
          "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
          "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb" },
        { new string('a', 262), Convert.ToHexString("Test Using Larger Than Block-Size Key - Hash Key First"u8),
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
          "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952" },
        { new string('a', 262), Convert.ToHexString(Encoding.ASCII.GetBytes(
              "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.")),
          "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
          "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e" },
    };

    [Theory]
    [MemberData(nameof(Rfc4231))]
    public void HmacCompute_Rfc4231Cases_MatchRfc(string key, string data, string sha256, string sha384)
    {
        Span<byte> mac = stackalloc byte[48];
        Assert.Equal(32, Hmac.Compute(Sha2Kind.Sha256, H(key), H(data), mac));
        Assert.Equal(sha256, Convert.ToHexStringLower(mac[..32]));
        Assert.Equal(48, Hmac.Compute(Sha2Kind.Sha384, H(key), H(data), mac));
        Assert.Equal(sha384, Convert.ToHexStringLower(mac));
    }

    // RFC 5869 Appendix A.1-A.3 (SHA-256).
    public static TheoryData<string, string, string, int, string, string> Rfc5869 => new()
    {
        { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9", 42,
          "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
          "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865" },
        { Range(0x00, 80), Range(0x60, 80), Range(0xb0, 80), 82,
          "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
          "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87" },
        { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "", 42,
          "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
          "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8" },
    };

    private static string Range(int start, int count) => Convert.ToHexString(Enumerable.Range(start, count).Select(i => (byte)i).ToArray());

    [Theory]
    [MemberData(nameof(Rfc5869))]
    public void Hkdf_Rfc5869Sha256Cases_MatchRfc(string ikm, string salt, string info, int length, string prk, string okm)
    {
        byte[] actualPrk = new byte[32];
        Hkdf.Extract(Sha2Kind.Sha256, H(ikm), H(salt), actualPrk);
        Assert.Equal(prk, Convert.ToHexStringLower(actualPrk));
        byte[] actualOkm = new byte[length];
        Hkdf.Expand(Sha2Kind.Sha256, actualPrk, H(info), actualOkm);
        Assert.Equal(okm, Convert.ToHexStringLower(actualOkm));
    }

    [Theory]
    [InlineData("hmac_sha256_test.json", Sha2Kind.Sha256)]
    [InlineData("hmac_sha384_test.json", Sha2Kind.Sha384)]
    public void HmacCompute_WycheproofVectors_AgreeWithFile(string file, Sha2Kind kind)
    {
        int valid = 0, invalid = 0;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Wycheproof(file)));
        foreach (JsonElement group in doc.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            int tagBytes = group.GetProperty("tagSize").GetInt32() / 8;
            foreach (JsonElement test in group.GetProperty("tests").EnumerateArray())
            {
                byte[] mac = new byte[Sha2.HashSize(kind)];
                Hmac.Compute(kind, Hex(test, "key"), Hex(test, "msg"), mac);
                bool match = mac.AsSpan(0, tagBytes).SequenceEqual(Hex(test, "tag"));
                string result = test.GetProperty("result").GetString()!;
                Assert.True(match == (result == "valid"), $"tcId {test.GetProperty("tcId").GetInt32()}: {result}");
                if (match) valid++; else invalid++;
            }
        }
        Assert.True(valid > 50 && invalid > 10, $"valid {valid}, invalid {invalid}");
    }

    [Theory]
    [InlineData("hkdf_sha256_test.json", Sha2Kind.Sha256)]
    [InlineData("hkdf_sha384_test.json", Sha2Kind.Sha384)]
    public void Hkdf_WycheproofVectors_AgreeWithFile(string file, Sha2Kind kind)
    {
        int valid = 0, refused = 0;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Wycheproof(file)));
        foreach (JsonElement group in doc.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            foreach (JsonElement test in group.GetProperty("tests").EnumerateArray())
            {
                int size = test.GetProperty("size").GetInt32();
                byte[] prk = new byte[Sha2.HashSize(kind)];
                Hkdf.Extract(kind, Hex(test, "ikm"), Hex(test, "salt"), prk);
                byte[] okm = new byte[size];
                if (test.GetProperty("result").GetString() == "valid")
                {
                    Hkdf.Expand(kind, prk, Hex(test, "info"), okm);
                    Assert.True(okm.AsSpan().SequenceEqual(Hex(test, "okm")), $"tcId {test.GetProperty("tcId").GetInt32()}");
                    valid++;
                }
                else
                {
                    // The only invalid vectors ask for more than 255 * HashLen bytes (RFC 5869 §2.3).
                    Assert.Throws<ArgumentException>(() => Hkdf.Expand(kind, prk, Hex(test, "info"), okm));
                    refused++;
                }
            }
        }
        Assert.True(valid > 50 && refused > 0, $"valid {valid}, refused {refused}");
    }

    [Theory]
    [InlineData(Sha2Kind.Sha256)]
    [InlineData(Sha2Kind.Sha384)]
    public void TranscriptHash_CurrentHashMidway_MatchesOneShotOfPrefixAndContinues(Sha2Kind kind)
    {
        byte[] data = RandomNumberGenerator.GetBytes(1000);
        HashAlgorithmName name = kind == Sha2Kind.Sha384 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;
        using var transcript = new TranscriptHash(kind);
        transcript.AppendData(data.AsSpan(0, 300));
        byte[] mid = new byte[transcript.HashSize];
        transcript.GetCurrentHash(mid);
        Assert.Equal(CryptographicOperations.HashData(name, data.AsSpan(0, 300)), mid);
        transcript.AppendData(data.AsSpan(300));
        byte[] full = new byte[transcript.HashSize];
        transcript.GetHashAndReset(full);
        Assert.Equal(CryptographicOperations.HashData(name, data), full);
        transcript.AppendData(data.AsSpan(0, 10));
        transcript.GetCurrentHash(full);
        Assert.Equal(CryptographicOperations.HashData(name, data.AsSpan(0, 10)), full);
    }

    [Theory]
    [InlineData(Sha2Kind.Sha256)]
    [InlineData(Sha2Kind.Sha384)]
    public void Sha2_EmptyConstantAndHashData_MatchPlatform(Sha2Kind kind)
    {
        HashAlgorithmName name = kind == Sha2Kind.Sha384 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;
        Assert.Equal(CryptographicOperations.HashData(name, []), Sha2.Empty(kind).ToArray());
        byte[] data = RandomNumberGenerator.GetBytes(777);
        byte[] hash = new byte[Sha2.HashSize(kind)];
        Sha2.HashData(kind, data, hash);
        Assert.Equal(CryptographicOperations.HashData(name, data), hash);
    }

    [Fact]
    public void LowLevelSha2_UsedUnlessEvpAsked_SoAFallbackIsNoticed()
    {
        // .ci/run runs these hash tests a second time with BUFFERLESS_SHA2_EVP=1, so both paths are checked.
        bool evpAsked = Environment.GetEnvironmentVariable("BUFFERLESS_SHA2_EVP") == "1";
        Assert.Equal(!evpAsked, LowLevelSha2.Functions is not null);
    }

    [Theory]
    [InlineData(Sha2Kind.Sha256)]
    [InlineData(Sha2Kind.Sha384)]
    public void DigestContext_CopiesAtEveryLength_ContinueIndependently(Sha2Kind kind)
    {
        // A copy (the transcript's current hash) must carry the partial block: cut the input at every length up to two blocks.
        HashAlgorithmName name = kind == Sha2Kind.Sha384 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;
        byte[] data = RandomNumberGenerator.GetBytes(2 * Sha2.BlockSize(kind) + 1);
        using var original = new DigestContext();
        using var copy = new DigestContext();
        byte[] hash = new byte[Sha2.HashSize(kind)];
        for (int cut = 0; cut <= data.Length; cut++)
        {
            original.Init(kind);
            original.Update(data.AsSpan(0, cut));
            copy.CopyFrom(original);
            copy.Update(data.AsSpan(cut));
            copy.Final(hash);
            Assert.Equal(CryptographicOperations.HashData(name, data), hash);
            original.Final(hash);
            Assert.Equal(CryptographicOperations.HashData(name, data.AsSpan(0, cut)), hash);
        }
    }

    [Fact]
    public async Task Hmac_ManyThreadsAtOnce_EachGetsItsOwnContext()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (int i = 0; i < 2000; i++)
            {
                byte[] msg = BitConverter.GetBytes(t * 100_000 + i);
                byte[] mac = new byte[32];
                Hmac.Compute(Sha2Kind.Sha256, key, msg, mac);
                if (!mac.AsSpan().SequenceEqual(HMACSHA256.HashData(key, msg)))
                    return false;
            }
            return true;
        })).ToArray();
        Assert.All(await Task.WhenAll(tasks), Assert.True);
    }

    private static byte[] Hex(JsonElement test, string name) => Convert.FromHexString(test.GetProperty(name).GetString()!);
}
