using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Bufferless.Crypto.Memory;

/// <summary>
/// Fixed-size, 64-byte aligned blocks of pinned memory for secret state (AES round keys and GHASH powers, ChaCha20
/// and Poly1305 state), carved out of pinned slabs of 64 blocks and reused. A block is zeroed when it is returned,
/// before it can be handed out again; the GC never moves it, so the zeroed block is the only copy there was.
/// </summary>
/// <remarks>
/// Why not one <c>GC.AllocateArray(pinned: true)</c> per key: the pinned object heap is swept only by gen2
/// collections and its allocation budget starts them, so four keys per TLS connection made every collection of the
/// proxy a gen2 one (<c>gc=18/17/17</c> in the SIGUSR1 counters after 25,800 lab connections, 66.7 ms of pauses,
/// `bash bench/lab/profile-proxy.sh`). Here a key costs a bit in a mask under an uncontended lock: 495 ns per key with
/// no gen2 collection against 1,013 ns and 0.17 gen2 collections per 1,000 keys for the pinned array
/// (`dotnet run -c Release --project bench/Bufferless.Benchmarks -- --filter '*SecretMemoryBenchmarks*' --job short`).
/// A slab whose blocks are all free again is dropped as soon as another slab has room, so the memory of a burst of
/// connections goes back to the GC afterwards. A block that is never returned is not zeroed (as an array that is
/// never disposed) and keeps its slab alive until the block's holder is collected; callers dispose their keys.
/// </remarks>
internal sealed unsafe class SecretBlockPool
{
    private const int BlocksPerSlab = 64;
    private const int Alignment = 64;

    private readonly object _lock = new();
    // Slabs with at least one free block; the last one is rented from.
    private readonly List<Slab> _withRoom = [];
    private int _slabCount;

    /// <param name="blockSize">Bytes per block; rounded up to a multiple of 64.</param>
    public SecretBlockPool(int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(blockSize, 0);
        BlockSize = (blockSize + Alignment - 1) & ~(Alignment - 1);
    }

    public int BlockSize { get; }

    /// <summary>Slabs currently kept (for tests: a burst's slabs are dropped again).</summary>
    internal int SlabCount
    {
        get
        {
            lock (_lock)
                return _slabCount;
        }
    }

    /// <summary>A block of <see cref="BlockSize"/> bytes. Its content is zero the first time and after every return.</summary>
    public SecretBlock Rent()
    {
        lock (_lock)
        {
            if (_withRoom.Count == 0)
            {
                _withRoom.Add(new Slab(BlockSize));
                _slabCount++;
            }
            Slab slab = _withRoom[^1];
            int index = BitOperations.TrailingZeroCount(slab.Free);
            slab.Free &= ~(1UL << index);
            if (slab.Free == 0)
                _withRoom.RemoveAt(_withRoom.Count - 1);
            return new SecretBlock(slab, index, slab.Base + (nint)index * BlockSize, BlockSize);
        }
    }

    /// <summary>Zeroes the block and makes it available again. The caller must not use it afterwards.</summary>
    public void Return(SecretBlock block)
    {
        Slab slab = block.Slab ?? throw new ArgumentException("not a rented block", nameof(block));
        ulong bit = 1UL << block.Index;
        lock (_lock)
        {
            // Checked before zeroing: a block already free may be some other key's by now.
            if ((slab.Free & bit) != 0)
                throw new InvalidOperationException("secret block returned twice");
            CryptographicOperations.ZeroMemory(new Span<byte>(block.Pointer, BlockSize));
            bool wasFull = slab.Free == 0;
            slab.Free |= bit;
            if (wasFull)
                _withRoom.Add(slab);
            else if (slab.Free == ulong.MaxValue && _withRoom.Count > 1)
            {
                // Wholly free while another slab has room: let the GC have it.
                _withRoom.Remove(slab);
                _slabCount--;
            }
        }
    }

    internal sealed class Slab
    {
        // Keeps the pinned memory alive; Base points into it.
        private readonly byte[] _memory;

        public Slab(int blockSize)
        {
            _memory = GC.AllocateArray<byte>(BlocksPerSlab * blockSize + Alignment, pinned: true);
            byte* p = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_memory));
            Base = (byte*)(((nuint)p + Alignment - 1) & ~(nuint)(Alignment - 1));
        }

        public byte* Base { get; }

        /// <summary>One bit per block, set while the block is free. Guarded by the pool's lock.</summary>
        public ulong Free = ulong.MaxValue;
    }
}

/// <summary>A rented block of a <see cref="SecretBlockPool"/>: where it is and what to give back.</summary>
internal readonly unsafe struct SecretBlock(SecretBlockPool.Slab slab, int index, byte* pointer, int length)
{
    internal SecretBlockPool.Slab Slab { get; } = slab;
    internal int Index { get; } = index;
    public byte* Pointer { get; } = pointer;
    public int Length { get; } = length;
    public Span<byte> Span => new(Pointer, Length);
}
