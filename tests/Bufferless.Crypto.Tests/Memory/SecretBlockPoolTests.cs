using Bufferless.Crypto.Memory;

namespace Bufferless.Crypto.Tests.Memory;

public unsafe class SecretBlockPoolTests
{
    [Fact]
    public void Rent_BlocksAreAlignedDistinctAndZero()
    {
        var pool = new SecretBlockPool(500);
        Assert.Equal(512, pool.BlockSize);
        var blocks = new List<SecretBlock>();
        var starts = new HashSet<nuint>();
        for (int i = 0; i < 200; i++)
        {
            SecretBlock b = pool.Rent();
            Assert.Equal(0u, (nuint)b.Pointer % 64);
            Assert.Equal(512, b.Length);
            Assert.True(b.Span.IndexOfAnyExcept((byte)0) < 0);
            b.Span.Fill((byte)(i + 1));
            blocks.Add(b);
            starts.Add((nuint)b.Pointer);
        }
        Assert.Equal(200, starts.Count);
        // No block overlaps another: each still holds its own fill.
        for (int i = 0; i < blocks.Count; i++)
            Assert.True(blocks[i].Span.IndexOfAnyExcept((byte)(i + 1)) < 0, $"block {i} was overwritten");
        foreach (SecretBlock b in blocks)
            pool.Return(b);
    }

    [Fact]
    public void Return_ZeroesTheBlock_AndTheNextRentReusesIt()
    {
        var pool = new SecretBlockPool(64);
        SecretBlock a = pool.Rent();
        a.Span.Fill(0xA5);
        pool.Return(a);
        Assert.True(a.Span.IndexOfAnyExcept((byte)0) < 0, "returned block still holds secret bytes");
        SecretBlock b = pool.Rent();
        Assert.Equal((nuint)a.Pointer, (nuint)b.Pointer);
        pool.Return(b);
    }

    [Fact]
    public void Return_Twice_Throws()
    {
        var pool = new SecretBlockPool(64);
        SecretBlock a = pool.Rent();
        pool.Return(a);
        Assert.Throws<InvalidOperationException>(() => pool.Return(a));
        Assert.Throws<ArgumentException>(() => pool.Return(default));
    }

    [Fact]
    public void Burst_SlabsAreDroppedWhenFreeAgain()
    {
        var pool = new SecretBlockPool(512);
        var blocks = new List<SecretBlock>();
        for (int i = 0; i < 64 * 20; i++)
            blocks.Add(pool.Rent());
        Assert.Equal(20, pool.SlabCount);
        foreach (SecretBlock b in blocks)
            pool.Return(b);
        Assert.Equal(1, pool.SlabCount);
        // The slab that is kept still serves.
        SecretBlock again = pool.Rent();
        pool.Return(again);
        Assert.Equal(1, pool.SlabCount);
    }

    [Fact]
    public void ManyThreads_EveryBlockIsOwnedByOneRenterAtATime()
    {
        var pool = new SecretBlockPool(128);
        int failures = 0;
        Parallel.For(0, 8, t =>
        {
            byte mark = (byte)(t + 1);
            for (int i = 0; i < 5000; i++)
            {
                SecretBlock b = pool.Rent();
                if (b.Span.IndexOfAnyExcept((byte)0) >= 0)
                    Interlocked.Increment(ref failures);
                b.Span.Fill(mark);
                if (b.Span.IndexOfAnyExcept(mark) >= 0)
                    Interlocked.Increment(ref failures);
                pool.Return(b);
            }
        });
        Assert.Equal(0, failures);
        Assert.Equal(1, pool.SlabCount);
    }
}
