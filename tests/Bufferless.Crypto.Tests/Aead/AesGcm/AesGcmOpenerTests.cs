using System.Security.Cryptography;
using Bufferless.Crypto.Aead;
using Bufferless.Crypto.Memory;

namespace Bufferless.Crypto.Tests.Aead.AesGcm;

public class AesGcmOpenerTests
{
    public static TheoryData<string> Paths => AesGcmTestSupport.SupportedPaths();

    private static (byte[] Key, byte[] Nonce, byte[] Aad, byte[] Pt, byte[] Body) Record(AesGcmPath path, int seed, int length, int keyLength = 16)
    {
        var rng = new Random(seed);
        byte[] key = AesGcmDifferentialTests.RandomBytes(rng, keyLength);
        byte[] nonce = AesGcmDifferentialTests.RandomBytes(rng, 12);
        byte[] aad = AesGcmDifferentialTests.RandomBytes(rng, 13);
        byte[] pt = AesGcmDifferentialTests.RandomBytes(rng, length);
        byte[] body = new byte[length + 16];
        using AesGcmAead aead = AesGcmAead.Create(key, path);
        aead.Seal(nonce, aad, pt, body);
        return (key, nonce, aad, pt, body);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void FlippedBit_AnywhereInCiphertextTagOrAad_FailsCheck(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        var rng = new Random(99 + (int)path);
        foreach (int length in new[] { 0, 1, 15, 16, 17, 127, 128, 129, 1448, 5000 })
        {
            var (key, nonce, aad, pt, body) = Record(path, length, length, length % 2 == 0 ? 16 : 32);
            using AesGcmAead aead = AesGcmAead.Create(key, path);
            using RecordOpener opener = aead.CreateOpener();
            for (int trial = 0; trial < 40; trial++)
            {
                byte[] badBody = (byte[])body.Clone();
                byte[] badAad = (byte[])aad.Clone();
                int bit = rng.Next((badBody.Length + badAad.Length) * 8);
                if (bit < badBody.Length * 8)
                    badBody[bit / 8] ^= (byte)(1 << (bit % 8));
                else
                    badAad[bit / 8 - badBody.Length] ^= (byte)(1 << (bit % 8));

                byte[] plain = new byte[length];
                Array.Fill(plain, (byte)0xAA);
                Assert.False(aead.Open(nonce, badAad, badBody, plain));
                Assert.All(plain, b => Assert.Equal(0, b));
                Assert.False(AesGcmTestSupport.OpenInPieces(opener, nonce, badAad, badBody, new byte[length], () => rng.Next(1, 200)));
            }
            Assert.True(AesGcmTestSupport.OpenInPieces(opener, nonce, aad, body, new byte[length], () => rng.Next(1, 200)));
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Finish_BytesMissingOrNoRecord_ReturnsFalse(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        var (key, nonce, aad, _, body) = Record(path, 5, 100);
        using AesGcmAead aead = AesGcmAead.Create(key, path);
        using RecordOpener opener = aead.CreateOpener();
        Assert.False(opener.Finish());
        opener.Begin(nonce, aad, 100);
        opener.Update(body.AsSpan(0, body.Length - 1), new byte[100]);
        Assert.Equal(1, opener.Remaining);
        Assert.False(opener.Finish());
        Assert.Equal(0, opener.Remaining);
        Assert.False(opener.Finish());
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Update_MoreThanBody_Throws(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        var (key, nonce, aad, _, body) = Record(path, 6, 40);
        using AesGcmAead aead = AesGcmAead.Create(key, path);
        using RecordOpener opener = aead.CreateOpener();
        opener.Begin(nonce, aad, 40);
        Assert.Throws<InvalidOperationException>(() => opener.Update(new byte[body.Length + 1], new byte[body.Length + 1]));
        opener.Update(body, new byte[40]);
        Assert.Throws<InvalidOperationException>(() => opener.Update(new byte[1], new byte[1]));
        Assert.True(opener.Finish());
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void BeginUpdateFinish_ManyRecords_AllocatesNothing(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        var (key, nonce, aad, pt, body) = Record(path, 7, 16_384);
        using AesGcmAead aead = AesGcmAead.Create(key, path);
        using RecordOpener opener = aead.CreateOpener();
        byte[] plain = new byte[pt.Length];
        byte[] sealedBody = new byte[body.Length];

        void RunRecords(int count)
        {
            for (int r = 0; r < count; r++)
            {
                opener.Begin(nonce, aad, pt.Length);
                int written = 0;
                for (int pos = 0; pos < body.Length; pos += 1448)
                    written += opener.Update(body.AsSpan(pos, Math.Min(1448, body.Length - pos)), plain.AsSpan(written));
                Assert.True(opener.Finish());
                Assert.True(aead.Open(nonce, aad, body, plain));
                aead.Seal(nonce, aad, pt, sealedBody);
                aead.ApplyKeystream(nonce, 1000, body.AsSpan(1000, 3000), plain.AsSpan(1000, 3000));
            }
        }

        RunRecords(20); // warm up: tiering, static initialisers
        long before = GC.GetAllocatedBytesForCurrentThread();
        RunRecords(200);
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(0, after - before);
        Assert.Equal(pt, plain);
        Assert.Equal(body, sealedBody);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Dispose_KeyMaterial_IsZeroed(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        var key = new byte[32];
        RandomNumberGenerator.Fill(key);
        // A pool of its own: the block is looked at after Dispose, when the shared pool could hand it to another test.
        var pool = new SecretBlockPool(1024);
        var core = new GcmKey(key, path, pool);
        Assert.Contains(core.SecretStateForTest.ToArray(), b => b != 0);
        core.Dispose();
        Assert.All(core.SecretStateForTest.ToArray(), b => Assert.Equal(0, b));
        Assert.Throws<ObjectDisposedException>(() => core.ApplyKeystream(default, 0, new byte[1], new byte[1]));

        AesGcmAead aead = AesGcmAead.Create(key, path);
        aead.Dispose();
        Assert.Throws<ObjectDisposedException>(() => aead.Key.ApplyKeystream(default, 0, new byte[1], new byte[1]));
        Assert.Throws<ObjectDisposedException>(() => aead.Seal(new byte[12], default, new byte[1], new byte[17]));
    }

    [Fact]
    public void RecordAead_NonTlsShapes_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => AesGcmAead.Create(new byte[24]));
        Assert.Throws<ArgumentException>(() => AesGcmAead.Create(new byte[15]));
        using RecordAead aead = AesGcmAead.Create(new byte[16]);
        Assert.Equal(AeadAlgorithm.Aes128Gcm, aead.Algorithm);
        Assert.Throws<ArgumentException>(() => aead.Seal(new byte[8], default, new byte[4], new byte[20]));
        Assert.Throws<ArgumentException>(() => aead.Open(new byte[16], default, new byte[20], new byte[4]));
        Assert.Throws<ArgumentException>(() => aead.ApplyKeystream(new byte[13], 0, new byte[4], new byte[4]));
        Assert.Throws<ArgumentException>(() => aead.Seal(new byte[12], default, new byte[4], new byte[19]));
        using RecordOpener opener = aead.CreateOpener();
        Assert.Throws<ArgumentException>(() => opener.Begin(new byte[11], default, 10));
        Assert.False(aead.Open(new byte[12], default, new byte[15], new byte[0]));
        using RecordAead aes256 = RecordAead.Create(AeadAlgorithm.Aes256Gcm, new byte[32]);
        Assert.Equal(AeadAlgorithm.Aes256Gcm, aes256.Algorithm);
    }

    [Fact]
    public void AutoPath_OnThisMachine_IsTheBestSupported()
    {
        using AesGcmAead aead = AesGcmAead.Create(new byte[16], AesGcmPath.Auto);
        Assert.Equal(AesGcmPaths.Best, aead.Key.Path);
        Assert.True(AesGcmPaths.IsSupported(aead.Key.Path));
        Assert.NotEqual(AesGcmPath.Auto, aead.Key.Path);
    }
}
