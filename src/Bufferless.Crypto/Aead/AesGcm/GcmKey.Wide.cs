using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Bufferless.Crypto.Aead;

// Wide path: the same AES-NI rounds (no VAES API in .NET 10), but GHASH multiplies four blocks per VPCLMULQDQ
// on 512-bit vectors: 8 carry-less multiplies per 8 blocks instead of 32.
internal sealed unsafe partial class GcmKey
{
    private static Vector512<byte> ByteReverseMask512 => Vector512.Create(ByteReverseMask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> LoadReflected512(byte* p) => Avx512BW.Shuffle(Vector512.Load(p), ByteReverseMask512).AsUInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Fold(Vector512<ulong> v)
    {
        Vector256<ulong> t = v.GetLower() ^ v.GetUpper();
        return t.GetLower() ^ t.GetUpper();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Xor3(Vector512<ulong> a, Vector512<ulong> b, Vector512<ulong> c) => Avx512F.TernaryLogic(a, b, c, 0x96);

    /// <summary>GHASH of 8 blocks: lanes hold blocks 0..3 and 4..7, multiplied by H^8..H^5 and H^4..H^1.</summary>
    [MethodImpl(Hot)]
    private static Vector128<ulong> Ghash8Wide(Vector128<ulong> acc, byte* p, byte* powers)
    {
        Vector512<ulong> x0 = LoadReflected512(p) ^ acc.ToVector256().ToVector512();
        Vector512<ulong> x1 = LoadReflected512(p + 64);
        Vector512<ulong> h0 = Vector512.Load((ulong*)powers), h1 = Vector512.Load((ulong*)(powers + 64));
        Vector512<ulong> lo = Pclmulqdq.V512.CarrylessMultiply(x0, h0, 0x00) ^ Pclmulqdq.V512.CarrylessMultiply(x1, h1, 0x00);
        Vector512<ulong> hi = Pclmulqdq.V512.CarrylessMultiply(x0, h0, 0x11) ^ Pclmulqdq.V512.CarrylessMultiply(x1, h1, 0x11);
        Vector512<ulong> mid = Xor3(Pclmulqdq.V512.CarrylessMultiply(x0, h0, 0x01), Pclmulqdq.V512.CarrylessMultiply(x0, h0, 0x10),
            Pclmulqdq.V512.CarrylessMultiply(x1, h1, 0x01)) ^ Pclmulqdq.V512.CarrylessMultiply(x1, h1, 0x10);
        return Reduce(Fold(lo), Fold(mid), Fold(hi));
    }

    /// <summary>As <see cref="StitchedNarrow"/>, with the GHASH of the 8 blocks done in two 512-bit halves.</summary>
    [MethodImpl(Hot)]
    private void StitchedWide(ref Vector128<uint> ctrRef, ref Vector128<ulong> accRef, byte* src, byte* dst, byte* g, nuint batches)
    {
        byte* rk = _p + RoundKeysOffset;
        byte* powers = _p + PowersOffset;
        int rounds = _rounds;
        Vector128<byte> k0 = Vector128.Load(rk), k1 = Vector128.Load(rk + 16), k2 = Vector128.Load(rk + 32), k3 = Vector128.Load(rk + 48);
        Vector128<byte> k4 = Vector128.Load(rk + 64), k5 = Vector128.Load(rk + 80), k6 = Vector128.Load(rk + 96), k7 = Vector128.Load(rk + 112);
        Vector128<byte> k8 = Vector128.Load(rk + 128), k9 = Vector128.Load(rk + 144), kLast = Vector128.Load(rk + 16 * rounds);
        Vector512<ulong> h0 = Vector512.Load((ulong*)powers), h1 = Vector512.Load((ulong*)(powers + 64));
        Vector128<uint> ctr = ctrRef;
        Vector128<ulong> acc = accRef;
        for (nuint it = 0; it < batches; it++, src += 128, dst += 128, g += 128)
        {
            Counters8(ctr, k0, out var b0, out var b1, out var b2, out var b3, out var b4, out var b5, out var b6, out var b7);
            ctr += Vector128.CreateScalar(8u);

            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k1);
            Vector512<ulong> x0 = LoadReflected512(g) ^ acc.ToVector256().ToVector512();
            Vector512<ulong> x1 = LoadReflected512(g + 64);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k2);
            Vector512<ulong> lo = Pclmulqdq.V512.CarrylessMultiply(x0, h0, 0x00);
            Vector512<ulong> hi = Pclmulqdq.V512.CarrylessMultiply(x0, h0, 0x11);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k3);
            Vector512<ulong> mid = Pclmulqdq.V512.CarrylessMultiply(x0, h0, 0x01) ^ Pclmulqdq.V512.CarrylessMultiply(x0, h0, 0x10);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k4);
            lo ^= Pclmulqdq.V512.CarrylessMultiply(x1, h1, 0x00);
            hi ^= Pclmulqdq.V512.CarrylessMultiply(x1, h1, 0x11);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k5);
            mid = Xor3(mid, Pclmulqdq.V512.CarrylessMultiply(x1, h1, 0x01), Pclmulqdq.V512.CarrylessMultiply(x1, h1, 0x10));
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k6);
            Vector128<ulong> lo128 = Fold(lo), mid128 = Fold(mid), hi128 = Fold(hi);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k7);
            acc = Reduce(lo128, mid128, hi128);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k8);
            Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, k9);
            for (int r = 10; r < rounds; r++)
                Round8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, Vector128.Load(rk + 16 * r));
            Last8(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, kLast);
            Xor8(src, dst, b0, b1, b2, b3, b4, b5, b6, b7);
        }
        ctrRef = ctr;
        accRef = acc;
    }
}
