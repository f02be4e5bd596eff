namespace Bufferless.Crypto.Tests;

public class RandomBytesTests
{
    [Fact]
    public void Fill_NeverHandsOutTheSameBytesTwice()
    {
        // Sizes that do not divide the buffer, so requests cross refills; a position that is not advanced, or a refill
        // that does not happen, repeats an output.
        var seen = new HashSet<string>();
        foreach (int size in new[] { 12, 32, 100, 255, 256, 257, 4000 })
        {
            for (int i = 0; i < 500; i++)
            {
                byte[] b = new byte[size];
                RandomBytes.Fill(b);
                Assert.True(seen.Add(Convert.ToHexString(b)), $"a {size}-byte output came twice");
            }
        }
    }

    [Fact]
    public void Fill_TakenBytesAreZeroedInTheBuffer_UnusedOnesAreNot()
    {
        Span<byte> b = stackalloc byte[32];
        RandomBytes.Fill(b); // makes sure this thread has a buffer
        RandomBytes.Fill(b);
        ReadOnlySpan<byte> whole = RandomBytes.BufferForTest;
        ReadOnlySpan<byte> unused = RandomBytes.UnusedForTest;
        int used = whole.Length - unused.Length;
        Assert.True(used >= 32);
        Assert.True(whole[..used].IndexOfAnyExcept((byte)0) < 0, "bytes already handed out are still in the buffer");
        Assert.True(unused.Length == 0 || unused.IndexOfAnyExcept((byte)0) >= 0);
        Assert.True(b.IndexOfAnyExcept((byte)0) >= 0);
    }

    [Fact]
    public void Fill_EveryByteValueTurnsUp()
    {
        var counts = new int[256];
        byte[] b = new byte[48];
        for (int i = 0; i < 2000; i++)
        {
            RandomBytes.Fill(b);
            foreach (byte x in b)
                counts[x]++;
        }
        // 96,000 bytes: each value is expected 375 times; fewer than 250 has a probability far below 1e-9.
        Assert.All(counts, c => Assert.InRange(c, 250, 500));
    }
}
