using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using AesNi = System.Runtime.Intrinsics.X86.Aes;

namespace Bufferless.Crypto.Aead;

// Accelerated path: AES-NI for the block cipher, PCLMULQDQ for GHASH.
//
// GHASH runs in the byte-reversed domain: a block loaded with its bytes reversed is the bit-reflected polynomial as
// a 128-bit little-endian integer. H is stored pre-multiplied by x^-1 (a one-bit left shift with reduction), which
// absorbs the one-bit offset of reflected carry-less products, so a product needs no shift before reduction.
// Powers H^8..H^1 let 8 blocks be multiplied independently and reduced once (aggregated reduction).
internal sealed unsafe partial class GcmKey
{
    private static Vector128<byte> ByteReverseMask => Vector128.Create((byte)15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);

    /// <summary>x^-1 in the reflected domain: x^127 + x^6 + x + 1, used both for H*x^-1 and for the two-step reduction.</summary>
    private static Vector128<ulong> Poly => Vector128.Create(1UL, 0xC200000000000000UL);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> ReverseBytes(Vector128<byte> v) => Ssse3.Shuffle(v, ByteReverseMask);

    private void InitAccelerated(ReadOnlySpan<byte> key)
    {
        ExpandKey(key, _p + RoundKeysOffset, _rounds);
        Vector128<byte> h = EncryptBlockAccelerated(default);
        Vector128<ulong> hr = ReverseBytes(h).AsUInt64();
        // H * x^-1: shift the 128-bit integer left by one, folding the bit shifted out (x^-1) back in.
        Vector128<ulong> carry = Sse2.ShiftRightLogical(Sse2.ShiftLeftLogical128BitLane(hr, 8), 63);
        ulong top = hr.GetElement(1) >> 63;
        Vector128<ulong> h1 = (Sse2.ShiftLeftLogical(hr, 1) | carry) ^ (Poly & Vector128.Create(0UL - top));
        Vector128<ulong>* pow = (Vector128<ulong>*)(_p + PowersOffset);
        pow[7] = h1;
        // (H^k * x^-1) * H = H^(k+1) * x^-1, so repeated multiplication by h1 keeps every power pre-shifted.
        for (int k = 6; k >= 0; k--)
            pow[k] = GfMulReflected(pow[k + 1], h1);
        h = default;
        hr = default;
        h1 = default;
    }

    /// <summary>FIPS 197 §5.2 KeyExpansion; SubWord from AESENCLAST on a word broadcast to all four columns (ShiftRows is then the identity).</summary>
    private static void ExpandKey(ReadOnlySpan<byte> key, byte* roundKeys, int rounds)
    {
        uint* w = (uint*)roundKeys;
        int nk = key.Length / 4;
        int total = 4 * (rounds + 1);
        fixed (byte* k = key)
        {
            for (int i = 0; i < nk; i++)
                w[i] = ((uint*)k)[i];
        }
        uint rcon = 1;
        for (int i = nk; i < total; i++)
        {
            uint t = w[i - 1];
            if (i % nk == 0)
            {
                t = SubWord(uint.RotateRight(t, 8)) ^ rcon;
                rcon = (rcon << 1) ^ ((rcon >> 7) * 0x11B);
            }
            else if (nk > 6 && i % nk == 4)
            {
                t = SubWord(t);
            }
            w[i] = w[i - nk] ^ t;
        }
    }

    private static uint SubWord(uint word) =>
        AesNi.EncryptLast(Vector128.Create(word).AsByte(), Vector128<byte>.Zero).AsUInt32().ToScalar();

    [MethodImpl(Hot)]
    private Vector128<byte> EncryptBlockAccelerated(Vector128<byte> block)
    {
        byte* rk = _p + RoundKeysOffset;
        block ^= Vector128.Load(rk);
        for (int r = 1; r < _rounds; r++)
            block = AesNi.Encrypt(block, Vector128.Load(rk + 16 * r));
        return AesNi.EncryptLast(block, Vector128.Load(rk + 16 * _rounds));
    }

