using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using PlatformAes = System.Security.Cryptography.Aes;

namespace Bufferless.Crypto.Aead;

// Portable path: AES blocks from the platform (an ECB encryptor made once per key; its TransformBlock neither
// allocates nor keeps state between calls), GHASH in constant-time integer arithmetic: carry-less 64x64
// multiplies built from ordinary multiplies on operands with 3-bit holes, so no table is indexed by secret data.
internal sealed unsafe partial class GcmKey
{
    private const int PortableBatchBlocks = 16;

    private PlatformAes? _aes;
    private ICryptoTransform? _ecb;
    private byte[]? _ctrBuf;
    private byte[]? _ksBuf;

    private void InitPortable(ReadOnlySpan<byte> key)
    {
        byte[] keyCopy = key.ToArray();
        try
        {
            _aes = PlatformAes.Create();
            _aes.Key = keyCopy;
            _aes.Mode = CipherMode.ECB;
            _aes.Padding = PaddingMode.None;
            _ecb = _aes.CreateEncryptor();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyCopy);
        }
        _ctrBuf = GC.AllocateArray<byte>(PortableBatchBlocks * 16, pinned: true);
        _ksBuf = GC.AllocateArray<byte>(PortableBatchBlocks * 16, pinned: true);
        Vector128<byte> h = EncryptBlockPortable(default);
        ulong* ph = (ulong*)(_p + PortableHOffset);
        ph[0] = BinaryPrimitives.ReadUInt64BigEndian(new ReadOnlySpan<byte>(&h, 8));
        ph[1] = BinaryPrimitives.ReadUInt64BigEndian(new ReadOnlySpan<byte>((byte*)&h + 8, 8));
        h = default;
    }

    private void DisposePortable()
    {
        if (_ksBuf is not null)
            CryptographicOperations.ZeroMemory(_ksBuf);
        _ecb?.Dispose();
        _aes?.Dispose(); // SymmetricAlgorithm.Dispose clears its copy of the key
    }

    private Vector128<byte> EncryptBlockPortable(Vector128<byte> block)
    {
        byte[] inBuf = _ctrBuf!, outBuf = _ksBuf!;
        new ReadOnlySpan<byte>(&block, 16).CopyTo(inBuf);
        _ecb!.TransformBlock(inBuf, 0, 16, outBuf, 0);
        Vector128<byte> result = Vector128.Create(outBuf.AsSpan(0, 16));
        CryptographicOperations.ZeroMemory(outBuf.AsSpan(0, 16));
        return result;
    }

    /// <summary>Writes <paramref name="blocks"/> counter blocks into the counter buffer and encrypts them into the keystream buffer.</summary>
    private void KeystreamPortable(ref Vector128<byte> counter, int blocks)
    {
        byte[] ctr = _ctrBuf!;
        fixed (byte* c = ctr)
        {
            Vector128<byte> block = counter;
            for (int j = 0; j < blocks; j++)
            {
                *(Vector128<byte>*)(c + 16 * j) = block;
                block = Increment(block, 1);
            }
            counter = block;
        }
        _ecb!.TransformBlock(ctr, 0, blocks * 16, _ksBuf!, 0);
    }

    private void CryptPortable(ref GcmState s, byte* src, byte* dst, int length, bool decrypt)
    {
        ulong* h = (ulong*)(_p + PortableHOffset);
        ulong accHi = BinaryPrimitives.ReadUInt64BigEndian(new ReadOnlySpan<byte>(Unsafe.AsPointer(ref s.Acc), 8));
        ulong accLo = BinaryPrimitives.ReadUInt64BigEndian(new ReadOnlySpan<byte>((byte*)Unsafe.AsPointer(ref s.Acc) + 8, 8));
        fixed (byte* ks = _ksBuf)
        {
            while (length > 0)
            {
                int blocks = Math.Min(PortableBatchBlocks, (length + 15) / 16);
                KeystreamPortable(ref s.Counter, blocks);
                int bytes = Math.Min(length, blocks * 16);
                int full = bytes / 16;
                for (int j = 0; j < full; j++)
                {
                    byte* i = src + 16 * j, o = dst + 16 * j;
                    Vector128<byte> inBlock = Vector128.Load(i);
                    Vector128<byte> outBlock = inBlock ^ Vector128.Load(ks + 16 * j);
                    Vector128<byte> c = decrypt ? inBlock : outBlock;
                    outBlock.Store(o);
                    accHi ^= BinaryPrimitives.ReadUInt64BigEndian(new ReadOnlySpan<byte>(&c, 8));
                    accLo ^= BinaryPrimitives.ReadUInt64BigEndian(new ReadOnlySpan<byte>((byte*)&c + 8, 8));
                    GfMul(ref accHi, ref accLo, h[0], h[1]);
                }
                int rest = bytes - full * 16;
                if (rest > 0)
                {
                    // A partial block can only be the last of this call: keep its keystream for the next call.
                    s.Keystream = Vector128.Load(ks + 16 * full);
                    s.Partial = default;
                    byte* k = ks + 16 * full;
                    ref byte part = ref GcmState.Bytes(ref s.Partial);
                    byte* i = src + 16 * full, o = dst + 16 * full;
                    for (int b = 0; b < rest; b++)
                    {
                        byte inByte = i[b];
                        byte outByte = (byte)(inByte ^ k[b]);
                        o[b] = outByte;
                        Unsafe.Add(ref part, b) = decrypt ? inByte : outByte;
                    }
                    s.PartialLength = rest;
                }
                src += bytes;
                dst += bytes;
                length -= bytes;
            }
            CryptographicOperations.ZeroMemory(new Span<byte>(ks, PortableBatchBlocks * 16));
        }
        StoreAccPortable(ref s.Acc, accHi, accLo);
    }

    private void CtrPortable(Vector128<byte> counter, byte* src, byte* dst, int length)
    {
        fixed (byte* ks = _ksBuf)
        {
            while (length > 0)
            {
                int blocks = Math.Min(PortableBatchBlocks, (length + 15) / 16);
                KeystreamPortable(ref counter, blocks);
                int bytes = Math.Min(length, blocks * 16);
                int b = 0;
                for (; b + 16 <= bytes; b += 16)
                    (Vector128.Load(src + b) ^ Vector128.Load(ks + b)).Store(dst + b);
                for (; b < bytes; b++)
                    dst[b] = (byte)(src[b] ^ ks[b]);
                src += bytes;
                dst += bytes;
                length -= bytes;
            }
            CryptographicOperations.ZeroMemory(new Span<byte>(ks, PortableBatchBlocks * 16));
        }
    }

    private void GhashPortable(ref Vector128<byte> acc, byte* p, nuint blocks)
    {
        ulong* h = (ulong*)(_p + PortableHOffset);
        ulong hi = BinaryPrimitives.ReadUInt64BigEndian(new ReadOnlySpan<byte>(Unsafe.AsPointer(ref acc), 8));
        ulong lo = BinaryPrimitives.ReadUInt64BigEndian(new ReadOnlySpan<byte>((byte*)Unsafe.AsPointer(ref acc) + 8, 8));
        for (nuint j = 0; j < blocks; j++, p += 16)
        {
            hi ^= BinaryPrimitives.ReadUInt64BigEndian(new ReadOnlySpan<byte>(p, 8));
            lo ^= BinaryPrimitives.ReadUInt64BigEndian(new ReadOnlySpan<byte>(p + 8, 8));
            GfMul(ref hi, ref lo, h[0], h[1]);
        }
        StoreAccPortable(ref acc, hi, lo);
    }

    private static void StoreAccPortable(ref Vector128<byte> acc, ulong hi, ulong lo)
    {
        byte* a = (byte*)Unsafe.AsPointer(ref acc);
        BinaryPrimitives.WriteUInt64BigEndian(new Span<byte>(a, 8), hi);
        BinaryPrimitives.WriteUInt64BigEndian(new Span<byte>(a + 8, 8), lo);
    }

    /// <summary>
    /// X = X * H in GF(2^128) (SP 800-38D §6.3). Elements are two big-endian words, so bit 127 - i of (hi:lo) is the
    /// coefficient of x^i: the integer is the bit-reflected polynomial, and a carry-less integer product is the
    /// reflected product shifted right by one.
    /// </summary>
    internal static void GfMul(ref ulong xHi, ref ulong xLo, ulong hHi, ulong hLo)
    {
        // Karatsuba on 64-bit halves: three 64x64 -> 128 carry-less products.
        ClMul64(xLo, hLo, out ulong p0Hi, out ulong p0Lo);
        ClMul64(xHi, hHi, out ulong p2Hi, out ulong p2Lo);
        ClMul64(xLo ^ xHi, hLo ^ hHi, out ulong p1Hi, out ulong p1Lo);
        p1Hi ^= p0Hi ^ p2Hi;
        p1Lo ^= p0Lo ^ p2Lo;
        // 256-bit product w3:w2:w1:w0 (w3 most significant).
        ulong w0 = p0Lo, w1 = p0Hi ^ p1Lo, w2 = p2Lo ^ p1Hi, w3 = p2Hi;
        // Undo the reflection's one-bit offset.
        w3 = (w3 << 1) | (w2 >> 63);
        w2 = (w2 << 1) | (w1 >> 63);
        w1 = (w1 << 1) | (w0 >> 63);
        w0 <<= 1;
        // Reduce modulo x^128 + x^7 + x^2 + x + 1: fold w0 (degrees 192..255), then w1 (128..191).
        // In the reflected order, multiplying by x^k is a right shift by k.
        w2 ^= w0 ^ (w0 >> 1) ^ (w0 >> 2) ^ (w0 >> 7);
        w1 ^= (w0 << 63) ^ (w0 << 62) ^ (w0 << 57);
        w3 ^= w1 ^ (w1 >> 1) ^ (w1 >> 2) ^ (w1 >> 7);
        w2 ^= (w1 << 63) ^ (w1 << 62) ^ (w1 << 57);
        xHi = w3;
        xLo = w2;
    }

    /// <summary>Full 128-bit carry-less product of two 64-bit words, in constant time.</summary>
    private static void ClMul64(ulong x, ulong y, out ulong hi, out ulong lo)
    {
        lo = ClMulLow(x, y);
        // The high half is the low half of the product of the bit-reversed operands, reversed back, shifted by one.
        hi = ReverseBits(ClMulLow(ReverseBits(x), ReverseBits(y))) >> 1;
    }

    /// <summary>
    /// Low 64 bits of a carry-less product with integer multiplies: each operand is split into four classes of bits
    /// spaced four apart, so the sum at any product bit has at most 16 terms inside the low word, and the carries
    /// land in bit positions that the final masks discard.
    /// </summary>
    private static ulong ClMulLow(ulong x, ulong y)
    {
        const ulong M0 = 0x1111111111111111, M1 = 0x2222222222222222, M2 = 0x4444444444444444, M3 = 0x8888888888888888;
        ulong x0 = x & M0, x1 = x & M1, x2 = x & M2, x3 = x & M3;
        ulong y0 = y & M0, y1 = y & M1, y2 = y & M2, y3 = y & M3;
        ulong z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
        ulong z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
        ulong z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
        ulong z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
        return (z0 & M0) | (z1 & M1) | (z2 & M2) | (z3 & M3);
    }

    private static ulong ReverseBits(ulong v)
    {
        v = ((v >> 1) & 0x5555555555555555) | ((v & 0x5555555555555555) << 1);
        v = ((v >> 2) & 0x3333333333333333) | ((v & 0x3333333333333333) << 2);
        v = ((v >> 4) & 0x0F0F0F0F0F0F0F0F) | ((v & 0x0F0F0F0F0F0F0F0F) << 4);
        return BinaryPrimitives.ReverseEndianness(v);
    }
}
