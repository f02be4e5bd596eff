using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using Bufferless.Crypto.Memory;

namespace Bufferless.Crypto.Aead;

/// <summary>
/// The GCM core (NIST SP 800-38D) for one AES key: what Wycheproof exercises (AES-128/192/256, any IV length of at
/// least one byte, tags of 1..16 bytes on verification). <see cref="AesGcmAead"/> narrows it to the TLS shape.
/// </summary>
/// <remarks>
/// Secret state (AES round keys, the powers H^1..H^8 and the portable H) lives in one pinned block of a
/// <see cref="SecretBlockPool"/>, so the GC never copies it and <see cref="Dispose"/> zeroes the only copy. Streaming works on
/// <see cref="GcmState"/>: <see cref="Start"/>, then <see cref="Encrypt"/> or <see cref="Decrypt"/> in pieces of any
/// size, then <see cref="ComputeTag"/>.
/// </remarks>
[SkipLocalsInit] // hot paths write every scratch byte they read; zeroing stack frames per call is wasted work
internal sealed unsafe partial class GcmKey : IDisposable
{
    /// <summary>
    /// The record path is compiled fully optimised on first call instead of going through tiered compilation.
    /// </summary>
    /// <remarks>
    /// Measured (Stopwatch loop pinned to one CPU, 100 ms slices from process start): a 1448-byte Open ran at
    /// 2.6-3.6 µs for the first ~2 s, on tier-0 and then instrumented tier-0 code of the stitched AES/GHASH loop,
    /// and at ~430 ns once tier 1 arrived. The tier-up took seconds because the pinned process shares its one CPU
    /// with the background JIT; a short benchmark run (or a fresh worker) spent much of its time on that slow code,
    /// which was the bimodal 0.68x "Open" figure. Dynamic PGO brings nothing to these branch-free kernels.
    /// </remarks>
    internal const MethodImplOptions Hot = MethodImplOptions.AggressiveOptimization;

    private const int RoundKeysOffset = 0;          // 15 round keys
    private const int PowersOffset = 15 * 16;       // H^8, H^7, ..., H^1, then 8 zero blocks (see Wide tail reads)
    private const int PortableHOffset = PowersOffset + 16 * 16;
    private const int SecretSize = PortableHOffset + 16;

    private static readonly SecretBlockPool s_pool = new(SecretSize);

    private readonly SecretBlockPool _pool;
    private readonly SecretBlock _secret;
    private readonly byte* _p;
    private readonly int _rounds;
    private bool _disposed;

    public AesGcmPath Path { get; }

    public int KeySize { get; }

    public GcmKey(ReadOnlySpan<byte> key, AesGcmPath path = AesGcmPath.Auto) : this(key, path, s_pool)
    {
    }

    /// <param name="pool">Where the secret block comes from (tests give their own, to look at it after Dispose).</param>
    internal GcmKey(ReadOnlySpan<byte> key, AesGcmPath path, SecretBlockPool pool)
    {
        if (key.Length is not (16 or 24 or 32))
            throw new ArgumentException("AES key is 16, 24 or 32 bytes", nameof(key));
        Path = AesGcmPaths.Resolve(path);
        KeySize = key.Length;
        _rounds = key.Length / 4 + 6;
        _pool = pool;
        _secret = pool.Rent();
        _p = _secret.Pointer;
        if (Path == AesGcmPath.Portable)
            InitPortable(key);
        else
            InitAccelerated(key);
    }

    /// <summary>The pinned secret area (round keys, H powers), for tests that check <see cref="Dispose"/> zeroes it.</summary>
    internal ReadOnlySpan<byte> SecretStateForTest => new(_p, SecretSize);

    // ---- per-message API -------------------------------------------------------------------------------------

    /// <summary>SP 800-38D §7.1 steps 1-2 and the AAD part of step 5: derives J0, E(K, J0) and hashes the AAD.</summary>
    [MethodImpl(Hot)]
    public void Start(ref GcmState s, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // SP 800-38D §5.2.1.1: 1 <= len(IV); a zero-length IV is rejected.
        if (iv.IsEmpty)
            throw new ArgumentException("GCM IV must not be empty", nameof(iv));
        s = default;
        Vector128<byte> j0;
        if (iv.Length == 12)
        {
            // §7.1 step 2: J0 = IV || 0^31 || 1.
            j0 = Vector128.Create(0, 0, 0, 0x01000000u).AsByte();
            iv.CopyTo(MemoryMarshal.CreateSpan(ref GcmState.Bytes(ref j0), 12));
        }
        else
        {
            // §7.1 step 2: J0 = GHASH(IV || 0^(s+64) || [len(IV)]_64).
            GhashPadded(ref s.Acc, iv);
            GhashLengths(ref s.Acc, 0, (ulong)iv.Length);
            j0 = AccToBlock(s.Acc);
            s.Acc = default;
        }
        s.TagMask = EncryptBlock(j0);
        s.Counter = Increment(j0, 1);
        GhashPadded(ref s.Acc, aad);
        s.AadBytes = (ulong)aad.Length;
    }

