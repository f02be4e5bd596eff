using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Bufferless.Crypto.Aead;

/// <summary>
/// Poly1305 (RFC 8439 §2.5) arithmetic modulo p = 2^130 - 5.
/// </summary>
/// <remarks>
/// Scalar: the accumulator h = h0 + h1·2^64 + h2·2^128 (h2 a few bits), r = r0 + r1·2^64 with r0, r1 &lt; 2^60 and
/// 4 | r1 after clamping, so 2^128·r1 = 2^130·(r1/4) ≡ 5·r1/4 = s1 (mod p) and one block costs 6 64x64-bit products.
/// Wide: 8 blocks per pass in radix 2^26 on Vector512 (lane k accumulates blocks k, k+8, ...; each pass multiplies
/// every lane by r^8 and adds 8 new blocks; at the end lane k is multiplied by r^(8-k) and the lanes summed).
/// Products of 26-bit limbs by 29-bit limbs (5·r) fit the 64-bit lanes of VPMULUDQ with room for five sums.
/// </remarks>
[SkipLocalsInit]
internal static unsafe class Poly1305Core
{
    private const ulong Mask26 = (1UL << 26) - 1;

    /// <summary>RFC 8439 §2.5: r &amp;= 0x0ffffffc0ffffffc0ffffffc0fffffff.</summary>
    public static void Clamp(ReadOnlySpan<byte> r, out ulong r0, out ulong r1)
    {
        r0 = BinaryPrimitives.ReadUInt64LittleEndian(r) & 0x0FFFFFFC0FFFFFFFUL;
        r1 = BinaryPrimitives.ReadUInt64LittleEndian(r[8..]) & 0x0FFFFFFC0FFFFFFCUL;
    }