    /// <summary>a * b where b is pre-multiplied by x^-1; both in the reflected domain.</summary>
    private static Vector128<ulong> GfMulReflected(Vector128<ulong> a, Vector128<ulong> b)
    {
        Vector128<ulong> lo = Pclmulqdq.CarrylessMultiply(a, b, 0x00);
        Vector128<ulong> hi = Pclmulqdq.CarrylessMultiply(a, b, 0x11);
        Vector128<ulong> mid = Pclmulqdq.CarrylessMultiply(a, b, 0x01) ^ Pclmulqdq.CarrylessMultiply(a, b, 0x10);
        return Reduce(lo, mid, hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MulAdd(Vector128<ulong> x, Vector128<ulong> h, ref Vector128<ulong> lo, ref Vector128<ulong> mid, ref Vector128<ulong> hi)
    {
        lo ^= Pclmulqdq.CarrylessMultiply(x, h, 0x00);
        hi ^= Pclmulqdq.CarrylessMultiply(x, h, 0x11);
        mid ^= Pclmulqdq.CarrylessMultiply(x, h, 0x01) ^ Pclmulqdq.CarrylessMultiply(x, h, 0x10);
    }

    /// <summary>Reduces the 256-bit reflected product (lo, mid, hi) modulo the GCM polynomial: two folds by x^-64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Reduce(Vector128<ulong> lo, Vector128<ulong> mid, Vector128<ulong> hi)
    {
        lo ^= Sse2.ShiftLeftLogical128BitLane(mid, 8);
        hi ^= Sse2.ShiftRightLogical128BitLane(mid, 8);
        Vector128<ulong> poly = Poly;
        Vector128<ulong> t = Pclmulqdq.CarrylessMultiply(lo, poly, 0x10);
        lo = Sse2.Shuffle(lo.AsUInt32(), 0x4E).AsUInt64() ^ t;
        t = Pclmulqdq.CarrylessMultiply(lo, poly, 0x10);
        lo = Sse2.Shuffle(lo.AsUInt32(), 0x4E).AsUInt64() ^ t;
        return hi ^ lo;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> LoadReflected(byte* p) => ReverseBytes(Vector128.Load(p)).AsUInt64();

    /// <summary>GHASH of 1..8 blocks with one reduction: block j is multiplied by H^(n-j).</summary>
    [MethodImpl(Hot)]
    private static Vector128<ulong> GhashUpTo8(Vector128<ulong> acc, byte* p, int n, byte* powers)
    {
        Vector128<ulong>* pow = (Vector128<ulong>*)powers + (8 - n);
        Vector128<ulong> x = LoadReflected(p) ^ acc;
        Vector128<ulong> lo = Pclmulqdq.CarrylessMultiply(x, pow[0], 0x00);
        Vector128<ulong> hi = Pclmulqdq.CarrylessMultiply(x, pow[0], 0x11);
        Vector128<ulong> mid = Pclmulqdq.CarrylessMultiply(x, pow[0], 0x01) ^ Pclmulqdq.CarrylessMultiply(x, pow[0], 0x10);
        for (int j = 1; j < n; j++)
            MulAdd(LoadReflected(p + 16 * j), pow[j], ref lo, ref mid, ref hi);
        return Reduce(lo, mid, hi);
    }

    [MethodImpl(Hot)]
    private void GhashAccelerated(ref Vector128<byte> accBytes, byte* p, nuint blocks)
    {
        byte* powers = _p + PowersOffset;
        Vector128<ulong> acc = accBytes.AsUInt64();
        bool wide = Path == AesGcmPath.Wide;
        for (; blocks >= 8; blocks -= 8, p += 128)
            acc = wide ? Ghash8Wide(acc, p, powers) : GhashUpTo8(acc, p, 8, powers);
        if (blocks > 0)
            acc = GhashUpTo8(acc, p, (int)blocks, powers);
        accBytes = acc.AsByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round8(ref Vector128<byte> b0, ref Vector128<byte> b1, ref Vector128<byte> b2, ref Vector128<byte> b3,
        ref Vector128<byte> b4, ref Vector128<byte> b5, ref Vector128<byte> b6, ref Vector128<byte> b7, Vector128<byte> k)
    {
        b0 = AesNi.Encrypt(b0, k);
        b1 = AesNi.Encrypt(b1, k);
        b2 = AesNi.Encrypt(b2, k);
        b3 = AesNi.Encrypt(b3, k);
        b4 = AesNi.Encrypt(b4, k);
        b5 = AesNi.Encrypt(b5, k);
        b6 = AesNi.Encrypt(b6, k);
        b7 = AesNi.Encrypt(b7, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Last8(ref Vector128<byte> b0, ref Vector128<byte> b1, ref Vector128<byte> b2, ref Vector128<byte> b3,
        ref Vector128<byte> b4, ref Vector128<byte> b5, ref Vector128<byte> b6, ref Vector128<byte> b7, Vector128<byte> k)
    {
        b0 = AesNi.EncryptLast(b0, k);
        b1 = AesNi.EncryptLast(b1, k);
        b2 = AesNi.EncryptLast(b2, k);
        b3 = AesNi.EncryptLast(b3, k);
        b4 = AesNi.EncryptLast(b4, k);
        b5 = AesNi.EncryptLast(b5, k);
        b6 = AesNi.EncryptLast(b6, k);
        b7 = AesNi.EncryptLast(b7, k);
    }

    /// <summary>Counter blocks c, c+1, ..., c+7 (counter kept byte-reversed so a 32-bit lane add is inc32), XORed with round key 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Counters8(Vector128<uint> c, Vector128<byte> k0, out Vector128<byte> b0, out Vector128<byte> b1, out Vector128<byte> b2,
        out Vector128<byte> b3, out Vector128<byte> b4, out Vector128<byte> b5, out Vector128<byte> b6, out Vector128<byte> b7)
    {
        Vector128<byte> m = ByteReverseMask;
        b0 = Ssse3.Shuffle(c.AsByte(), m) ^ k0;
        b1 = Ssse3.Shuffle((c + Vector128.CreateScalar(1u)).AsByte(), m) ^ k0;
        b2 = Ssse3.Shuffle((c + Vector128.CreateScalar(2u)).AsByte(), m) ^ k0;
        b3 = Ssse3.Shuffle((c + Vector128.CreateScalar(3u)).AsByte(), m) ^ k0;
        b4 = Ssse3.Shuffle((c + Vector128.CreateScalar(4u)).AsByte(), m) ^ k0;
        b5 = Ssse3.Shuffle((c + Vector128.CreateScalar(5u)).AsByte(), m) ^ k0;
        b6 = Ssse3.Shuffle((c + Vector128.CreateScalar(6u)).AsByte(), m) ^ k0;
        b7 = Ssse3.Shuffle((c + Vector128.CreateScalar(7u)).AsByte(), m) ^ k0;
    }

    /// <summary>Encrypts 8 counter blocks starting at the byte-reversed counter <paramref name="c"/> (all rounds, no GHASH).</summary>
    [MethodImpl(Hot)]
    private void Keystream8(Vector128<uint> c, out Vector128<byte> b0, out Vector128<byte> b1, out Vector128<byte> b2, out Vector128<byte> b3,
        out Vector128<byte> b4, out Vector128<byte> b5, out Vector128<byte> b6, out Vector128<byte> b7)
    {
        byte* rk = _p + RoundKeysOffset;
        Counters8(c, Vector128.Load(rk), out b0, out b1, out b2, out b3, out b4, out b5, out b6, out b7);
        for (int r = 1; r < _rounds; r++)
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, Vector128.Load(rk + 16 * r));
        Last8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, Vector128.Load(rk + 16 * _rounds));
    }

    /// <summary>Keystream for 1..4 blocks (short tails do not pay for 8).</summary>
    [MethodImpl(Hot)]
    private void Keystream4(Vector128<uint> c, out Vector128<byte> b0, out Vector128<byte> b1, out Vector128<byte> b2, out Vector128<byte> b3)
    {
        byte* rk = _p + RoundKeysOffset;
        Vector128<byte> m = ByteReverseMask, k = Vector128.Load(rk);
        b0 = Ssse3.Shuffle(c.AsByte(), m) ^ k;
        b1 = Ssse3.Shuffle((c + Vector128.CreateScalar(1u)).AsByte(), m) ^ k;
        b2 = Ssse3.Shuffle((c + Vector128.CreateScalar(2u)).AsByte(), m) ^ k;
        b3 = Ssse3.Shuffle((c + Vector128.CreateScalar(3u)).AsByte(), m) ^ k;
        for (int r = 1; r < _rounds; r++)
        {
            k = Vector128.Load(rk + 16 * r);
            b0 = AesNi.Encrypt(b0, k);
            b1 = AesNi.Encrypt(b1, k);
            b2 = AesNi.Encrypt(b2, k);
            b3 = AesNi.Encrypt(b3, k);
        }
        k = Vector128.Load(rk + 16 * _rounds);
        b0 = AesNi.EncryptLast(b0, k);
        b1 = AesNi.EncryptLast(b1, k);
        b2 = AesNi.EncryptLast(b2, k);
        b3 = AesNi.EncryptLast(b3, k);
    }

    /// <summary>Keystream for the last 1..8 blocks of a call into a 128-byte buffer, computed in parallel.</summary>
    [MethodImpl(Hot)]
    private void TailKeystream(Vector128<uint> c, int blocks, Vector128<byte>* ks)
    {
        if (blocks <= 4)
        {
            Keystream4(c, out ks[0], out ks[1], out ks[2], out ks[3]);
            return;
        }
        Keystream8(c, out ks[0], out ks[1], out ks[2], out ks[3], out ks[4], out ks[5], out ks[6], out ks[7]);
    }

    [MethodImpl(Hot)]
    private void CryptAccelerated(ref GcmState s, byte* src, byte* dst, int length, bool decrypt)
    {
        byte* powers = _p + PowersOffset;
        Vector128<uint> ctr = ReverseBytes(s.Counter).AsUInt32();
        Vector128<ulong> acc = s.Acc.AsUInt64();
        nuint batches = (nuint)(length / 128);
        if (batches > 0)
        {
            if (decrypt)
            {
                // GHASH reads the ciphertext being decrypted, interleaved with its own AES rounds.
                Stitched(ref ctr, ref acc, src, dst, src, batches);
            }
            else
            {
                // GHASH reads the ciphertext written one batch earlier, interleaved with the next batch's AES.
                Keystream8(ctr, out var k0, out var k1, out var k2, out var k3, out var k4, out var k5, out var k6, out var k7);
                ctr += Vector128.CreateScalar(8u);
                Xor8(src, dst, k0, k1, k2, k3, k4, k5, k6, k7);
                if (batches > 1)
                    Stitched(ref ctr, ref acc, src + 128, dst + 128, dst, batches - 1);
                acc = Path == AesGcmPath.Wide
                    ? Ghash8Wide(acc, dst + 128 * (batches - 1), powers)
                    : GhashUpTo8(acc, dst + 128 * (batches - 1), 8, powers);
            }
            int done = (int)(batches * 128);
            src += done;
            dst += done;
            length -= done;
        }

        if (length > 0)
        {
            int blocks = (length + 15) / 16, full = length / 16, rest = length % 16;
            Vector128<byte>* ks = stackalloc Vector128<byte>[8];
            TailKeystream(ctr, blocks, ks);
            ctr += Vector128.CreateScalar((uint)blocks);
            if (decrypt && full > 0)
                acc = GhashUpTo8(acc, src, full, powers);
            for (int j = 0; j < full; j++)
                (Vector128.Load(src + 16 * j) ^ ks[j]).Store(dst + 16 * j);
            if (!decrypt && full > 0)
                acc = GhashUpTo8(acc, dst, full, powers);
            if (rest > 0)
            {
                byte* k = (byte*)(ks + full);
                byte* i = src + 16 * full, o = dst + 16 * full;
                s.Keystream = ks[full];
                s.Partial = default;
                ref byte part = ref GcmState.Bytes(ref s.Partial);
                for (int b = 0; b < rest; b++)
                {
                    byte inByte = i[b];
                    byte outByte = (byte)(inByte ^ k[b]);
                    o[b] = outByte;
                    Unsafe.Add(ref part, b) = decrypt ? inByte : outByte;
                }
                s.PartialLength = rest;
            }
            new Span<byte>(ks, 128).Clear();
        }
        s.Counter = ReverseBytes(ctr.AsByte());
        s.Acc = acc.AsByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Xor8(byte* src, byte* dst, Vector128<byte> k0, Vector128<byte> k1, Vector128<byte> k2, Vector128<byte> k3,
        Vector128<byte> k4, Vector128<byte> k5, Vector128<byte> k6, Vector128<byte> k7)
    {
        // All loads before any store, so in-place use (src == dst) is safe.
        Vector128<byte> i0 = Vector128.Load(src), i1 = Vector128.Load(src + 16), i2 = Vector128.Load(src + 32), i3 = Vector128.Load(src + 48);
        Vector128<byte> i4 = Vector128.Load(src + 64), i5 = Vector128.Load(src + 80), i6 = Vector128.Load(src + 96), i7 = Vector128.Load(src + 112);
        (i0 ^ k0).Store(dst);
        (i1 ^ k1).Store(dst + 16);
        (i2 ^ k2).Store(dst + 32);
        (i3 ^ k3).Store(dst + 48);
        (i4 ^ k4).Store(dst + 64);
        (i5 ^ k5).Store(dst + 80);
        (i6 ^ k6).Store(dst + 96);
        (i7 ^ k7).Store(dst + 112);
    }

    [MethodImpl(Hot)]
    private void Stitched(ref Vector128<uint> ctr, ref Vector128<ulong> acc, byte* src, byte* dst, byte* ghashSrc, nuint batches)
    {
        if (Path == AesGcmPath.Wide)
            StitchedWide(ref ctr, ref acc, src, dst, ghashSrc, batches);
        else
            StitchedNarrow(ref ctr, ref acc, src, dst, ghashSrc, batches);
    }

    /// <summary>
    /// 8 blocks in flight: CTR for src -> dst, and GHASH of 8 blocks at <paramref name="g"/> woven between the AES
    /// rounds (one block's four carry-less multiplies after each of rounds 1..8, the reduction after round 9).
    /// </summary>
    [MethodImpl(Hot)]
    private void StitchedNarrow(ref Vector128<uint> ctrRef, ref Vector128<ulong> accRef, byte* src, byte* dst, byte* g, nuint batches)
    {
        byte* rk = _p + RoundKeysOffset;
        Vector128<ulong>* pow = (Vector128<ulong>*)(_p + PowersOffset);
        int rounds = _rounds;
        Vector128<byte> k0 = Vector128.Load(rk), k1 = Vector128.Load(rk + 16), k2 = Vector128.Load(rk + 32), k3 = Vector128.Load(rk + 48);
        Vector128<byte> k4 = Vector128.Load(rk + 64), k5 = Vector128.Load(rk + 80), k6 = Vector128.Load(rk + 96), k7 = Vector128.Load(rk + 112);
        Vector128<byte> k8 = Vector128.Load(rk + 128), k9 = Vector128.Load(rk + 144), kLast = Vector128.Load(rk + 16 * rounds);
        Vector128<uint> ctr = ctrRef;
        Vector128<ulong> acc = accRef;
        for (nuint it = 0; it < batches; it++, src += 128, dst += 128, g += 128)
        {
            Counters8(ctr, k0, out var b0, out var b1, out var b2, out var b3, out var b4, out var b5, out var b6, out var b7);
            ctr += Vector128.CreateScalar(8u);

            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k1);
            Vector128<ulong> x = LoadReflected(g) ^ acc, h = pow[0];
            Vector128<ulong> lo = Pclmulqdq.CarrylessMultiply(x, h, 0x00);
            Vector128<ulong> hi = Pclmulqdq.CarrylessMultiply(x, h, 0x11);
            Vector128<ulong> mid = Pclmulqdq.CarrylessMultiply(x, h, 0x01) ^ Pclmulqdq.CarrylessMultiply(x, h, 0x10);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k2);
            MulAdd(LoadReflected(g + 16), pow[1], ref lo, ref mid, ref hi);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k3);
            MulAdd(LoadReflected(g + 32), pow[2], ref lo, ref mid, ref hi);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k4);
            MulAdd(LoadReflected(g + 48), pow[3], ref lo, ref mid, ref hi);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k5);
            MulAdd(LoadReflected(g + 64), pow[4], ref lo, ref mid, ref hi);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k6);
            MulAdd(LoadReflected(g + 80), pow[5], ref lo, ref mid, ref hi);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k7);
            MulAdd(LoadReflected(g + 96), pow[6], ref lo, ref mid, ref hi);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k8);
            MulAdd(LoadReflected(g + 112), pow[7], ref lo, ref mid, ref hi);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k9);
            acc = Reduce(lo, mid, hi);
            for (int r = 10; r < rounds; r++)
                Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, Vector128.Load(rk + 16 * r));
            Last8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, kLast);
            Xor8(src, dst, b0, b1, b2, b3, b4, b5, b6, b7);
        }
        ctrRef = ctr;
        accRef = acc;
    }

    [MethodImpl(Hot)]
    private void CtrAccelerated(Vector128<byte> counterBlock, byte* src, byte* dst, int length)
    {
        Vector128<uint> ctr = ReverseBytes(counterBlock).AsUInt32();
        for (; length >= 128; length -= 128, src += 128, dst += 128)
        {
            Keystream8(ctr, out var k0, out var k1, out var k2, out var k3, out var k4, out var k5, out var k6, out var k7);
            ctr += Vector128.CreateScalar(8u);
            Xor8(src, dst, k0, k1, k2, k3, k4, k5, k6, k7);
        }
        if (length > 0)
        {
            Vector128<byte>* ks = stackalloc Vector128<byte>[8];
            TailKeystream(ctr, (length + 15) / 16, ks);
            byte* k = (byte*)ks;
            int b = 0;
            for (; b + 16 <= length; b += 16)
                (Vector128.Load(src + b) ^ Vector128.Load(k + b)).Store(dst + b);
            for (; b < length; b++)
                dst[b] = (byte)(src[b] ^ k[b]);
            new Span<byte>(ks, 128).Clear();
        }
    }
}