    public void Encrypt(ref GcmState s, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext) => Crypt(ref s, plaintext, ciphertext, decrypt: false);

    public void Decrypt(ref GcmState s, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext) => Crypt(ref s, ciphertext, plaintext, decrypt: true);

    /// <summary>SP 800-38D §7.1 steps 5-6: closes GHASH with the lengths block; returns the full 16-byte tag.</summary>
    [MethodImpl(Hot)]
    public Vector128<byte> ComputeTag(ref GcmState s)
    {
        // The zero-padded last partial block (if any) and the lengths block go through GHASH together: one reduction.
        Vector128<byte>* last = stackalloc Vector128<byte>[2];
        last[0] = s.Partial;
        Span<byte> lengths = new(last + 1, 16);
        BinaryPrimitives.WriteUInt64BigEndian(lengths, s.AadBytes * 8);
        BinaryPrimitives.WriteUInt64BigEndian(lengths[8..], s.TextBytes * 8);
        if (s.PartialLength > 0)
            GhashBlocks(ref s.Acc, (byte*)last, 2);
        else
            GhashBlocks(ref s.Acc, (byte*)(last + 1), 1);
        s.PartialLength = 0;
        last[0] = default;
        return AccToBlock(s.Acc) ^ s.TagMask;
    }

