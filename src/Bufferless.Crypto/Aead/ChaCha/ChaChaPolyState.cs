using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Bufferless.Crypto.Memory;

namespace Bufferless.Crypto.Aead;

/// <summary>
/// Per-record ChaCha20-Poly1305 state for the managed paths (RFC 8439 §2.8): the ChaCha20 input block, keystream
/// generated ahead and not yet used (so a record fed in pieces costs no more keystream than one fed whole), the
/// Poly1305 accumulator and key, a partial Poly1305 block, and the powers of r for the wide path.
/// Lives in a pinned block of <see cref="Pool"/> owned by a key or an opener; every byte is secret-derived and zeroed
/// on dispose.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ChaChaPolyState
{
    public Poly1305Core.WidePowers Powers;
    public fixed byte Keystream[ChaCha20Core.WideBatch];
    public fixed uint Input[16];
    public fixed byte PolyPartial[16];
    public ulong H0, H1, H2, R0, R1, Pad0, Pad1;
    public ulong AadBytes, TextBytes;

    /// <summary>The record's payload length when known (Seal, Open, the opener), else ulong.MaxValue.</summary>
    public ulong TextLimit;
    public int KeystreamPos, KeystreamLength, PolyPartialLength;
    public bool Wide, PowersReady;

    /// <summary>EVP_MAC_CTX* when Poly1305 runs in libcrypto (hybrid opener), else zero (managed Poly1305).</summary>
    public IntPtr MacContext;

    /// <summary>Blocks per contiguous run from which the wide Poly1305 pays for its set-up (powers, final fold).</summary>
    private const int WidePolyMinBlocks = 16;

    /// <summary>Where a key's 32 bytes sit behind the state in a block of <see cref="Pool"/> (an opener's block leaves them unused).</summary>
    public static readonly int KeyOffset = (sizeof(ChaChaPolyState) + 63) & ~63;

    /// <summary>Blocks for one state and one key: pinned, 64-byte aligned, zeroed when returned.</summary>
    public static readonly SecretBlockPool Pool = new(KeyOffset + 32);

    /// <summary>A zeroed state at the start of a block rented from <paramref name="pool"/> (a pool of <see cref="Pool"/>'s block size).</summary>
    public static ChaChaPolyState* Allocate(SecretBlockPool pool, out SecretBlock block)
    {
        if (pool.BlockSize < KeyOffset + 32)
            throw new ArgumentException("the pool's blocks are too small for a ChaCha20-Poly1305 state and key", nameof(pool));
        block = pool.Rent();
        return (ChaChaPolyState*)block.Pointer;
    }

    /// <summary>RFC 8439 §2.8: the one-time Poly1305 key from block 0, then the AAD and its padding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Start(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, bool wide, long textLength, IntPtr macContext = default)
    {
        Wide = wide;
        MacContext = macContext;
        TextLimit = (ulong)textLength;
        int batch = ChaCha20Core.WideBatch;
        fixed (uint* input = Input)
        fixed (byte* ks = Keystream)
        {
            ChaCha20Core.InitInput(input, key, 0, nonce);
            // §2.6: the one-time key is the first 32 bytes of block 0. The wide path makes blocks 0..15 in one pass
            // and keeps 1..15 as the payload's first keystream (one pass instead of a lone block plus a pass);
            // blocks 0..7 when the payload fits in 7 blocks.
            if (wide && textLength <= ChaCha20Core.WideBatch / 2 - ChaCha20Core.BlockSize)
            {
                ChaCha20Core.Blocks8(input, ks);
                batch = ChaCha20Core.WideBatch / 2;
            }
            else if (wide)
            {
                ChaCha20Core.Blocks16(input, null, ks);
            }
            else
            {
                ChaCha20Core.Block(input, 0, ks);
            }
            Poly1305Core.Clamp(new ReadOnlySpan<byte>(ks, 16), out R0, out R1);
            Pad0 = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(ks + 16, 8));
            Pad1 = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(ks + 24, 8));
            if (macContext != IntPtr.Zero && Interop.LibCrypto.EVP_MAC_init(macContext, ks, 32, IntPtr.Zero) != 1)
                MacFailed();
            new Span<byte>(ks, ChaCha20Core.BlockSize).Clear();
            // §2.8: the payload starts at block counter 1.
            input[12] = wide ? (uint)(batch / ChaCha20Core.BlockSize) : 1u;
            KeystreamPos = wide ? ChaCha20Core.BlockSize : 0;
            KeystreamLength = wide ? batch : 0;
        }
        H0 = H1 = H2 = 0;
        PolyPartialLength = 0;
        PowersReady = false;
        AadBytes = (ulong)aad.Length;
        TextBytes = 0;
        if (MacContext != IntPtr.Zero && aad.Length <= 48)
        {
            // TLS AADs are 5 (1.3) or 13 (1.2) bytes: one libcrypto call for aad || pad16(aad).
            byte* block = stackalloc byte[64];
            new Span<byte>(block, 64).Clear();
            aad.CopyTo(new Span<byte>(block, 64));
            if (Interop.LibCrypto.EVP_MAC_update(MacContext, block, (nuint)((aad.Length + 15) & ~15)) != 1)
                MacFailed();
            return;
        }
        Mac(aad);
        PadMac(AadBytes);
    }

    private static void MacFailed()
    {
        Interop.LibCrypto.ClearErrors();
        throw new System.Security.Cryptography.CryptographicException("libcrypto Poly1305 failed");
    }

    /// <summary>Positions the keystream at byte <paramref name="offset"/> of the payload (ApplyKeystream only; no MAC).</summary>
    public void SeekKeystream(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, long offset, bool wide)
    {
        Wide = wide;
        TextLimit = ulong.MaxValue;
        fixed (uint* input = Input)
        {
            ChaCha20Core.InitInput(input, key, (uint)(1 + offset / ChaCha20Core.BlockSize), nonce);
            KeystreamPos = KeystreamLength = 0;
            int skip = (int)(offset % ChaCha20Core.BlockSize);
            if (skip > 0)
            {
                Refill(input);
                KeystreamPos = skip;
            }
        }
    }

    /// <summary>Encrypts (MAC over the output) or decrypts (MAC over the input); in-place use is allowed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Crypt(ReadOnlySpan<byte> input, Span<byte> output, bool decrypt)
    {
        if (input.IsEmpty)
            return;
        TextBytes += (ulong)input.Length;
        if (decrypt && Wide && MacContext == IntPtr.Zero)
        {
            fixed (byte* src = input)
            fixed (byte* dst = output)
                DecryptWide(src, dst, input.Length);
            return;
        }
        if (decrypt)
            Mac(input); // before an in-place decryption overwrites the ciphertext
        XorKeystream(input, output);
        if (!decrypt)
            Mac(output[..input.Length]);
    }

    /// <summary>
    /// Wide decryption with Poly1305 stitched into the ChaCha20 passes. Every ciphertext byte is MACed before the
    /// store that could overwrite it in place: the Poly1305 position never falls behind the decryption position
    /// (groups run ahead over the part covered by buffered keystream), and the last partial group is copied aside first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecryptWide(byte* src, byte* dst, int n)
    {
        int p = 0;
        fixed (byte* partial = PolyPartial)
        {
            if (PolyPartialLength > 0)
            {
                p = Math.Min(16 - PolyPartialLength, n);
                new ReadOnlySpan<byte>(src, p).CopyTo(new Span<byte>(partial + PolyPartialLength, p));
                PolyPartialLength += p;
                if (PolyPartialLength == 16)
                {
                    Poly1305Core.Blocks(ref H0, ref H1, ref H2, R0, R1, partial, 1);
                    PolyPartialLength = 0;
                }
            }
        }
        int groups = (n - p) / 128;
        int tailAt = p + 128 * groups;
        int tailLength = n - tailAt;
        byte* tail = stackalloc byte[128];
        new ReadOnlySpan<byte>(src + tailAt, tailLength).CopyTo(new Span<byte>(tail, 128));

        Poly1305Core.LaneState lanes;
        int done = 0;
        fixed (Poly1305Core.WidePowers* powers = &Powers)
        fixed (uint* input = Input)
        fixed (byte* ks = Keystream)
        {
            if (groups > 0)
            {
                if (!PowersReady)
                {
                    Poly1305Core.ComputePowers(R0, R1, powers);
                    PowersReady = true;
                }
                Poly1305Core.LanesFrom(H0, H1, H2, &lanes);
            }
            // Keystream left from the last call: MAC ahead of it, then decrypt with it.
            int buffered = Math.Min(n, KeystreamLength - KeystreamPos);
            if (buffered > 0)
            {
                int ahead = Math.Min(groups, (buffered - p + 127) / 128);
                if (ahead > 0)
                {
                    Poly1305Core.Groups(&lanes, powers, src + p, ahead);
                    p += 128 * ahead;
                    done = ahead;
                }
                Xor(src, ks + KeystreamPos, dst, buffered);
                KeystreamPos += buffered;
            }
            int x = buffered;
            for (; n - x >= ChaCha20Core.WideBatch; x += ChaCha20Core.WideBatch)
            {
                int g = Math.Min(8, groups - done);
                if (g > 0)
                    ChaCha20Core.Blocks16Poly(input, src + x, dst + x, &lanes, powers, src + p, g);
                else
                    ChaCha20Core.Blocks16(input, src + x, dst + x);
                input[12] += 16;
                p += 128 * g;
                done += g;
            }
            if (x < n)
            {
                int g = groups - done; // at most 7: the MAC position is at or past x here
                if (g > 0)
                    ChaCha20Core.Blocks16Poly(input, null, ks, &lanes, powers, src + p, g);
                else
                    ChaCha20Core.Blocks16(input, null, ks);
                input[12] += 16;
                p += 128 * g;
                done += g;
                KeystreamLength = ChaCha20Core.WideBatch;
                Xor(src + x, ks, dst + x, n - x);
                KeystreamPos = n - x;
            }
            if (done != groups)
                throw new InvalidOperationException("ChaCha20-Poly1305 wide decryption lost its MAC position"); // unreachable
            if (groups > 0)
                Poly1305Core.Fold(&lanes, powers, out H0, out H1, out H2);
        }
        int full = tailLength / 16;
        if (full > 0)
            Poly1305Core.Blocks(ref H0, ref H1, ref H2, R0, R1, tail, full);
        int rest = tailLength - 16 * full;
        if (rest > 0)
        {
            fixed (byte* partial = PolyPartial)
                new ReadOnlySpan<byte>(tail + 16 * full, rest).CopyTo(new Span<byte>(partial, 16));
            PolyPartialLength = rest;
        }
        new Span<byte>(tail, 128).Clear();
    }

    /// <summary>XORs the next keystream bytes into input, writing output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void XorKeystream(ReadOnlySpan<byte> inputSpan, Span<byte> outputSpan)
    {
        int length = inputSpan.Length;
        if (length == 0)
            return;
        fixed (byte* src0 = inputSpan)
        fixed (byte* dst0 = outputSpan)
        fixed (uint* input = Input)
        fixed (byte* ks = Keystream)
        {
            byte* src = src0, dst = dst0;
            int buffered = KeystreamLength - KeystreamPos;
            if (buffered > 0)
            {
                int n = Math.Min(buffered, length);
                Xor(src, ks + KeystreamPos, dst, n);
                KeystreamPos += n;
                src += n; dst += n; length -= n;
            }
            if (Wide)
            {
                for (; length >= ChaCha20Core.WideBatch; length -= ChaCha20Core.WideBatch, src += ChaCha20Core.WideBatch, dst += ChaCha20Core.WideBatch)
                {
                    ChaCha20Core.Blocks16(input, src, dst);
                    input[12] += 16;
                }
            }
            else
            {
                for (; length >= ChaCha20Core.BlockSize; length -= ChaCha20Core.BlockSize, src += ChaCha20Core.BlockSize, dst += ChaCha20Core.BlockSize)
                {
                    ChaCha20Core.Block(input, 0, ks);
                    input[12]++;
                    Xor(src, ks, dst, ChaCha20Core.BlockSize);
                }
            }
            if (length > 0)
            {
                if (Wide && length <= ChaCha20Core.WideBatch / 2 && TextLimit >= TextBytes
                    && TextLimit - TextBytes <= (ulong)(ChaCha20Core.WideBatch / 2 - length))
                {
                    // The record ends within 8 blocks: a half-width pass (TextBytes already counts this piece).
                    ChaCha20Core.Blocks8(input, ks);
                    input[12] += 8;
                    KeystreamLength = ChaCha20Core.WideBatch / 2;
                    Xor(src, ks, dst, length);
                }
                else if (Wide)
                {
                    // The piece's whole blocks straight to the output, the rest of the batch to the buffer.
                    int direct = length / ChaCha20Core.BlockSize;
                    ChaCha20Core.Blocks16(input, src, dst, direct, ks);
                    input[12] += 16;
                    KeystreamLength = ChaCha20Core.WideBatch;
                    int at = direct * ChaCha20Core.BlockSize;
                    Xor(src + at, ks + at, dst + at, length - at);
                }
                else
                {
                    Refill(input);
                    Xor(src, ks, dst, length);
                }
                KeystreamPos = length;
            }
        }
    }

    /// <summary>Generates the next batch of keystream (16 blocks wide, 1 block portable) into the buffer.</summary>
    private void Refill(uint* input)
    {
        fixed (byte* ks = Keystream)
        {
            if (Wide)
            {
                ChaCha20Core.Blocks16(input, null, ks);
                input[12] += 16;
                KeystreamLength = ChaCha20Core.WideBatch;
            }
            else
            {
                ChaCha20Core.Block(input, 0, ks);
                input[12]++;
                KeystreamLength = ChaCha20Core.BlockSize;
            }
            KeystreamPos = 0;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Xor(byte* a, byte* b, byte* dst, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 64 <= n; i += 64)
                (Vector512.Load(a + i) ^ Vector512.Load(b + i)).Store(dst + i);
        }
        if (i < n && n - i < 64 && Avx512BW.IsSupported)
        {
            // The last 1..63 bytes in one masked pass (masked-off bytes are neither read nor written).
            Vector512<byte> mask = Vector512.LessThan(Vector512<byte>.Indices, Vector512.Create((byte)(n - i)));
            Vector512<byte> x = Avx512BW.MaskLoad(a + i, mask, Vector512<byte>.Zero) ^ Avx512BW.MaskLoad(b + i, mask, Vector512<byte>.Zero);
            Avx512BW.MaskStore(dst + i, mask, x);
            return;
        }
        for (; i + 16 <= n; i += 16)
            (Vector128.Load(a + i) ^ Vector128.Load(b + i)).Store(dst + i);
        for (; i < n; i++)
            dst[i] = (byte)(a[i] ^ b[i]);
    }

    /// <summary>Feeds bytes to Poly1305, keeping a partial block between calls.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Mac(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
            return;
        if (MacContext != IntPtr.Zero)
        {
            fixed (byte* d = data)
            {
                if (Interop.LibCrypto.EVP_MAC_update(MacContext, d, (nuint)data.Length) != 1)
                    MacFailed();
            }
            return;
        }
        fixed (byte* d0 = data)
        fixed (byte* partial = PolyPartial)
        {
            byte* d = d0;
            int length = data.Length;
            if (PolyPartialLength > 0)
            {
                int n = Math.Min(16 - PolyPartialLength, length);
                new ReadOnlySpan<byte>(d, n).CopyTo(new Span<byte>(partial + PolyPartialLength, n));
                PolyPartialLength += n;
                d += n; length -= n;
                if (PolyPartialLength < 16)
                    return;
                Poly1305Core.Blocks(ref H0, ref H1, ref H2, R0, R1, partial, 1);
                PolyPartialLength = 0;
            }
            int blocks = length / 16;
            if (Wide && blocks >= WidePolyMinBlocks)
            {
                if (!PowersReady)
                {
                    fixed (Poly1305Core.WidePowers* powers = &Powers)
                        Poly1305Core.ComputePowers(R0, R1, powers);
                    PowersReady = true;
                }
                int groups = blocks / 8;
                fixed (Poly1305Core.WidePowers* powers = &Powers)
                    Poly1305Core.BlocksWide(ref H0, ref H1, ref H2, powers, d, groups);
                d += groups * 128; length -= groups * 128; blocks -= groups * 8;
            }
            if (blocks > 0)
            {
                Poly1305Core.Blocks(ref H0, ref H1, ref H2, R0, R1, d, blocks);
                d += blocks * 16; length -= blocks * 16;
            }
            if (length > 0)
            {
                new ReadOnlySpan<byte>(d, length).CopyTo(new Span<byte>(partial, 16));
                PolyPartialLength = length;
            }
        }
    }

    /// <summary>RFC 8439 §2.8: pad16 — a partial block is completed with zeros (a full block, 2^128 bit set).</summary>
    private void PadMac(ulong sectionLength)
    {
        int rest = (int)(sectionLength % 16);
        if (rest == 0)
            return;
        if (MacContext != IntPtr.Zero)
        {
            byte* zeros = stackalloc byte[16];
            new Span<byte>(zeros, 16).Clear();
            if (Interop.LibCrypto.EVP_MAC_update(MacContext, zeros, (nuint)(16 - rest)) != 1)
                MacFailed();
            return;
        }
        fixed (byte* partial = PolyPartial)
        {
            new Span<byte>(partial + PolyPartialLength, 16 - PolyPartialLength).Clear();
            Poly1305Core.Blocks(ref H0, ref H1, ref H2, R0, R1, partial, 1);
        }
        PolyPartialLength = 0;
    }

    /// <summary>RFC 8439 §2.8: pad16(ciphertext), then the two 64-bit little-endian lengths; writes the 16-byte tag.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ComputeTag(byte* tag)
    {
        if (MacContext != IntPtr.Zero)
        {
            // One libcrypto call for pad16(ciphertext) and the lengths block together.
            byte* last = stackalloc byte[32];
            int pad = (16 - (int)(TextBytes % 16)) % 16;
            new Span<byte>(last, pad).Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(last + pad, 8), AadBytes);
            BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(last + pad + 8, 8), TextBytes);
            nuint written;
            if (Interop.LibCrypto.EVP_MAC_update(MacContext, last, (nuint)(pad + 16)) != 1
                || Interop.LibCrypto.EVP_MAC_final(MacContext, tag, &written, 16) != 1 || written != 16)
            {
                MacFailed();
            }
            return;
        }
        PadMac(TextBytes);
        byte* lengths = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(lengths, 8), AadBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(lengths + 8, 8), TextBytes);
        Poly1305Core.Blocks(ref H0, ref H1, ref H2, R0, R1, lengths, 1);
        Poly1305Core.Finish(H0, H1, H2, Pad0, Pad1, tag);
    }

    /// <summary>Zeroes everything (keystream, r, s, h and the powers are all secret).</summary>
    public static void Clear(ChaChaPolyState* s) =>
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(new Span<byte>(s, sizeof(ChaChaPolyState)));
}
