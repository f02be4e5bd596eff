using System.Security.Cryptography;
using Bufferless.Crypto.Aead;
using Bufferless.Crypto.Memory;
using Bufferless.Crypto.Tests.KeyExchange;

namespace Bufferless.Crypto.Tests.Aead.ChaCha;

public class ChaCha20Poly1305AeadTests
{
    /// <summary>Every implementation this machine supports (libcrypto EVP, managed portable, managed AVX-512, hybrid).</summary>
    public static TheoryData<string> Paths()
    {
        var data = new TheoryData<string>();
        foreach (ChaChaPath p in new[] { ChaChaPath.Evp, ChaChaPath.Portable, ChaChaPath.Wide, ChaChaPath.Hybrid })
        {
            if (ChaChaPaths.IsSupported(p))
                data.Add(p.ToString());
        }
        return data;
    }

    private static RecordAead Create(byte[] key, string path) => ChaCha20Poly1305Aead.Create(key, Enum.Parse<ChaChaPath>(path));

    /// <summary>
    /// Every chacha20_poly1305_test.json vector through Seal, Open and the streaming opener. 'valid' vectors must
    /// seal to ct||tag and open; 'invalid' ones with a 12-byte nonce (modified tags) must fail to open; the ones
    /// with another nonce size must be refused by every entry point with ArgumentException.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void AllEntryPoints_WycheproofVectors_AgreeWithFile(string path)
    {
        int valid = 0, rejectedTag = 0, refusedNonce = 0;
        var tests = WycheproofFile.Tests("chacha20_poly1305_test.json", out var doc);
        using var _ = doc;
        foreach (var t in tests)
        {
            byte[] key = t.Hex("key"), iv = t.Hex("iv"), aad = t.Hex("aad"), msg = t.Hex("msg"), ct = t.Hex("ct"), tag = t.Hex("tag");
            byte[] body = [.. ct, .. tag];
            using RecordAead aead = Create(key, path);
            using RecordOpener opener = aead.CreateOpener();
            var output = new byte[Math.Max(msg.Length, ct.Length)];
            if (iv.Length != 12)
            {
                Assert.Equal("invalid", t.Str("result"));
                Assert.Throws<ArgumentException>(() => aead.Seal(iv, aad, msg, new byte[msg.Length + 16]));
                Assert.Throws<ArgumentException>(() => aead.Open(iv, aad, body, output));
                Assert.Throws<ArgumentException>(() => aead.ApplyKeystream(iv, 0, msg, output));
                Assert.Throws<ArgumentException>(() => opener.Begin(iv, aad, ct.Length));
                refusedNonce++;
                continue;
            }
            bool streamed = OpenStreaming(opener, iv, aad, body, output, Random.Shared);
            bool opened = aead.Open(iv, aad, body, output);
            if (t.Str("result") == "valid")
            {
                var sealedBody = new byte[msg.Length + 16];
                aead.Seal(iv, aad, msg, sealedBody);
                Assert.Equal(body, sealedBody);
                Assert.True(opened, $"tc {t.Id()}");
                Assert.True(streamed, $"tc {t.Id()}");
                Assert.Equal(msg, output[..msg.Length]);
                valid++;
            }
            else
            {
                Assert.False(opened, $"tc {t.Id()}");
                Assert.False(streamed, $"tc {t.Id()}");
                Assert.True(output.AsSpan(0, ct.Length).IndexOfAnyExcept((byte)0) < 0, "plaintext cleared on failure");
                rejectedTag++;
            }
        }
        Assert.Equal((256, 60, 9), (valid, rejectedTag, refusedNonce));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Seal_Rfc8439Section282_MatchesTestVector(string path)
    {
        byte[] key = Convert.FromHexString("808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9F");
        byte[] nonce = Convert.FromHexString("070000004041424344454647");
        byte[] aad = Convert.FromHexString("50515253C0C1C2C3C4C5C6C7");
        byte[] pt = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."u8.ToArray();
        using RecordAead aead = Create(key, path);
        var body = new byte[pt.Length + 16];
        aead.Seal(nonce, aad, pt, body);
        Assert.Equal("1AE10B594F09E26A7E902ECBD0600691", Convert.ToHexString(body[^16..]));
        Assert.Equal("D31A8D34648E60DB7B86AFBC53EF7EC2", Convert.ToHexString(body[..16]));
    }

    /// <summary>Differential against the platform's one-shot ChaCha20Poly1305 over random lengths and random piece splits.</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void SealOpenAndOpener_RandomCases_MatchPlatform(string path)
    {
        var rng = new Random(8439);
        var key = new byte[32];
        ChaCha20Poly1305 platform = null!;
        RecordAead aead = null!;
        RecordOpener opener = null!;
        var nonce = new byte[12];
        for (int i = 0; i < 3000; i++)
        {
            if (i % 50 == 0)
            {
                // A fresh key now and then; the opener is reused across records of one key.
                platform?.Dispose(); opener?.Dispose(); aead?.Dispose();
                rng.NextBytes(key);
                platform = new ChaCha20Poly1305(key);
                aead = Create(key, path);
                opener = aead.CreateOpener();
            }
            int length = i < 100 ? i : rng.Next(0, 20_001);
            rng.NextBytes(nonce);
            var aad = new byte[rng.Next(0, 40)];
            rng.NextBytes(aad);
            var pt = new byte[length];
            rng.NextBytes(pt);
            var expected = new byte[length + 16];
            platform.Encrypt(nonce, pt, expected.AsSpan(0, length), expected.AsSpan(length), aad);

            var body = new byte[length + 16];
            aead.Seal(nonce, aad, pt, body);
            Assert.Equal(expected, body);

            var output = new byte[length];
            Assert.True(aead.Open(nonce, aad, body, output));
            Assert.Equal(pt, output);

            Array.Clear(output);
            Assert.True(OpenStreaming(opener, nonce, aad, body, output, rng));
            Assert.Equal(pt, output);
        }
        platform.Dispose(); opener.Dispose(); aead.Dispose();
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Opener_OneBytePieces_DecryptsAndAuthenticates(string path)
    {
        byte[] key = RandomNumberGenerator.GetBytes(32), nonce = RandomNumberGenerator.GetBytes(12), aad = RandomNumberGenerator.GetBytes(13);
        byte[] pt = RandomNumberGenerator.GetBytes(300);
        using RecordAead aead = Create(key, path);
        var body = new byte[pt.Length + 16];
        aead.Seal(nonce, aad, pt, body);
        using RecordOpener opener = aead.CreateOpener();
        opener.Begin(nonce, aad, pt.Length);
        var output = new byte[pt.Length];
        int written = 0;
        for (int i = 0; i < body.Length; i++)
        {
            Assert.Equal(body.Length - i, opener.Remaining);
            written += opener.Update(body.AsSpan(i, 1), output.AsSpan(written));
        }
        Assert.Equal(0, opener.Remaining);
        Assert.Equal(pt.Length, written);
        Assert.True(opener.Finish());
        Assert.Equal(pt, output);
        Assert.False(opener.Finish()); // a finished record cannot be finished again
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Opener_FinishEarlyOrOverfed_FailsCleanly(string path)
    {
        byte[] key = RandomNumberGenerator.GetBytes(32), nonce = RandomNumberGenerator.GetBytes(12);
        byte[] pt = RandomNumberGenerator.GetBytes(100);
        using RecordAead aead = Create(key, path);
        var body = new byte[116];
        aead.Seal(nonce, [], pt, body);
        using RecordOpener opener = aead.CreateOpener();
        var output = new byte[100];

        opener.Begin(nonce, [], 100);
        opener.Update(body.AsSpan(0, 110), output);
        Assert.Equal(6, opener.Remaining);
        Assert.False(opener.Finish()); // tag incomplete

        opener.Begin(nonce, [], 100);
        Assert.Throws<InvalidOperationException>(() => opener.Update(new byte[117], new byte[117]));
        opener.Update(body, output);
        Assert.Throws<InvalidOperationException>(() => opener.Update(new byte[1], new byte[1]));
        Assert.True(opener.Finish());
        Assert.Equal(pt, output);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Open_BitFlipsInCiphertextTagOrAad_Fail(string path)
    {
        byte[] key = RandomNumberGenerator.GetBytes(32), nonce = RandomNumberGenerator.GetBytes(12), aad = RandomNumberGenerator.GetBytes(13);
        byte[] pt = RandomNumberGenerator.GetBytes(200);
        using RecordAead aead = Create(key, path);
        using RecordOpener opener = aead.CreateOpener();
        var body = new byte[216];
        aead.Seal(nonce, aad, pt, body);
        var output = new byte[200];
        var rng = new Random(1);
        for (int bit = 0; bit < body.Length * 8; bit += 7)
        {
            body[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(aead.Open(nonce, aad, body, output), $"body bit {bit}");
            Assert.False(OpenStreaming(opener, nonce, aad, body, output, rng), $"body bit {bit} streaming");
            body[bit / 8] ^= (byte)(1 << (bit % 8));
        }
        for (int bit = 0; bit < aad.Length * 8; bit++)
        {
            aad[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(aead.Open(nonce, aad, body, output), $"aad bit {bit}");
            Assert.False(OpenStreaming(opener, nonce, aad, body, output, rng), $"aad bit {bit} streaming");
            aad[bit / 8] ^= (byte)(1 << (bit % 8));
        }
        nonce[0] ^= 1;
        Assert.False(aead.Open(nonce, aad, body, output));
        nonce[0] ^= 1;
        Assert.False(aead.Open(nonce, aad, body[..^1], output)); // truncated tag
        Assert.False(aead.Open(nonce, aad, new byte[15], output)); // shorter than a tag
        Assert.True(aead.Open(nonce, aad, body, output));
        Assert.Equal(pt, output);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ApplyKeystream_RandomOffsets_MatchesSealedCiphertext(string path)
    {
        var rng = new Random(7);
        byte[] key = RandomNumberGenerator.GetBytes(32), nonce = RandomNumberGenerator.GetBytes(12);
        byte[] pt = new byte[20_000];
        rng.NextBytes(pt);
        using RecordAead aead = Create(key, path);
        var body = new byte[pt.Length + 16];
        aead.Seal(nonce, [], pt, body);
        for (int i = 0; i < 500; i++)
        {
            int offset = rng.Next(0, pt.Length);
            int length = rng.Next(0, pt.Length - offset + 1);
            var piece = body.AsSpan(offset, length).ToArray();
            aead.ApplyKeystream(nonce, offset, piece, piece); // in place: ciphertext -> plaintext
            Assert.True(piece.AsSpan().SequenceEqual(pt.AsSpan(offset, length)), $"offset {offset} length {length}");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => aead.ApplyKeystream(nonce, -1, new byte[1], new byte[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => aead.ApplyKeystream(nonce, (long)uint.MaxValue * 64, new byte[1], new byte[1]));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SealOpenOpener_InPlace_RoundTrip(string path)
    {
        byte[] key = RandomNumberGenerator.GetBytes(32), nonce = RandomNumberGenerator.GetBytes(12), aad = RandomNumberGenerator.GetBytes(5);
        byte[] pt = RandomNumberGenerator.GetBytes(5000);
        using RecordAead aead = Create(key, path);
        var buffer = new byte[pt.Length + 16];
        pt.CopyTo(buffer, 0);
        aead.Seal(nonce, aad, buffer.AsSpan(0, pt.Length), buffer);
        var expected = new byte[buffer.Length];
        aead.Seal(nonce, aad, pt, expected);
        Assert.Equal(expected, buffer);

        Assert.True(aead.Open(nonce, aad, buffer, buffer));
        Assert.Equal(pt, buffer[..pt.Length]);

        expected.CopyTo(buffer, 0);
        using RecordOpener opener = aead.CreateOpener();
        opener.Begin(nonce, aad, pt.Length);
        int at = 0;
        foreach (int piece in new[] { 1, 1447, 2000, 1552, 16 })
        {
            opener.Update(buffer.AsSpan(at, piece), buffer.AsSpan(at));
            at += piece;
        }
        Assert.True(opener.Finish());
        Assert.Equal(pt, buffer[..pt.Length]);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void HotPath_PerRecordAndPerPiece_AllocatesNothing(string path)
    {
        byte[] key = RandomNumberGenerator.GetBytes(32), nonce = RandomNumberGenerator.GetBytes(12), aad = RandomNumberGenerator.GetBytes(5);
        byte[] pt = RandomNumberGenerator.GetBytes(16384);
        var body = new byte[pt.Length + 16];
        var output = new byte[pt.Length];
        using RecordAead aead = Create(key, path);
        using RecordOpener opener = aead.CreateOpener();
        void Round()
        {
            aead.Seal(nonce, aad, pt, body);
            aead.Open(nonce, aad, body, output);
            aead.ApplyKeystream(nonce, 77, body.AsSpan(77, 1000), output);
            opener.Begin(nonce, aad, pt.Length);
            for (int at = 0; at < body.Length; at += 1448)
            {
                int n = Math.Min(1448, body.Length - at);
                opener.Update(body.AsSpan(at, n), output.AsSpan(Math.Min(at, output.Length)));
            }
            opener.Finish();
        }
        Round();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
            Round();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.True(aead.Open(nonce, aad, body, output));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Create_WrongKeyLength_Throws(string path)
    {
        Assert.Throws<ArgumentException>(() => Create(new byte[16], path));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Dispose_ThenUse_Throws(string path)
    {
        RecordAead aead = Create(RandomNumberGenerator.GetBytes(32), path);
        RecordOpener opener = aead.CreateOpener();
        aead.Dispose();
        Assert.Throws<ObjectDisposedException>(() => aead.Seal(new byte[12], [], [], new byte[16]));
        opener.Dispose();
        Assert.Throws<ObjectDisposedException>(() => opener.Begin(new byte[12], [], 0));
    }

    [Fact]
    public void ManagedPaths_Dispose_ZeroesKeyAndState()
    {
        foreach (ChaChaPath p in new[] { ChaChaPath.Portable, ChaChaPath.Wide, ChaChaPath.Hybrid })
        {
            if (!ChaChaPaths.IsSupported(p))
                continue;
            byte[] key = RandomNumberGenerator.GetBytes(32), nonce = RandomNumberGenerator.GetBytes(12);
            // A pool of its own: the blocks are looked at after Dispose, when the shared pool could hand them out again.
            var pool = new SecretBlockPool(ChaChaPolyState.Pool.BlockSize);
            var aead = (ManagedChaCha20Poly1305Aead)ChaCha20Poly1305Aead.Create(key, p, pool);
            var opener = (ManagedChaCha20Poly1305Aead.Opener)aead.CreateOpener();
            var body = new byte[3000 + 16];
            aead.Seal(nonce, [], new byte[3000], body);
            opener.Begin(nonce, [], 3000);
            opener.Update(body.AsSpan(0, 1448), new byte[1448]); // keystream and powers now sit in the opener's state
            Assert.True(opener.StateForTest.IndexOfAnyExcept((byte)0) >= 0);
            Assert.Equal(key, aead.KeyForTest.ToArray());
            opener.Dispose();
            opener.Dispose(); // twice is harmless
            aead.Dispose();
            Assert.True(aead.SecretsForTest.IndexOfAnyExcept((byte)0) < 0, $"{p}: key and state zeroed");
            Assert.True(opener.StateForTest.IndexOfAnyExcept((byte)0) < 0, $"{p}: opener state zeroed");
        }
    }

    [Fact]
    public void Create_Auto_PicksHybridWhenAvx512()
    {
        using RecordAead aead = RecordAead.Create(AeadAlgorithm.ChaCha20Poly1305, new byte[32]);
        if (ChaChaPaths.IsSupported(ChaChaPath.Wide))
            Assert.Equal(ChaChaPath.Hybrid, Assert.IsType<ManagedChaCha20Poly1305Aead>(aead).Path);
        else
            Assert.IsType<ChaCha20Poly1305Aead>(aead);
    }

    /// <summary>
    /// Record lengths and piece sizes around the wide path's edges (16-block keystream batches, 8-block Poly1305
    /// groups, the 16-block threshold of the vector Poly1305), every path against the platform.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Opener_PiecesAcrossBatchEdges_MatchPlatform(string path)
    {
        byte[] key = RandomNumberGenerator.GetBytes(32), nonce = RandomNumberGenerator.GetBytes(12), aad = RandomNumberGenerator.GetBytes(13);
        using var platform = new ChaCha20Poly1305(key);
        using RecordAead aead = Create(key, path);
        using RecordOpener opener = aead.CreateOpener();
        foreach (int length in new[] { 127, 128, 129, 255, 256, 257, 1023, 1024, 1025, 2048, 16384, 16385 })
        {
            byte[] pt = RandomNumberGenerator.GetBytes(length);
            var body = new byte[length + 16];
            platform.Encrypt(nonce, pt, body.AsSpan(0, length), body.AsSpan(length), aad);
            foreach (int piece in new[] { 64, 128, 1024, 1408, 1448, 1040, 4096 })
            {
                opener.Begin(nonce, aad, length);
                var output = new byte[length];
                int written = 0;
                for (int at = 0; at < body.Length; at += piece)
                    written += opener.Update(body.AsSpan(at, Math.Min(piece, body.Length - at)), output.AsSpan(written));
                Assert.True(opener.Finish(), $"length {length} piece {piece}");
                Assert.Equal(pt, output);
            }
            var sealedBody = new byte[length + 16];
            aead.Seal(nonce, aad, pt, sealedBody);
            Assert.Equal(body, sealedBody);
        }
    }

    /// <summary>
    /// A record cut into three pieces at every offset around the 16-byte (Poly1305 block), 64-byte (ChaCha20 block),
    /// 128-byte (wide Poly1305 group) and 1,024-byte (keystream batch) edges, then at a second offset a short or a
    /// batch-sized step further: exercises the keystream and partial blocks carried between pieces (whole blocks of a
    /// piece's last batch go straight to the output, the rest is kept), in place and into a separate buffer.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Opener_CutsAroundBlockEdges_MatchPlatform(string path)
    {
        byte[] key = RandomNumberGenerator.GetBytes(32), nonce = RandomNumberGenerator.GetBytes(12), aad = RandomNumberGenerator.GetBytes(5);
        const int Length = 2200;
        byte[] pt = RandomNumberGenerator.GetBytes(Length);
        var body = new byte[Length + 16];
        using (var platform = new ChaCha20Poly1305(key))
            platform.Encrypt(nonce, pt, body.AsSpan(0, Length), body.AsSpan(Length), aad);
        using RecordAead aead = Create(key, path);
        using RecordOpener opener = aead.CreateOpener();
        var cuts = new List<int>();
        foreach (int edge in new[] { 16, 64, 128, 1024, 2048 })
            for (int c = Math.Max(0, edge - 17); c <= edge + 17; c++)
                cuts.Add(c);
        cuts.AddRange(new[] { 1, 2, 15, 17, 31, 33, 63, 65, 95, 97, 1448 });
        var output = new byte[Length];
        var work = new byte[body.Length];
        foreach (int first in cuts)
        {
            foreach (int step in new[] { 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025 })
            {
                int second = Math.Min(first + step, body.Length);
                foreach (bool inPlace in new[] { false, true })
                {
                    body.CopyTo(work);
                    Array.Clear(output);
                    byte[] target = inPlace ? work : output;
                    opener.Begin(nonce, aad, Length);
                    int written = 0;
                    written += opener.Update(work.AsSpan(0, first), target.AsSpan(written));
                    written += opener.Update(work.AsSpan(first, second - first), target.AsSpan(written));
                    written += opener.Update(work.AsSpan(second), target.AsSpan(written));
                    Assert.Equal(Length, written);
                    Assert.True(opener.Finish(), $"cuts {first} {second} in place {inPlace}");
                    Assert.True(pt.AsSpan().SequenceEqual(target.AsSpan(0, Length)), $"cuts {first} {second} in place {inPlace}");
                }
            }
        }
    }

    /// <summary>
    /// Every record length up to 1,100 bytes (the wide path's half-width pass covers a record's last 8 blocks and
    /// whole records of up to 7 blocks): Seal, Open and the opener cut once at a random offset, against the platform.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void AllEntryPoints_EveryLengthTo1100_MatchPlatform(string path)
    {
        byte[] key = RandomNumberGenerator.GetBytes(32), nonce = RandomNumberGenerator.GetBytes(12), aad = RandomNumberGenerator.GetBytes(13);
        using var platform = new ChaCha20Poly1305(key);
        using RecordAead aead = Create(key, path);
        using RecordOpener opener = aead.CreateOpener();
        var rng = new Random(1100);
        byte[] all = RandomNumberGenerator.GetBytes(1100);
        for (int length = 0; length <= 1100; length++)
        {
            byte[] pt = all[..length];
            var body = new byte[length + 16];
            platform.Encrypt(nonce, pt, body.AsSpan(0, length), body.AsSpan(length), aad);
            var sealedBody = new byte[length + 16];
            aead.Seal(nonce, aad, pt, sealedBody);
            Assert.True(body.AsSpan().SequenceEqual(sealedBody), $"seal {length}");
            var output = new byte[length];
            Assert.True(aead.Open(nonce, aad, body, output), $"open {length}");
            Assert.Equal(pt, output);
            Array.Clear(output);
            int cut = rng.Next(body.Length + 1);
            opener.Begin(nonce, aad, length);
            int written = opener.Update(body.AsSpan(0, cut), output);
            written += opener.Update(body.AsSpan(cut), output.AsSpan(written));
            Assert.Equal(length, written);
            Assert.True(opener.Finish(), $"opener {length} cut {cut}");
            Assert.Equal(pt, output);
        }
    }

    /// <summary>Feeds the body to the opener in random pieces (often 1 byte, sometimes splitting the tag).</summary>
    internal static bool OpenStreaming(RecordOpener opener, byte[] nonce, byte[] aad, byte[] body, byte[] output, Random rng)
    {
        int ciphertextLength = body.Length - 16;
        opener.Begin(nonce, aad, ciphertextLength);
        int at = 0, written = 0;
        while (at < body.Length)
        {
            int piece = rng.Next(4) switch
            {
                0 => 1,
                1 => rng.Next(1, 17),
                2 => rng.Next(1, 1449),
                _ => rng.Next(1, body.Length - at + 1),
            };
            piece = Math.Min(piece, body.Length - at);
            written += opener.Update(body.AsSpan(at, piece), output.AsSpan(written));
            at += piece;
        }
        Assert.Equal(ciphertextLength, written);
        return opener.Finish();
    }
}