    /// <summary>h = (h + m) · r mod p (partially reduced), for <paramref name="blocks"/> 16-byte blocks; hibit is 1 for full blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Blocks(ref ulong h0Ref, ref ulong h1Ref, ref ulong h2Ref, ulong r0, ulong r1, byte* m, nint blocks)
    {
        ulong h0 = h0Ref, h1 = h1Ref, h2 = h2Ref;
        ulong s1 = r1 + (r1 >> 2);
        for (; blocks > 0; blocks--, m += 16)
        {
            ulong c;
            h0 = AddCarry(h0, BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(m, 8)), 0, out c);
            h1 = AddCarry(h1, BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(m + 8, 8)), c, out c);
            h2 += c + 1; // the 2^128 bit of a full block
            MulR(ref h0, ref h1, ref h2, r0, r1, s1);
        }
        h0Ref = h0; h1Ref = h1; h2Ref = h2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong AddCarry(ulong a, ulong b, ulong carryIn, out ulong carryOut)
    {
        ulong s = a + b;
        ulong c1 = s < a ? 1UL : 0UL;
        ulong t = s + carryIn;
        ulong c2 = t < s ? 1UL : 0UL;
        carryOut = c1 + c2;
        return t;
    }

    /// <summary>h = h · r mod p, partially reduced (h2 &lt;= 4 afterwards).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MulR(ref ulong h0, ref ulong h1, ref ulong h2, ulong r0, ulong r1, ulong s1)
    {
        // d0 = h0 r0 + h1 s1; d1 = h0 r1 + h1 r0 + h2 s1; d2 = h2 r0 (h2 is small, so the last two fit 64 bits).
        ulong hi0 = Math.BigMul(h0, r0, out ulong lo0);
        ulong hiA = Math.BigMul(h1, s1, out ulong loA);
        ulong d0lo = AddCarry(lo0, loA, 0, out ulong c);
        ulong d0hi = hi0 + hiA + c;

        ulong hi1 = Math.BigMul(h0, r1, out ulong lo1);
        ulong hiB = Math.BigMul(h1, r0, out ulong loB);
        ulong d1lo = AddCarry(lo1, loB, 0, out c);
        ulong d1hi = hi1 + hiB + c;
        d1lo = AddCarry(d1lo, h2 * s1, 0, out c);
        d1hi += c;
        d1lo = AddCarry(d1lo, d0hi, 0, out c);
        d1hi += c;
        ulong t2 = h2 * r0 + d1hi;

        // Bits from 2^130 up are folded back times 5 (2^130 ≡ 5 mod p).
        ulong fold = (t2 >> 2) * 5;
        h0 = AddCarry(d0lo, fold, 0, out c);
        h1 = AddCarry(d1lo, 0, c, out c);
        h2 = (t2 & 3) + c;
    }

    /// <summary>RFC 8439 §2.5: tag = ((h mod p) + s) mod 2^128, written little-endian.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Finish(ulong h0, ulong h1, ulong h2, ulong s0, ulong s1, byte* tag)
    {
        // h < 2p here, so one conditional subtraction of p (an addition of 5 that overflows 2^130) reduces it.
        ulong g0 = AddCarry(h0, 5, 0, out ulong c);
        ulong g1 = AddCarry(h1, 0, c, out c);
        ulong g2 = h2 + c;
        ulong mask = 0UL - (g2 >> 2); // all ones when h + 5 >= 2^130, i.e. h >= p
        h0 = (h0 & ~mask) | (g0 & mask);
        h1 = (h1 & ~mask) | (g1 & mask);
        ulong t0 = AddCarry(h0, s0, 0, out c);
        ulong t1 = AddCarry(h1, s1, c, out _);
        BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(tag, 8), t0);
        BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(tag + 8, 8), t1);
    }

    /// <summary>Fully reduces h below p (for the powers of r fed to the vector path).</summary>
    private static void Reduce(ref ulong h0, ref ulong h1, ref ulong h2)
    {
        ulong g0 = AddCarry(h0, 5, 0, out ulong c);
        ulong g1 = AddCarry(h1, 0, c, out c);
        ulong g2 = h2 + c;
        ulong mask = 0UL - (g2 >> 2);
        h0 = (h0 & ~mask) | (g0 & mask);
        h1 = (h1 & ~mask) | (g1 & mask);
        h2 = (h2 & ~mask) | (g2 & 3 & mask);
    }

    // ---- wide path ---------------------------------------------------------------------------------------------

    /// <summary>Powers of r in radix 2^26 for the wide path: r^8 in every lane, and r^8..r^1 in lanes 0..7.</summary>
    public struct WidePowers
    {
        public Vector512<ulong> R0, R1, R2, R3, R4, S1, S2, S3, S4;
        public Vector512<ulong> L0, L1, L2, L3, L4, T1, T2, T3, T4;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ComputePowers(ulong r0, ulong r1, WidePowers* p)
    {
        ulong* limbs = stackalloc ulong[8 * 5]; // power k (1..8) at (k - 1) * 5
        ulong s1 = r1 + (r1 >> 2);
        ulong h0 = r0, h1 = r1, h2 = 0;
        for (int k = 1; k <= 8; k++)
        {
            if (k > 1)
                MulR(ref h0, ref h1, ref h2, r0, r1, s1);
            ulong a0 = h0, a1 = h1, a2 = h2;
            Reduce(ref a0, ref a1, ref a2);
            ulong* l = limbs + (k - 1) * 5;
            l[0] = a0 & Mask26;
            l[1] = (a0 >> 26) & Mask26;
            l[2] = ((a0 >> 52) | (a1 << 12)) & Mask26;
            l[3] = (a1 >> 14) & Mask26;
            l[4] = (a1 >> 40) | (a2 << 24);
        }
        ulong* r8 = limbs + 35;
        p->R0 = Vector512.Create(r8[0]); p->R1 = Vector512.Create(r8[1]); p->R2 = Vector512.Create(r8[2]);
        p->R3 = Vector512.Create(r8[3]); p->R4 = Vector512.Create(r8[4]);
        p->S1 = p->R1 * 5; p->S2 = p->R2 * 5; p->S3 = p->R3 * 5; p->S4 = p->R4 * 5;
        // Lane k multiplies the block that was k-th of the last 8 by r^(8-k).
        p->L0 = Lanes(limbs, 0); p->L1 = Lanes(limbs, 1); p->L2 = Lanes(limbs, 2); p->L3 = Lanes(limbs, 3); p->L4 = Lanes(limbs, 4);
        p->T1 = p->L1 * 5; p->T2 = p->L2 * 5; p->T3 = p->L3 * 5; p->T4 = p->L4 * 5;
        new Span<byte>(limbs, 8 * 5 * 8).Clear();
    }

    private static Vector512<ulong> Lanes(ulong* limbs, int limb) => Vector512.Create(
        limbs[35 + limb], limbs[30 + limb], limbs[25 + limb], limbs[20 + limb],
        limbs[15 + limb], limbs[10 + limb], limbs[5 + limb], limbs[limb]);


    /// <summary>The 8 lane accumulators of the wide path in radix 2^26, carried between stitched kernel calls.</summary>
    public struct LaneState
    {
        public Vector512<ulong> A0, A1, A2, A3, A4;
        public bool Started;
    }

    /// <summary>Starts a run of groups from h: h enters lane 0 and is added to the run's first block.</summary>
    public static void LanesFrom(ulong h0, ulong h1, ulong h2, LaneState* l)
    {
        l->A0 = Vector512.CreateScalar(h0 & Mask26);
        l->A1 = Vector512.CreateScalar((h0 >> 26) & Mask26);
        l->A2 = Vector512.CreateScalar(((h0 >> 52) | (h1 << 12)) & Mask26);
        l->A3 = Vector512.CreateScalar((h1 >> 14) & Mask26);
        l->A4 = Vector512.CreateScalar((h1 >> 40) | (h2 << 24));
        l->Started = false;
    }

    /// <summary>One group of 8 blocks: a = a · r^8 (except for a run's first group) + m.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Group(ref Vector512<ulong> a0, ref Vector512<ulong> a1, ref Vector512<ulong> a2, ref Vector512<ulong> a3, ref Vector512<ulong> a4,
        WidePowers* p, byte* m, bool multiply)
    {
        if (multiply)
            MulCarry(ref a0, ref a1, ref a2, ref a3, ref a4, p->R0, p->R1, p->R2, p->R3, p->R4, p->S1, p->S2, p->S3, p->S4);
        Vector512<ulong> mask = Vector512.Create(Mask26);
        Vector512<ulong> v0 = Vector512.Load((ulong*)m), v1 = Vector512.Load((ulong*)(m + 64));
        Vector512<ulong> lo = Avx512F.PermuteVar8x64x2(v0, Vector512.Create(0UL, 2, 4, 6, 8, 10, 12, 14), v1);
        Vector512<ulong> hi = Avx512F.PermuteVar8x64x2(v0, Vector512.Create(1UL, 3, 5, 7, 9, 11, 13, 15), v1);
        a0 += lo & mask;
        a1 += (lo >>> 26) & mask;
        a2 += ((lo >>> 52) | (hi << 12)) & mask;
        a3 += (hi >>> 14) & mask;
        a4 += (hi >>> 40) | Vector512.Create(1UL << 24);
    }

    /// <summary><paramref name="groups"/> groups of 8 blocks into the lanes, without ChaCha20 alongside.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Groups(LaneState* l, WidePowers* p, byte* m, nint groups)
    {
        if (groups <= 0)
            return;
        Vector512<ulong> a0 = l->A0, a1 = l->A1, a2 = l->A2, a3 = l->A3, a4 = l->A4;
        bool multiply = l->Started;
        for (; groups > 0; groups--, m += 128)
        {
            Group(ref a0, ref a1, ref a2, ref a3, ref a4, p, m, multiply);
            multiply = true;
        }
        l->A0 = a0; l->A1 = a1; l->A2 = a2; l->A3 = a3; l->A4 = a4;
        l->Started = true;
    }

    /// <summary>Ends a run: lane k times r^(8-k), lanes summed and carried, back to radix 2^64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fold(LaneState* l, WidePowers* p, out ulong h0, out ulong h1, out ulong h2)
    {
        Vector512<ulong> a0 = l->A0, a1 = l->A1, a2 = l->A2, a3 = l->A3, a4 = l->A4;
        MulCarry(ref a0, ref a1, ref a2, ref a3, ref a4, p->L0, p->L1, p->L2, p->L3, p->L4, p->T1, p->T2, p->T3, p->T4);
        SumLanes(a0, a1, a2, a3, a4, out h0, out h1, out h2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SumLanes(Vector512<ulong> a0, Vector512<ulong> a1, Vector512<ulong> a2, Vector512<ulong> a3, Vector512<ulong> a4,
        out ulong h0, out ulong h1, out ulong h2)
    {
        ulong l0 = Vector512.Sum(a0), l1 = Vector512.Sum(a1), l2 = Vector512.Sum(a2), l3 = Vector512.Sum(a3), l4 = Vector512.Sum(a4);
        ulong c;
        c = l0 >> 26; l0 &= Mask26; l1 += c;
        c = l1 >> 26; l1 &= Mask26; l2 += c;
        c = l2 >> 26; l2 &= Mask26; l3 += c;
        c = l3 >> 26; l3 &= Mask26; l4 += c;
        c = l4 >> 26; l4 &= Mask26; l0 += c * 5;
        c = l0 >> 26; l0 &= Mask26; l1 += c;
        c = l1 >> 26; l1 &= Mask26; l2 += c;
        c = l2 >> 26; l2 &= Mask26; l3 += c;
        c = l3 >> 26; l3 &= Mask26; l4 += c;
        h0 = l0 | (l1 << 26) | (l2 << 52);
        h1 = (l2 >> 12) | (l3 << 14) | (l4 << 40);
        h2 = l4 >> 24;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Mul(Vector512<ulong> a, Vector512<ulong> b) => Avx512F.Multiply(a.AsUInt32(), b.AsUInt32());

    /// <summary>
    /// d = a · r for 5-limb lanes, then a lazy carry pass leaving every limb just above 26 bits at most.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MulCarry(ref Vector512<ulong> a0, ref Vector512<ulong> a1, ref Vector512<ulong> a2, ref Vector512<ulong> a3, ref Vector512<ulong> a4,
        Vector512<ulong> r0, Vector512<ulong> r1, Vector512<ulong> r2, Vector512<ulong> r3, Vector512<ulong> r4,
        Vector512<ulong> s1, Vector512<ulong> s2, Vector512<ulong> s3, Vector512<ulong> s4)
    {
        Vector512<ulong> d0 = Mul(a0, r0) + Mul(a1, s4) + Mul(a2, s3) + Mul(a3, s2) + Mul(a4, s1);
        Vector512<ulong> d1 = Mul(a0, r1) + Mul(a1, r0) + Mul(a2, s4) + Mul(a3, s3) + Mul(a4, s2);
        Vector512<ulong> d2 = Mul(a0, r2) + Mul(a1, r1) + Mul(a2, r0) + Mul(a3, s4) + Mul(a4, s3);
        Vector512<ulong> d3 = Mul(a0, r3) + Mul(a1, r2) + Mul(a2, r1) + Mul(a3, r0) + Mul(a4, s4);
        Vector512<ulong> d4 = Mul(a0, r4) + Mul(a1, r3) + Mul(a2, r2) + Mul(a3, r1) + Mul(a4, r0);
        Vector512<ulong> m = Vector512.Create(Mask26);
        // Two carry chains side by side (0 -> 1 -> 2 -> 3 and 3 -> 4 -> 0 -> 1), then 2 -> 3 -> 4 and 0 -> 1.
        Vector512<ulong> c0 = d0 >>> 26, c3 = d3 >>> 26;
        d0 &= m; d3 &= m; d1 += c0; d4 += c3;
        Vector512<ulong> c1 = d1 >>> 26, c4 = d4 >>> 26;
        d1 &= m; d4 &= m; d2 += c1; d0 += c4 + (c4 << 2);
        Vector512<ulong> c2 = d2 >>> 26;
        c0 = d0 >>> 26;
        d2 &= m; d0 &= m; d3 += c2; d1 += c0;
        c3 = d3 >>> 26;
        d3 &= m; d4 += c3;
        a0 = d0; a1 = d1; a2 = d2; a3 = d3; a4 = d4;
    }

    /// <summary>
    /// h = (h + m) · r per block for 8·<paramref name="groups"/> full blocks (groups &gt;= 1) on the wide path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BlocksWide(ref ulong h0, ref ulong h1, ref ulong h2, WidePowers* p, byte* m, nint groups)
    {
        Vector512<ulong> mask = Vector512.Create(Mask26), hibit = Vector512.Create(1UL << 24);
        Vector512<ulong> even = Vector512.Create(0UL, 2, 4, 6, 8, 10, 12, 14), odd = Vector512.Create(1UL, 3, 5, 7, 9, 11, 13, 15);
        // h enters lane 0, added to the first block.
        Vector512<ulong> a0 = Vector512.CreateScalar(h0 & Mask26);
        Vector512<ulong> a1 = Vector512.CreateScalar((h0 >> 26) & Mask26);
        Vector512<ulong> a2 = Vector512.CreateScalar(((h0 >> 52) | (h1 << 12)) & Mask26);
        Vector512<ulong> a3 = Vector512.CreateScalar((h1 >> 14) & Mask26);
        Vector512<ulong> a4 = Vector512.CreateScalar((h1 >> 40) | (h2 << 24));
        Vector512<ulong> r0 = p->R0, r1 = p->R1, r2 = p->R2, r3 = p->R3, r4 = p->R4, s1 = p->S1, s2 = p->S2, s3 = p->S3, s4 = p->S4;
        for (nint g = 0; g < groups; g++, m += 128)
        {
            if (g > 0)
                MulCarry(ref a0, ref a1, ref a2, ref a3, ref a4, r0, r1, r2, r3, r4, s1, s2, s3, s4);
            Vector512<ulong> v0 = Vector512.Load((ulong*)m), v1 = Vector512.Load((ulong*)(m + 64));
            Vector512<ulong> lo = Avx512F.PermuteVar8x64x2(v0, even, v1);
            Vector512<ulong> hi = Avx512F.PermuteVar8x64x2(v0, odd, v1);
            a0 += lo & mask;
            a1 += (lo >>> 26) & mask;
            a2 += ((lo >>> 52) | (hi << 12)) & mask;
            a3 += (hi >>> 14) & mask;
            a4 += (hi >>> 40) | hibit;
        }
        MulCarry(ref a0, ref a1, ref a2, ref a3, ref a4, p->L0, p->L1, p->L2, p->L3, p->L4, p->T1, p->T2, p->T3, p->T4);
        SumLanes(a0, a1, a2, a3, a4, out h0, out h1, out h2);
    }
}
