using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Bufferless.Crypto.Aead;

/// <summary>
/// The ChaCha20 block function (RFC 8439 §2.3) over a 16-word input block (constants, key, 32-bit counter, nonce).
/// Portable: one 64-byte block per call. Wide: 16 consecutive blocks per call with each of the 16 state words held
/// across 16 lanes of a Vector512 (so every round is plain vertical add/xor/rotate), transposed back at the end.
/// </summary>
[SkipLocalsInit]
internal static unsafe class ChaCha20Core
{
    public const int BlockSize = 64;
    public const int WideBatch = 16 * BlockSize;

    /// <summary>RFC 8439 §2.3: the 16 input words for key, counter and nonce.</summary>
    public static void InitInput(uint* input, ReadOnlySpan<byte> key, uint counter, ReadOnlySpan<byte> nonce)
    {
        input[0] = 0x61707865;
        input[1] = 0x3320646e;
        input[2] = 0x79622d32;
        input[3] = 0x6b206574;
        for (int i = 0; i < 8; i++)
            input[4 + i] = BinaryPrimitives.ReadUInt32LittleEndian(key[(4 * i)..]);
        input[12] = counter;
        for (int i = 0; i < 3; i++)
            input[13 + i] = BinaryPrimitives.ReadUInt32LittleEndian(nonce[(4 * i)..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QuarterRound(ref uint a, ref uint b, ref uint c, ref uint d)
    {
        a += b; d ^= a; d = uint.RotateLeft(d, 16);
        c += d; b ^= c; b = uint.RotateLeft(b, 12);
        a += b; d ^= a; d = uint.RotateLeft(d, 8);
        c += d; b ^= c; b = uint.RotateLeft(b, 7);
    }

    /// <summary>One block with counter <c>input[12] + add</c>: writes 64 keystream bytes to <paramref name="output"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Block(uint* input, uint add, byte* output)
    {
        uint x0 = input[0], x1 = input[1], x2 = input[2], x3 = input[3], x4 = input[4], x5 = input[5], x6 = input[6], x7 = input[7];
        uint x8 = input[8], x9 = input[9], x10 = input[10], x11 = input[11], x12 = input[12] + add, x13 = input[13], x14 = input[14], x15 = input[15];
        for (int i = 0; i < 10; i++)
        {
            QuarterRound(ref x0, ref x4, ref x8, ref x12);
            QuarterRound(ref x1, ref x5, ref x9, ref x13);
            QuarterRound(ref x2, ref x6, ref x10, ref x14);
            QuarterRound(ref x3, ref x7, ref x11, ref x15);
            QuarterRound(ref x0, ref x5, ref x10, ref x15);
            QuarterRound(ref x1, ref x6, ref x11, ref x12);
            QuarterRound(ref x2, ref x7, ref x8, ref x13);
            QuarterRound(ref x3, ref x4, ref x9, ref x14);
        }
        uint* o = (uint*)output;
        // RFC 8439 §2.3: add the input block, serialise little-endian.
        o[0] = LE(x0 + input[0]); o[1] = LE(x1 + input[1]); o[2] = LE(x2 + input[2]); o[3] = LE(x3 + input[3]);
        o[4] = LE(x4 + input[4]); o[5] = LE(x5 + input[5]); o[6] = LE(x6 + input[6]); o[7] = LE(x7 + input[7]);
        o[8] = LE(x8 + input[8]); o[9] = LE(x9 + input[9]); o[10] = LE(x10 + input[10]); o[11] = LE(x11 + input[11]);
        o[12] = LE(x12 + input[12] + add); o[13] = LE(x13 + input[13]); o[14] = LE(x14 + input[14]); o[15] = LE(x15 + input[15]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint LE(uint v) => BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QuarterRound(ref Vector512<uint> a, ref Vector512<uint> b, ref Vector512<uint> c, ref Vector512<uint> d)
    {
        a += b; d = Avx512F.RotateLeft(d ^ a, 16);
        c += d; b = Avx512F.RotateLeft(b ^ c, 12);
        a += b; d = Avx512F.RotateLeft(d ^ a, 8);
        c += d; b = Avx512F.RotateLeft(b ^ c, 7);
    }

    private static Vector512<uint> LaneIndex
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    }

    /// <summary>
    /// 16 blocks with counters <c>input[12] + 0..15</c>: XORs 1,024 keystream bytes into <paramref name="src"/> and
    /// writes them to <paramref name="dst"/> (both may be the same), or writes the keystream itself when
    /// <paramref name="src"/> is null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Blocks16(uint* input, byte* src, byte* dst)
    {
        if (src == null)
            Blocks16(input, null, null, 0, dst);
        else
            Blocks16(input, src, dst, 16, null);
    }

    /// <summary>
    /// 16 blocks with counters <c>input[12] + 0..15</c>, split at a block boundary: blocks 0 to
    /// <paramref name="directBlocks"/> - 1 are XORed into <paramref name="src"/> and written to <paramref name="dst"/>
    /// (both may be the same), the others are written as keystream to <paramref name="keystream"/> at their offset in
    /// the batch (a piece that ends inside the batch decrypts its whole blocks without a round trip through the buffer).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Blocks16(uint* input, byte* src, byte* dst, int directBlocks, byte* keystream)
    {
        Vector512<uint> x0 = Vector512.Create(input[0]), x1 = Vector512.Create(input[1]), x2 = Vector512.Create(input[2]), x3 = Vector512.Create(input[3]);
        Vector512<uint> x4 = Vector512.Create(input[4]), x5 = Vector512.Create(input[5]), x6 = Vector512.Create(input[6]), x7 = Vector512.Create(input[7]);
        Vector512<uint> x8 = Vector512.Create(input[8]), x9 = Vector512.Create(input[9]), x10 = Vector512.Create(input[10]), x11 = Vector512.Create(input[11]);
        Vector512<uint> x12 = Vector512.Create(input[12]) + LaneIndex, x13 = Vector512.Create(input[13]), x14 = Vector512.Create(input[14]), x15 = Vector512.Create(input[15]);
        Vector512<uint> counters = x12;
        for (int i = 0; i < 10; i++)
        {
            QuarterRound(ref x0, ref x4, ref x8, ref x12);
            QuarterRound(ref x1, ref x5, ref x9, ref x13);
            QuarterRound(ref x2, ref x6, ref x10, ref x14);
            QuarterRound(ref x3, ref x7, ref x11, ref x15);
            QuarterRound(ref x0, ref x5, ref x10, ref x15);
            QuarterRound(ref x1, ref x6, ref x11, ref x12);
            QuarterRound(ref x2, ref x7, ref x8, ref x13);
            QuarterRound(ref x3, ref x4, ref x9, ref x14);
        }
        AddAndTranspose(input, counters, ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7,
            ref x8, ref x9, ref x10, ref x11, ref x12, ref x13, ref x14, ref x15);

        // Row j is block j. Each row reads its own 64 source bytes before it stores (in-place safe).
        Put(x0, 0, directBlocks, src, dst, keystream); Put(x1, 1, directBlocks, src, dst, keystream);
        Put(x2, 2, directBlocks, src, dst, keystream); Put(x3, 3, directBlocks, src, dst, keystream);
        Put(x4, 4, directBlocks, src, dst, keystream); Put(x5, 5, directBlocks, src, dst, keystream);
        Put(x6, 6, directBlocks, src, dst, keystream); Put(x7, 7, directBlocks, src, dst, keystream);
        Put(x8, 8, directBlocks, src, dst, keystream); Put(x9, 9, directBlocks, src, dst, keystream);
        Put(x10, 10, directBlocks, src, dst, keystream); Put(x11, 11, directBlocks, src, dst, keystream);
        Put(x12, 12, directBlocks, src, dst, keystream); Put(x13, 13, directBlocks, src, dst, keystream);
        Put(x14, 14, directBlocks, src, dst, keystream); Put(x15, 15, directBlocks, src, dst, keystream);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector512<uint> x, int block, int directBlocks, byte* src, byte* dst, byte* keystream)
    {
        int at = BlockSize * block;
        if (block < directBlocks)
            (x ^ Vector512.Load((uint*)(src + at))).Store((uint*)(dst + at));
        else
            x.Store((uint*)(keystream + at));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QuarterRound(ref Vector256<uint> a, ref Vector256<uint> b, ref Vector256<uint> c, ref Vector256<uint> d)
    {
        a += b; d = Avx512F.VL.RotateLeft(d ^ a, 16);
        c += d; b = Avx512F.VL.RotateLeft(b ^ c, 12);
        a += b; d = Avx512F.VL.RotateLeft(d ^ a, 8);
        c += d; b = Avx512F.VL.RotateLeft(b ^ c, 7);
    }

    /// <summary>
    /// 8 blocks with counters <c>input[12] + 0..7</c> as keystream into <paramref name="keystream"/> (512 bytes): the
    /// same lane layout as <see cref="Blocks16"/> on Vector256, for a record's last few blocks (about half the work of
    /// a 16-block pass, which a 16 KiB record would otherwise spend on one block).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Blocks8(uint* input, byte* keystream)
    {
        Vector256<uint> x0 = Vector256.Create(input[0]), x1 = Vector256.Create(input[1]), x2 = Vector256.Create(input[2]), x3 = Vector256.Create(input[3]);
        Vector256<uint> x4 = Vector256.Create(input[4]), x5 = Vector256.Create(input[5]), x6 = Vector256.Create(input[6]), x7 = Vector256.Create(input[7]);
        Vector256<uint> x8 = Vector256.Create(input[8]), x9 = Vector256.Create(input[9]), x10 = Vector256.Create(input[10]), x11 = Vector256.Create(input[11]);
        Vector256<uint> x12 = Vector256.Create(input[12]) + Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7), x13 = Vector256.Create(input[13]), x14 = Vector256.Create(input[14]), x15 = Vector256.Create(input[15]);
        Vector256<uint> counters = x12;
        for (int i = 0; i < 10; i++)
        {
            QuarterRound(ref x0, ref x4, ref x8, ref x12);
            QuarterRound(ref x1, ref x5, ref x9, ref x13);
            QuarterRound(ref x2, ref x6, ref x10, ref x14);
            QuarterRound(ref x3, ref x7, ref x11, ref x15);
            QuarterRound(ref x0, ref x5, ref x10, ref x15);
            QuarterRound(ref x1, ref x6, ref x11, ref x12);
            QuarterRound(ref x2, ref x7, ref x8, ref x13);
            QuarterRound(ref x3, ref x4, ref x9, ref x14);
        }
        x0 += Vector256.Create(input[0]); x1 += Vector256.Create(input[1]); x2 += Vector256.Create(input[2]); x3 += Vector256.Create(input[3]);
        x4 += Vector256.Create(input[4]); x5 += Vector256.Create(input[5]); x6 += Vector256.Create(input[6]); x7 += Vector256.Create(input[7]);
        x8 += Vector256.Create(input[8]); x9 += Vector256.Create(input[9]); x10 += Vector256.Create(input[10]); x11 += Vector256.Create(input[11]);
        x12 += counters; x13 += Vector256.Create(input[13]); x14 += Vector256.Create(input[14]); x15 += Vector256.Create(input[15]);
        // Words 0-7 and 8-15 of the 8 blocks: two 8x8 transposes, then block b is row b of the first followed by row b
        // of the second.
        Transpose8(ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7);
        Transpose8(ref x8, ref x9, ref x10, ref x11, ref x12, ref x13, ref x14, ref x15);
        x0.Store((uint*)keystream); x8.Store((uint*)(keystream + 32));
        x1.Store((uint*)(keystream + 64)); x9.Store((uint*)(keystream + 96));
        x2.Store((uint*)(keystream + 128)); x10.Store((uint*)(keystream + 160));
        x3.Store((uint*)(keystream + 192)); x11.Store((uint*)(keystream + 224));
        x4.Store((uint*)(keystream + 256)); x12.Store((uint*)(keystream + 288));
        x5.Store((uint*)(keystream + 320)); x13.Store((uint*)(keystream + 352));
        x6.Store((uint*)(keystream + 384)); x14.Store((uint*)(keystream + 416));
        x7.Store((uint*)(keystream + 448)); x15.Store((uint*)(keystream + 480));
    }

    /// <summary>8x8 transpose of 32-bit words (row i, lane j) -> (row j, lane i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(ref Vector256<uint> r0, ref Vector256<uint> r1, ref Vector256<uint> r2, ref Vector256<uint> r3,
        ref Vector256<uint> r4, ref Vector256<uint> r5, ref Vector256<uint> r6, ref Vector256<uint> r7)
    {
        // Pairs of words, then pairs of pairs (within each 128-bit half), then the halves.
        Vector256<ulong> t0 = Avx2.UnpackLow(r0, r1).AsUInt64(), t1 = Avx2.UnpackHigh(r0, r1).AsUInt64();
        Vector256<ulong> t2 = Avx2.UnpackLow(r2, r3).AsUInt64(), t3 = Avx2.UnpackHigh(r2, r3).AsUInt64();
        Vector256<ulong> t4 = Avx2.UnpackLow(r4, r5).AsUInt64(), t5 = Avx2.UnpackHigh(r4, r5).AsUInt64();
        Vector256<ulong> t6 = Avx2.UnpackLow(r6, r7).AsUInt64(), t7 = Avx2.UnpackHigh(r6, r7).AsUInt64();
        Vector256<uint> u0 = Avx2.UnpackLow(t0, t2).AsUInt32(), u1 = Avx2.UnpackHigh(t0, t2).AsUInt32();
        Vector256<uint> u2 = Avx2.UnpackLow(t1, t3).AsUInt32(), u3 = Avx2.UnpackHigh(t1, t3).AsUInt32();
        Vector256<uint> u4 = Avx2.UnpackLow(t4, t6).AsUInt32(), u5 = Avx2.UnpackHigh(t4, t6).AsUInt32();
        Vector256<uint> u6 = Avx2.UnpackLow(t5, t7).AsUInt32(), u7 = Avx2.UnpackHigh(t5, t7).AsUInt32();
        r0 = Avx2.Permute2x128(u0, u4, 0x20); r4 = Avx2.Permute2x128(u0, u4, 0x31);
        r1 = Avx2.Permute2x128(u1, u5, 0x20); r5 = Avx2.Permute2x128(u1, u5, 0x31);
        r2 = Avx2.Permute2x128(u2, u6, 0x20); r6 = Avx2.Permute2x128(u2, u6, 0x31);
        r3 = Avx2.Permute2x128(u3, u7, 0x20); r7 = Avx2.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>
    /// <see cref="Blocks16"/> with up to 8 Poly1305 groups of <paramref name="m"/> woven between the ChaCha20 rounds:
    /// the multiplier work of one overlaps the add/xor/rotate work of the other. <paramref name="m"/> is read before
    /// anything is stored, so it may lie inside the 1,024 bytes being decrypted in place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Blocks16Poly(uint* input, byte* src, byte* dst, Poly1305Core.LaneState* lanes, Poly1305Core.WidePowers* powers, byte* m, int groups)
    {
        Vector512<uint> x0 = Vector512.Create(input[0]), x1 = Vector512.Create(input[1]), x2 = Vector512.Create(input[2]), x3 = Vector512.Create(input[3]);
        Vector512<uint> x4 = Vector512.Create(input[4]), x5 = Vector512.Create(input[5]), x6 = Vector512.Create(input[6]), x7 = Vector512.Create(input[7]);
        Vector512<uint> x8 = Vector512.Create(input[8]), x9 = Vector512.Create(input[9]), x10 = Vector512.Create(input[10]), x11 = Vector512.Create(input[11]);
        Vector512<uint> x12 = Vector512.Create(input[12]) + LaneIndex, x13 = Vector512.Create(input[13]), x14 = Vector512.Create(input[14]), x15 = Vector512.Create(input[15]);
        Vector512<uint> counters = x12;
        Vector512<ulong> a0 = lanes->A0, a1 = lanes->A1, a2 = lanes->A2, a3 = lanes->A3, a4 = lanes->A4;
        bool multiply = lanes->Started;
        for (int i = 0; i < 10; i++)
        {
            if (i < groups)
            {
                Poly1305Core.Group(ref a0, ref a1, ref a2, ref a3, ref a4, powers, m, multiply);
                multiply = true;
                m += 128;
            }
            QuarterRound(ref x0, ref x4, ref x8, ref x12);
            QuarterRound(ref x1, ref x5, ref x9, ref x13);
            QuarterRound(ref x2, ref x6, ref x10, ref x14);
            QuarterRound(ref x3, ref x7, ref x11, ref x15);
            QuarterRound(ref x0, ref x5, ref x10, ref x15);
            QuarterRound(ref x1, ref x6, ref x11, ref x12);
            QuarterRound(ref x2, ref x7, ref x8, ref x13);
            QuarterRound(ref x3, ref x4, ref x9, ref x14);
        }
        lanes->A0 = a0; lanes->A1 = a1; lanes->A2 = a2; lanes->A3 = a3; lanes->A4 = a4;
        lanes->Started = multiply;
        AddAndTranspose(input, counters, ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7,
            ref x8, ref x9, ref x10, ref x11, ref x12, ref x13, ref x14, ref x15);

        // Row j is block j: XORed into src and written to dst, or (no src) written to dst as keystream.
        int direct = src != null ? 16 : 0;
        Put(x0, 0, direct, src, dst, dst); Put(x1, 1, direct, src, dst, dst); Put(x2, 2, direct, src, dst, dst); Put(x3, 3, direct, src, dst, dst);
        Put(x4, 4, direct, src, dst, dst); Put(x5, 5, direct, src, dst, dst); Put(x6, 6, direct, src, dst, dst); Put(x7, 7, direct, src, dst, dst);
        Put(x8, 8, direct, src, dst, dst); Put(x9, 9, direct, src, dst, dst); Put(x10, 10, direct, src, dst, dst); Put(x11, 11, direct, src, dst, dst);
        Put(x12, 12, direct, src, dst, dst); Put(x13, 13, direct, src, dst, dst); Put(x14, 14, direct, src, dst, dst); Put(x15, 15, direct, src, dst, dst);
    }

    /// <summary>
    /// The end of a 16-block pass: the input words added back (RFC 8439 §2.3, counters per lane), then the 16x16 word
    /// transpose (row = state word, column = block) by exchanging off-diagonal sub-blocks of size 8, 4, 2, 1, after
    /// which row j holds block j. For vpermt2d, indices 0..15 pick from the first operand and 16..31 from the second;
    /// lo8/hi8 etc. are the index vectors of the two new rows at sub-block size 8.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddAndTranspose(uint* input, Vector512<uint> counters,
        ref Vector512<uint> x0, ref Vector512<uint> x1, ref Vector512<uint> x2, ref Vector512<uint> x3,
        ref Vector512<uint> x4, ref Vector512<uint> x5, ref Vector512<uint> x6, ref Vector512<uint> x7,
        ref Vector512<uint> x8, ref Vector512<uint> x9, ref Vector512<uint> x10, ref Vector512<uint> x11,
        ref Vector512<uint> x12, ref Vector512<uint> x13, ref Vector512<uint> x14, ref Vector512<uint> x15)
    {
        x0 += Vector512.Create(input[0]); x1 += Vector512.Create(input[1]); x2 += Vector512.Create(input[2]); x3 += Vector512.Create(input[3]);
        x4 += Vector512.Create(input[4]); x5 += Vector512.Create(input[5]); x6 += Vector512.Create(input[6]); x7 += Vector512.Create(input[7]);
        x8 += Vector512.Create(input[8]); x9 += Vector512.Create(input[9]); x10 += Vector512.Create(input[10]); x11 += Vector512.Create(input[11]);
        x12 += counters; x13 += Vector512.Create(input[13]); x14 += Vector512.Create(input[14]); x15 += Vector512.Create(input[15]);
        Vector512<uint> lo8 = Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
        Vector512<uint> hi8 = Vector512.Create(8u, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
        Vector512<uint> lo4 = Vector512.Create(0u, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
        Vector512<uint> hi4 = Vector512.Create(4u, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
        Vector512<uint> lo2 = Vector512.Create(0u, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
        Vector512<uint> hi2 = Vector512.Create(2u, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
        Vector512<uint> lo1 = Vector512.Create(0u, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
        Vector512<uint> hi1 = Vector512.Create(1u, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
        Swap(ref x0, ref x8, lo8, hi8); Swap(ref x1, ref x9, lo8, hi8); Swap(ref x2, ref x10, lo8, hi8); Swap(ref x3, ref x11, lo8, hi8);
        Swap(ref x4, ref x12, lo8, hi8); Swap(ref x5, ref x13, lo8, hi8); Swap(ref x6, ref x14, lo8, hi8); Swap(ref x7, ref x15, lo8, hi8);
        Swap(ref x0, ref x4, lo4, hi4); Swap(ref x1, ref x5, lo4, hi4); Swap(ref x2, ref x6, lo4, hi4); Swap(ref x3, ref x7, lo4, hi4);
        Swap(ref x8, ref x12, lo4, hi4); Swap(ref x9, ref x13, lo4, hi4); Swap(ref x10, ref x14, lo4, hi4); Swap(ref x11, ref x15, lo4, hi4);
        Swap(ref x0, ref x2, lo2, hi2); Swap(ref x1, ref x3, lo2, hi2); Swap(ref x4, ref x6, lo2, hi2); Swap(ref x5, ref x7, lo2, hi2);
        Swap(ref x8, ref x10, lo2, hi2); Swap(ref x9, ref x11, lo2, hi2); Swap(ref x12, ref x14, lo2, hi2); Swap(ref x13, ref x15, lo2, hi2);
        Swap(ref x0, ref x1, lo1, hi1); Swap(ref x2, ref x3, lo1, hi1); Swap(ref x4, ref x5, lo1, hi1); Swap(ref x6, ref x7, lo1, hi1);
        Swap(ref x8, ref x9, lo1, hi1); Swap(ref x10, ref x11, lo1, hi1); Swap(ref x12, ref x13, lo1, hi1); Swap(ref x14, ref x15, lo1, hi1);
    }

    /// <summary>
    /// Rows a (bit h of the row index clear) and b (set): a keeps its columns with bit h clear and takes b's at the
    /// columns with bit h set; b gets a's columns with bit h set in its clear half and keeps its own set half.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Swap(ref Vector512<uint> a, ref Vector512<uint> b, Vector512<uint> lowIndex, Vector512<uint> highIndex)
    {
        Vector512<uint> lo = Avx512F.PermuteVar16x32x2(a, lowIndex, b);
        b = Avx512F.PermuteVar16x32x2(a, highIndex, b);
        a = lo;
    }
}
