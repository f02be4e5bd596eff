using System.Runtime.Intrinsics;
using Bufferless.Crypto.Aead;
using PlatformAesGcm = System.Security.Cryptography.AesGcm;

namespace Bufferless.Crypto.Tests.Aead.AesGcm;

/// <summary>Random keys, nonces, AADs, lengths and piece splits against the platform's one-shot AesGcm.</summary>
public class AesGcmDifferentialTests
{
    public static TheoryData<string> Paths => AesGcmTestSupport.SupportedPaths();

    private static int NextLength(Random rng) => rng.Next(10) switch
    {
        < 5 => rng.Next(0, 300),        // around block and batch edges
        < 8 => rng.Next(300, 3000),     // TCP segment sized
        _ => rng.Next(3000, 20_001),    // up to a full TLS record and beyond
    };

    private static Func<int> NextSplitter(Random rng, int length) => rng.Next(5) switch
    {
        0 when length < 3000 => () => 1,
        0 or 1 => () => rng.Next(1, 33),
        2 => () => rng.Next(1, 300),
        3 => () => 1448,
        _ => () => rng.Next(1, length + 17),
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void SealOpenAndOpener_RandomRecords_MatchPlatformAesGcm(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        var rng = new Random(0x5eed + 17 * (int)path);
        for (int i = 0; i < 1500; i++)
        {
            byte[] key = RandomBytes(rng, rng.Next(2) == 0 ? 16 : 32);
            byte[] nonce = RandomBytes(rng, 12);
            byte[] aad = RandomBytes(rng, rng.Next(4) == 0 ? rng.Next(0, 400) : rng.Next(0, 14));
            byte[] pt = RandomBytes(rng, NextLength(rng));

            byte[] expected = new byte[pt.Length + 16];
            using (var platform = new PlatformAesGcm(key, 16))
                platform.Encrypt(nonce, pt, expected.AsSpan(0, pt.Length), expected.AsSpan(pt.Length), aad);

            using AesGcmAead aead = AesGcmAead.Create(key, path);
            byte[] body = new byte[pt.Length + 16];
            aead.Seal(nonce, aad, pt, body);
            Assert.Equal(expected, body);

            byte[] opened = new byte[pt.Length];
            Assert.True(aead.Open(nonce, aad, body, opened));
            Assert.Equal(pt, opened);

            using RecordOpener opener = aead.CreateOpener();
            byte[] streamed = new byte[pt.Length];
            Assert.True(AesGcmTestSupport.OpenInPieces(opener, nonce, aad, body, streamed, NextSplitter(rng, pt.Length)), $"record {i}, length {pt.Length}");
            Assert.Equal(pt, streamed);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void InPlace_SealOpenUpdate_MatchPlatformAesGcm(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        var rng = new Random(0xab + (int)path);
        for (int i = 0; i < 300; i++)
        {
            byte[] key = RandomBytes(rng, rng.Next(2) == 0 ? 16 : 32);
            byte[] nonce = RandomBytes(rng, 12);
            byte[] aad = RandomBytes(rng, rng.Next(0, 30));
            byte[] pt = RandomBytes(rng, NextLength(rng));
            byte[] expected = new byte[pt.Length + 16];
            using (var platform = new PlatformAesGcm(key, 16))
                platform.Encrypt(nonce, pt, expected.AsSpan(0, pt.Length), expected.AsSpan(pt.Length), aad);
            using AesGcmAead aead = AesGcmAead.Create(key, path);

            byte[] buffer = new byte[pt.Length + 16];
            pt.CopyTo(buffer, 0);
            aead.Seal(nonce, aad, buffer.AsSpan(0, pt.Length), buffer);
            Assert.Equal(expected, buffer);

            Assert.True(aead.Open(nonce, aad, buffer, buffer));
            Assert.Equal(pt, buffer.AsSpan(0, pt.Length).ToArray());

            expected.CopyTo(buffer, 0);
            using RecordOpener opener = aead.CreateOpener();
            Assert.True(AesGcmTestSupport.OpenInPieces(opener, nonce, aad, buffer, buffer, NextSplitter(rng, pt.Length)));
            Assert.Equal(pt, buffer.AsSpan(0, pt.Length).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ApplyKeystream_RandomOffsets_EqualsSliceOfDecryption(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        var rng = new Random(0xcafe + (int)path);
        for (int i = 0; i < 300; i++)
        {
            byte[] key = RandomBytes(rng, rng.Next(2) == 0 ? 16 : 32);
            byte[] nonce = RandomBytes(rng, 12);
            byte[] pt = RandomBytes(rng, rng.Next(1, 17_000));
            byte[] ct = new byte[pt.Length];
            using (var platform = new PlatformAesGcm(key, 16))
                platform.Encrypt(nonce, pt, ct, new byte[16]);
            using AesGcmAead aead = AesGcmAead.Create(key, path);

            int offset = rng.Next(0, pt.Length);
            int length = rng.Next(0, pt.Length - offset + 1);
            byte[] output = new byte[length];
            aead.ApplyKeystream(nonce, offset, ct.AsSpan(offset, length), output);
            Assert.Equal(pt.AsSpan(offset, length).ToArray(), output);

            byte[] inPlace = ct.AsSpan(offset, length).ToArray();
            aead.ApplyKeystream(nonce, offset, inPlace, inPlace);
            Assert.Equal(pt.AsSpan(offset, length).ToArray(), inPlace);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ApplyKeystream_CounterPastTwoToThe32_WrapsModulo2To32(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        // SP 800-38D §6.2: inc32 wraps the low 32 bits only. Reference keystream: ECB of the counter blocks.
        byte[] key = RandomBytes(new Random(7), 16);
        byte[] nonce = RandomBytes(new Random(8), 12);
        const int Blocks = 20;
        long firstCounter = 0xFFFF_FFF8; // counters ..., 0xFFFFFFFF, 0, 1, ... (wraps inside the run)
        byte[] counters = new byte[Blocks * 16];
        for (int j = 0; j < Blocks; j++)
        {
            nonce.CopyTo(counters, 16 * j);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(counters.AsSpan(16 * j + 12), unchecked((uint)(firstCounter + j)));
        }
        using var ecb = System.Security.Cryptography.Aes.Create();
        ecb.Key = key;
        byte[] expected = ecb.EncryptEcb(counters, System.Security.Cryptography.PaddingMode.None);

        using AesGcmAead aead = AesGcmAead.Create(key, path);
        long offset = (firstCounter - 2) * 16 + 5; // counter = 2 + offset / 16, skipping 5 bytes
        byte[] output = new byte[Blocks * 16 - 5];
        aead.ApplyKeystream(nonce, offset, new byte[output.Length], output);
        Assert.Equal(expected.AsSpan(5).ToArray(), output);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Core_RandomIvLengthsAnd192BitKeys_MatchPortablePath(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        var rng = new Random(0xbeef + (int)path);
        for (int i = 0; i < 200; i++)
        {
            byte[] keyBytes = RandomBytes(rng, new[] { 16, 24, 32 }[rng.Next(3)]);
            byte[] iv = RandomBytes(rng, rng.Next(1, 80));
            byte[] aad = RandomBytes(rng, rng.Next(0, 200));
            byte[] pt = RandomBytes(rng, NextLength(rng));
            int tagLength = rng.Next(1, 17);
            using var reference = new GcmKey(keyBytes, AesGcmPath.Portable);
            using var key = new GcmKey(keyBytes, path);
            byte[] ct1 = new byte[pt.Length], tag1 = new byte[tagLength];
            byte[] ct2 = new byte[pt.Length], tag2 = new byte[tagLength];
            reference.Seal(iv, aad, pt, ct1, tag1);
            key.Seal(iv, aad, pt, ct2, tag2);
            Assert.Equal(ct1, ct2);
            Assert.Equal(tag1, tag2);
            byte[] opened = new byte[pt.Length];
            Assert.True(key.Open(iv, aad, ct2, tag2, opened));
            Assert.Equal(pt, opened);
            if (iv.Length == 12 && keyBytes.Length != 24)
            {
                using var platform = new PlatformAesGcm(keyBytes, 16);
                byte[] platformTag = new byte[16];
                platform.Encrypt(iv, pt, new byte[pt.Length], platformTag, aad);
                Assert.Equal(platformTag.AsSpan(0, tagLength).ToArray(), tag2);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Encrypt_InRandomPieces_MatchesOneShot(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        var rng = new Random(0x1001 + (int)path);
        for (int i = 0; i < 300; i++)
        {
            byte[] keyBytes = RandomBytes(rng, 16);
            byte[] nonce = RandomBytes(rng, 12);
            byte[] aad = RandomBytes(rng, rng.Next(0, 40));
            byte[] pt = RandomBytes(rng, NextLength(rng));
            using var key = new GcmKey(keyBytes, path);
            byte[] ct1 = new byte[pt.Length], tag1 = new byte[16];
            key.Seal(nonce, aad, pt, ct1, tag1);

            GcmState s = default;
            key.Start(ref s, nonce, aad);
            byte[] ct2 = new byte[pt.Length];
            Func<int> next = NextSplitter(rng, pt.Length);
            for (int pos = 0; pos < pt.Length;)
            {
                int piece = Math.Min(next(), pt.Length - pos);
                key.Encrypt(ref s, pt.AsSpan(pos, piece), ct2.AsSpan(pos, piece));
                pos += piece;
            }
            var tag2 = key.ComputeTag(ref s);
            Assert.Equal(ct1, ct2);
            byte[] tag2Bytes = new byte[16];
            tag2.CopyTo(tag2Bytes);
            Assert.Equal(tag1, tag2Bytes);
        }
    }

    internal static byte[] RandomBytes(Random rng, int length)
    {
        byte[] b = new byte[length];
        rng.NextBytes(b);
        return b;
    }
}
