using Bufferless.Crypto.Aead;

namespace Bufferless.Crypto.Tests.Aead.AesGcm;

public class WycheproofAesGcmTests
{
    public static TheoryData<string> Paths => AesGcmTestSupport.SupportedPaths();

    [Theory]
    [MemberData(nameof(Paths))]
    public void Core_EveryVector_MatchesExpectedResult(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        int checkedValid = 0, checkedInvalid = 0;
        foreach (WycheproofGcmVector v in WycheproofGcmVector.All)
        {
            using var key = new GcmKey(v.Key, path);
            var pt = new byte[v.Ct.Length];
            if (v.Iv.Length == 0)
            {
                // SP 800-38D §5.2.1.1: the IV is at least one bit; an empty one is refused outright.
                Assert.Equal("invalid", v.Result);
                Assert.Throws<ArgumentException>(() => key.Open(v.Iv, v.Aad, v.Ct, v.Tag, pt));
                Assert.Throws<ArgumentException>(() => key.Seal(v.Iv, v.Aad, v.Msg, new byte[v.Msg.Length], new byte[v.Tag.Length]));
                checkedInvalid++;
                continue;
            }
            bool ok = key.Open(v.Iv, v.Aad, v.Ct, v.Tag, pt);
            if (v.Result == "valid")
            {
                Assert.True(ok, $"{path}: {v} should open");
                Assert.Equal(v.Msg, pt);
                var ct = new byte[v.Msg.Length];
                var tag = new byte[v.Tag.Length];
                key.Seal(v.Iv, v.Aad, v.Msg, ct, tag);
                Assert.Equal(v.Ct, ct);
                Assert.Equal(v.Tag, tag);
                checkedValid++;
            }
            else if (v.Result == "invalid")
            {
                Assert.False(ok, $"{path}: {v} should be rejected");
                Assert.All(pt, b => Assert.Equal(0, b));
                checkedInvalid++;
            }
        }
        Assert.Equal(WycheproofGcmVector.All.Count, checkedValid + checkedInvalid);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void RecordAead_TlsShapedVectors_SealAndOpenMatch(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        int count = 0;
        foreach (WycheproofGcmVector v in WycheproofGcmVector.All.Where(v => v.IsTlsShaped))
        {
            using AesGcmAead aead = AesGcmAead.Create(v.Key, path);
            byte[] body = [.. v.Ct, .. v.Tag];
            var pt = new byte[v.Ct.Length];
            bool ok = aead.Open(v.Iv, v.Aad, body, pt);
            Assert.Equal(v.Result == "valid", ok);
            if (ok)
            {
                Assert.Equal(v.Msg, pt);
                var sealedBody = new byte[v.Msg.Length + 16];
                aead.Seal(v.Iv, v.Aad, v.Msg, sealedBody);
                Assert.Equal(body, sealedBody);
            }
            else
            {
                Assert.All(pt, b => Assert.Equal(0, b));
            }
            count++;
        }
        Assert.True(count > 100, $"only {count} TLS-shaped vectors");
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Opener_TlsShapedVectorsInOneBytePieces_MatchesExpectedResult(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        foreach (WycheproofGcmVector v in WycheproofGcmVector.All.Where(v => v.IsTlsShaped))
        {
            using AesGcmAead aead = AesGcmAead.Create(v.Key, path);
            using RecordOpener opener = aead.CreateOpener();
            byte[] body = [.. v.Ct, .. v.Tag];
            var pt = new byte[v.Ct.Length];
            bool ok = AesGcmTestSupport.OpenInPieces(opener, v.Iv, v.Aad, body, pt, () => 1);
            Assert.Equal(v.Result == "valid", ok);
            if (ok)
                Assert.Equal(v.Msg, pt);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Opener_TlsShapedVectorsInRandomPieces_MatchesExpectedResult(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        var rng = new Random(1234 + (int)path);
        foreach (WycheproofGcmVector v in WycheproofGcmVector.All.Where(v => v.IsTlsShaped))
        {
            using AesGcmAead aead = AesGcmAead.Create(v.Key, path);
            using RecordOpener opener = aead.CreateOpener();
            byte[] body = [.. v.Ct, .. v.Tag];
            for (int round = 0; round < 4; round++)
            {
                var pt = new byte[v.Ct.Length];
                bool ok = AesGcmTestSupport.OpenInPieces(opener, v.Iv, v.Aad, body, pt, () => rng.Next(1, 40));
                Assert.Equal(v.Result == "valid", ok);
                if (ok)
                    Assert.Equal(v.Msg, pt);
            }
        }
    }
}