    /// <summary>CTR only: XORs keystream starting at <paramref name="counterBlock"/>, skipping <paramref name="skip"/> bytes of its first block.</summary>
    [MethodImpl(Hot)]
    public void ApplyKeystream(Vector128<byte> counterBlock, int skip, ReadOnlySpan<byte> input, Span<byte> output)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (output.Length < input.Length)
            throw new ArgumentException("output is shorter than input", nameof(output));
        if (input.IsEmpty)
            return;
        fixed (byte* src = input)
        fixed (byte* dst = output)
        {
            int done = 0;
            if (skip > 0)
            {
                Vector128<byte> ks = EncryptBlock(counterBlock);
                counterBlock = Increment(counterBlock, 1);
                byte* k = (byte*)&ks;
                for (; done < input.Length && skip + done < 16; done++)
                    dst[done] = (byte)(src[done] ^ k[skip + done]);
                ks = default;
            }
            if (done < input.Length)
            {
                if (Path == AesGcmPath.Portable)
                    CtrPortable(counterBlock, src + done, dst + done, input.Length - done);
                else
                    CtrAccelerated(counterBlock, src + done, dst + done, input.Length - done);
            }
        }
    }

    /// <summary>One-shot encryption with a tag of <c>tag.Length</c> (1..16) bytes.</summary>
    [MethodImpl(Hot)]
    public void Seal(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag)
    {
        if (tag.Length is < 1 or > 16)
            throw new ArgumentException("tag is 1..16 bytes", nameof(tag));
        GcmState s = default;
        Start(ref s, iv, aad);
        Encrypt(ref s, plaintext, ciphertext);
        Vector128<byte> full = ComputeTag(ref s);
        MemoryMarshal.CreateReadOnlySpan(ref GcmState.Bytes(ref full), tag.Length).CopyTo(tag);
        GcmState.Clear(ref s);
    }

    /// <summary>One-shot decryption; compares a tag of <c>tag.Length</c> (1..16) bytes in constant time; clears the plaintext on failure.</summary>
    [MethodImpl(Hot)]
    public bool Open(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        if (tag.Length is < 1 or > 16)
            throw new ArgumentException("tag is 1..16 bytes", nameof(tag));
        if (plaintext.Length < ciphertext.Length)
            throw new ArgumentException("plaintext is shorter than ciphertext", nameof(plaintext));
        Vector128<byte> expected = default;
        tag.CopyTo(MemoryMarshal.CreateSpan(ref GcmState.Bytes(ref expected), 16)); // before an in-place decrypt can touch it
        GcmState s = default;
        Start(ref s, iv, aad);
        Decrypt(ref s, ciphertext, plaintext);
        Vector128<byte> full = ComputeTag(ref s);
        GcmState.Clear(ref s);
        bool ok = CryptographicOperations.FixedTimeEquals(
            MemoryMarshal.CreateReadOnlySpan(ref GcmState.Bytes(ref full), tag.Length),
            MemoryMarshal.CreateReadOnlySpan(ref GcmState.Bytes(ref expected), tag.Length));
        if (!ok)
            CryptographicOperations.ZeroMemory(plaintext[..ciphertext.Length]);
        return ok;
    }

    // ---- shared plumbing ---------------------------------------------------------------------------------------

    /// <summary>SP 800-38D §6.2 inc32: the last 32 bits, big-endian, incremented modulo 2^32.</summary>
    public static Vector128<byte> Increment(Vector128<byte> block, uint by)
    {
        ref byte b = ref GcmState.Bytes(ref block);
        Span<byte> tail = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref b, 12), 4);
        BinaryPrimitives.WriteUInt32BigEndian(tail, BinaryPrimitives.ReadUInt32BigEndian(tail) + by);
        return block;
    }

    [MethodImpl(Hot)]
    private void Crypt(ref GcmState s, ReadOnlySpan<byte> input, Span<byte> output, bool decrypt)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (output.Length < input.Length)
            throw new ArgumentException("output is shorter than input", nameof(output));
        if (input.IsEmpty)
            return;
        s.TextBytes += (ulong)input.Length;
        fixed (byte* src = input)
        fixed (byte* dst = output)
        {
            int i = 0;
            if (s.PartialLength > 0)
            {
                // Finish the block a previous call started: its keystream is kept, its ciphertext collected.
                ref byte ks = ref GcmState.Bytes(ref s.Keystream);
                ref byte part = ref GcmState.Bytes(ref s.Partial);
                int pl = s.PartialLength;
                for (; i < input.Length && pl < 16; i++, pl++)
                {
                    byte inByte = src[i];
                    byte outByte = (byte)(inByte ^ Unsafe.Add(ref ks, pl));
                    dst[i] = outByte;
                    Unsafe.Add(ref part, pl) = decrypt ? inByte : outByte;
                }
                if (pl == 16)
                {
                    Vector128<byte> full = s.Partial;
                    GhashBlocks(ref s.Acc, (byte*)&full, 1);
                    s.Partial = default;
                    s.Keystream = default;
                    pl = 0;
                }
                s.PartialLength = pl;
            }
            if (i < input.Length)
            {
                if (Path == AesGcmPath.Portable)
                    CryptPortable(ref s, src + i, dst + i, input.Length - i, decrypt);
                else
                    CryptAccelerated(ref s, src + i, dst + i, input.Length - i, decrypt);
            }
        }
    }

    [MethodImpl(Hot)]
    private void GhashPadded(ref Vector128<byte> acc, ReadOnlySpan<byte> data)
    {
        int full = data.Length & ~15;
        fixed (byte* p = data)
        {
            if (full > 0)
                GhashBlocks(ref acc, p, (nuint)(full / 16));
            if (full < data.Length)
            {
                Vector128<byte> last = default;
                data[full..].CopyTo(MemoryMarshal.CreateSpan(ref GcmState.Bytes(ref last), 16));
                GhashBlocks(ref acc, (byte*)&last, 1);
            }
        }
    }

    /// <summary>SP 800-38D §7.1 step 5: [len(A)]_64 || [len(C)]_64, in bits.</summary>
    [MethodImpl(Hot)]
    private void GhashLengths(ref Vector128<byte> acc, ulong aadBytes, ulong textBytes)
    {
        Vector128<byte> block = default;
        Span<byte> b = MemoryMarshal.CreateSpan(ref GcmState.Bytes(ref block), 16);
        BinaryPrimitives.WriteUInt64BigEndian(b, aadBytes * 8);
        BinaryPrimitives.WriteUInt64BigEndian(b[8..], textBytes * 8);
        GhashBlocks(ref acc, (byte*)&block, 1);
    }

    [MethodImpl(Hot)]
    private void GhashBlocks(ref Vector128<byte> acc, byte* p, nuint blocks)
    {
        if (Path == AesGcmPath.Portable)
            GhashPortable(ref acc, p, blocks);
        else
            GhashAccelerated(ref acc, p, blocks);
    }

    private Vector128<byte> AccToBlock(Vector128<byte> acc) => Path == AesGcmPath.Portable ? acc : ReverseBytes(acc);

    private Vector128<byte> EncryptBlock(Vector128<byte> block) =>
        Path == AesGcmPath.Portable ? EncryptBlockPortable(block) : EncryptBlockAccelerated(block);

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _pool.Return(_secret);
        DisposePortable();
    }
}
