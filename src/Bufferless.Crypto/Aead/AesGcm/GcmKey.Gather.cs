using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Bufferless.Crypto.Aead;

internal sealed unsafe partial class GcmKey
{
    /// <summary>Largest gathered tail (the bytes after the whole 128-byte batches) for the one-reduction finish.</summary>
    private const int GatherTailMax = 7 * 16;

    /// <summary>
    /// One-shot seal of <paramref name="plaintext"/> || <paramref name="trailer"/> (a TLS 1.3 record and its inner
    /// content type) into <paramref name="ciphertext"/> (their combined length) and a 16-byte <paramref name="tag"/>:
    /// the same output as <see cref="Seal"/> of the concatenation. The whole 128-byte batches go through the stitched
    /// loop; the rest, with the trailer, is gathered into one stack block, encrypted with one keystream call and hashed
    /// together with the lengths block under a single reduction (SP 800-38D §7.1 steps 5-6: GHASH(... || C || 0^v ||
    /// [len(A)]64 || [len(C)]64)), instead of the streaming path's partial-block bookkeeping and separate reductions.
    /// <paramref name="ciphertext"/> may start at <paramref name="plaintext"/> (in place) or not overlap it.
    /// </summary>
    [MethodImpl(Hot)]
    public void SealGather(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> trailer,
        Span<byte> ciphertext, Span<byte> tag)
    {
        int total = plaintext.Length + trailer.Length;
        if (ciphertext.Length < total)
            throw new ArgumentException("ciphertext is shorter than plaintext and trailer", nameof(ciphertext));
        if (tag.Length != 16)
            throw new ArgumentException("tag is 16 bytes", nameof(tag));
        int bulk = plaintext.Length & ~127;
        int tailLength = total - bulk;
        GcmState s = default;
        Start(ref s, iv, aad);
        if (Path == AesGcmPath.Portable || tailLength > GatherTailMax)
        {
            // The streaming path: correct for any split, only slower.
            Encrypt(ref s, plaintext, ciphertext[..plaintext.Length]);
            if (!trailer.IsEmpty)
                Encrypt(ref s, trailer, ciphertext.Slice(plaintext.Length, trailer.Length));
            Vector128<byte> streamed = ComputeTag(ref s);
            streamed.CopyTo(tag);
            GcmState.Clear(ref s);
            return;
        }
        Vector128<byte>* block = stackalloc Vector128<byte>[8];
        Vector128<byte>* ks = stackalloc Vector128<byte>[8];
        byte* b = (byte*)block;
        new Span<byte>(b, 128).Clear();
        fixed (byte* src = plaintext)
        fixed (byte* dst = ciphertext)
        {
            if (bulk > 0)
                CryptAccelerated(ref s, src, dst, bulk, decrypt: false);
            int rest = plaintext.Length - bulk;
            new ReadOnlySpan<byte>(src + bulk, rest).CopyTo(new Span<byte>(b, rest));
            trailer.CopyTo(new Span<byte>(b + rest, trailer.Length));
            int blocks = (tailLength + 15) / 16;
            if (blocks > 0)
            {
                TailKeystream(ReverseBytes(s.Counter).AsUInt32(), blocks, ks);
                for (int j = 0; j < blocks; j++)
                    block[j] ^= ks[j];
                // GHASH takes the last ciphertext block zero-padded (SP 800-38D §7.1 step 5).
                new Span<byte>(b + tailLength, blocks * 16 - tailLength).Clear();
                new ReadOnlySpan<byte>(b, tailLength).CopyTo(new Span<byte>(dst + bulk, tailLength));
            }
            Span<byte> lengths = new(b + 16 * blocks, 16);
            BinaryPrimitives.WriteUInt64BigEndian(lengths, s.AadBytes * 8);
            BinaryPrimitives.WriteUInt64BigEndian(lengths[8..], (ulong)total * 8);
            Vector128<ulong> acc = GhashUpTo8(s.Acc.AsUInt64(), b, blocks + 1, _p + PowersOffset);
            Vector128<byte> full = AccToBlock(acc.AsByte()) ^ s.TagMask;
            full.CopyTo(tag);
            full = default;
            acc = default;
        }
        new Span<byte>(ks, 128).Clear();
        new Span<byte>(b, 128).Clear();
        GcmState.Clear(ref s);
    }
}
