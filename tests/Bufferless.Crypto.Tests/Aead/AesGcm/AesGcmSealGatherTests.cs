using Bufferless.Crypto.Aead;

namespace Bufferless.Crypto.Tests.Aead.AesGcm;

/// <summary>SealGather (content and TLS 1.3 type byte from two places, straight into the output) against Seal of the concatenation.</summary>
public class AesGcmSealGatherTests
{
    public static TheoryData<string> Paths => AesGcmTestSupport.SupportedPaths();

    [Theory]
    [MemberData(nameof(Paths))]
    public void SealGather_ContentAndTrailer_SameBodyAsSealOfConcatenation(string pathName)
    {
        AesGcmPath path = Enum.Parse<AesGcmPath>(pathName);
        var rng = new Random(0x6a7 + (int)path);
        // Every tail length around the batch (128) and the gathered-finish limit, and record sizes the engine uses.
        int[] lengths = [.. Enumerable.Range(0, 300), 1399, 1407, 1408, 1409, 1426, 1448, 1503, 1519, 1520, 1535, 4000, 16383, 16384];
        foreach (int length in lengths)
            foreach (int trailerLength in new[] { 0, 1, 16 })
            {
                byte[] key = RandomBytes(rng, rng.Next(2) == 0 ? 16 : 32), nonce = RandomBytes(rng, 12), aad = RandomBytes(rng, 5);
                byte[] content = RandomBytes(rng, length), trailer = RandomBytes(rng, trailerLength);
                using AesGcmAead aead = AesGcmAead.Create(key, path);
                byte[] expected = new byte[length + trailerLength + 16];
                aead.Seal(nonce, aad, [.. content, .. trailer], expected);

                // Out of place, the output a little longer than needed (as in a packet buffer).
                byte[] body = new byte[expected.Length + 7];
                aead.SealGather(nonce, aad, content, trailer, body);
                Assert.Equal(expected, body[..expected.Length]);
                Assert.All(body[expected.Length..], b => Assert.Equal(0, b));

                // In place: the content already where the ciphertext goes.
                byte[] inPlace = new byte[expected.Length];
                content.CopyTo(inPlace, 0);
                aead.SealGather(nonce, aad, inPlace.AsSpan(0, length), trailer, inPlace);
                Assert.Equal(expected, inPlace);

                byte[] opened = new byte[length + trailerLength];
                Assert.True(aead.Open(nonce, aad, body.AsSpan(0, expected.Length), opened));
                Assert.Equal([.. content, .. trailer], opened);
            }
    }

    [Theory]
    [InlineData(AeadAlgorithm.Aes128Gcm, 16)]
    [InlineData(AeadAlgorithm.ChaCha20Poly1305, 32)]
    public void SealGather_AnyAead_SameBodyAsSeal(AeadAlgorithm algorithm, int keyLength)
    {
        // The base class gathers and seals in place for implementations without their own (ChaCha20-Poly1305).
        var rng = new Random(42);
        byte[] key = RandomBytes(rng, keyLength), nonce = RandomBytes(rng, 12), aad = RandomBytes(rng, 5), content = RandomBytes(rng, 1448);
        using RecordAead aead = RecordAead.Create(algorithm, key);
        byte[] expected = new byte[1448 + 1 + 16];
        aead.Seal(nonce, aad, [.. content, 23], expected);

        byte[] body = new byte[expected.Length];
        aead.SealGather(nonce, aad, content, [23], body);

        Assert.Equal(expected, body);
        Assert.Throws<ArgumentException>(() => aead.SealGather(nonce, aad, content, [23], new byte[1448 + 16]));
    }

    [Fact]
    public void SealGather_SteadyState_AllocatesNothing()
    {
        var rng = new Random(7);
        using RecordAead aead = RecordAead.Create(AeadAlgorithm.Aes128Gcm, RandomBytes(rng, 16));
        byte[] nonce = RandomBytes(rng, 12), aad = RandomBytes(rng, 5), content = RandomBytes(rng, 1448), body = new byte[1448 + 17];
        byte[] trailer = [23];
        aead.SealGather(nonce, aad, content, trailer, body);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) aead.SealGather(nonce, aad, content, trailer, body);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static byte[] RandomBytes(Random rng, int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }
}
