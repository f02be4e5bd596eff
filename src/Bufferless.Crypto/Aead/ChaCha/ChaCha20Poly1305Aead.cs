// ChaCha20-Poly1305 (RFC 8439) record protection through the system libcrypto's EVP streaming interface: the
// Evp path, and the one-call Seal/Open of the Hybrid path that RecordAead.Create picks on AVX-512 (ChaChaPath.cs).
//
// Measured on the shared 2-core build machine (Stopwatch loop pinned to one CPU, best of 7 windows, 16 KiB record):
// whole-record Open 4.8 us (about openssl speed -evp); the same record fed to EVP_CipherUpdate in 1408-byte pieces
// (22 whole blocks) 6.8 us and in 1448-byte pieces 8.4 us. So each EVP call costs ~0.17 us, and a piece that ends
// inside a 64-byte block ~0.13 us more. perf puts that time inside libcrypto's ChaCha20 and Poly1305 code (no
// symbols on this build); likely causes, not separated: a 16-block AVX-512 ChaCha20 pass computed in full for each
// call's shorter tail, the IFMA Poly1305 set-up per call, partial blocks on byte-wise paths. The managed opener (ManagedChaCha20Poly1305Aead) keeps unused keystream between
// pieces and calls libcrypto only for Poly1305, which is why streaming goes there.
//
// Contexts are created once per key (seal, open, keystream) and once per opener, then re-armed per record with
// EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, enc), which keeps the key schedule and allocates nothing.
// EVP_CIPHER_CTX_free clears the key material; the managed key copy lives in a pinned array zeroed on dispose.
using System.Buffers.Binary;
using System.Security.Cryptography;
using Bufferless.Crypto.Interop;
using Bufferless.Crypto.Memory;

namespace Bufferless.Crypto.Aead;

internal sealed unsafe class ChaCha20Poly1305Aead : RecordAead
{
    internal const int KeySize = 32;
    private const int TagSize = AeadAlgorithmInfo.TagSize;
    private const int NonceSize = AeadAlgorithmInfo.NonceSize;
    private const int BlockSize = 64;

    // Pinned so that the GC never leaves a stale copy of the key behind when it compacts; returning it zeroes it.
    private static readonly SecretBlockPool s_keyPool = new(KeySize);
    private readonly SecretBlock _key;
    private readonly EvpCipherCtxHandle _seal;
    private readonly EvpCipherCtxHandle _open;
    private readonly EvpCipherCtxHandle _keystream;
    private bool _disposed;

    private ChaCha20Poly1305Aead(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
            throw new ArgumentException("a ChaCha20-Poly1305 key is 32 bytes", nameof(key));
        _key = s_keyPool.Rent();
        key.CopyTo(_key.Span);
        try
        {
            _seal = NewContext(EvpCiphers.ChaCha20Poly1305, _key, encrypt: true);
            _open = NewContext(EvpCiphers.ChaCha20Poly1305, _key, encrypt: false);
            _keystream = NewContext(EvpCiphers.ChaCha20, _key, encrypt: true);
        }
        catch
        {
            Dispose(true);
            throw;
        }
    }

    /// <summary>The implementation chosen for this machine (<see cref="ChaChaPaths.Best"/>).</summary>
    public static RecordAead Create(ReadOnlySpan<byte> key) => Create(key, ChaChaPath.Auto);

    /// <summary>Forces one implementation path (tests and benchmarks).</summary>
    /// <param name="pool">For the managed paths: where state and key live (tests give their own).</param>
    internal static RecordAead Create(ReadOnlySpan<byte> key, ChaChaPath path, SecretBlockPool? pool = null) => ChaChaPaths.Resolve(path) switch
    {
        ChaChaPath.Evp => new ChaCha20Poly1305Aead(key),
        ChaChaPath.Hybrid => new ManagedChaCha20Poly1305Aead(key, ChaChaPath.Wide, new ChaCha20Poly1305Aead(key), pool),
        ChaChaPath p => new ManagedChaCha20Poly1305Aead(key, p, pool: pool),
    };

    public override AeadAlgorithm Algorithm => AeadAlgorithm.ChaCha20Poly1305;

    public override void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> body)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckNonce(nonce);
        if (body.Length < plaintext.Length + TagSize)
            throw new ArgumentException("body needs plaintext.Length + 16 bytes", nameof(body));
        fixed (byte* n = nonce)
        fixed (byte* a = aad)
        fixed (byte* p = plaintext)
        fixed (byte* b = body)
        {
            int outl;
            bool ok = LibCrypto.EVP_CipherInit_ex(_seal, IntPtr.Zero, IntPtr.Zero, null, n, 1) == 1
                && Feed(_seal, null, a, aad.Length)
                && Feed(_seal, b, p, plaintext.Length)
                && LibCrypto.EVP_CipherFinal_ex(_seal, b + plaintext.Length, &outl) == 1 && outl == 0
                && LibCrypto.EVP_CIPHER_CTX_ctrl(_seal, LibCrypto.EVP_CTRL_AEAD_GET_TAG, TagSize, b + plaintext.Length) == 1;
            if (!ok)
                Fail("seal");
        }
    }

    public override bool Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> body, Span<byte> plaintext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckNonce(nonce);
        int n = body.Length - TagSize;
        if (n < 0)
            return false;
        if (plaintext.Length < n)
            throw new ArgumentException("plaintext needs body.Length - 16 bytes", nameof(plaintext));
        Span<byte> tag = stackalloc byte[TagSize];
        body[n..].CopyTo(tag); // before an in-place decryption could touch it
        fixed (byte* iv = nonce)
        fixed (byte* a = aad)
        fixed (byte* c = body)
        fixed (byte* p = plaintext)
        fixed (byte* t = tag)
        {
            int outl;
            if (LibCrypto.EVP_CipherInit_ex(_open, IntPtr.Zero, IntPtr.Zero, null, iv, 0) != 1
                || LibCrypto.EVP_CIPHER_CTX_ctrl(_open, LibCrypto.EVP_CTRL_AEAD_SET_TAG, TagSize, t) != 1
                || !Feed(_open, null, a, aad.Length)
                || !Feed(_open, p, c, n))
            {
                Fail("open");
            }
            byte scratch;
            if (LibCrypto.EVP_CipherFinal_ex(_open, &scratch, &outl) == 1)
                return true;
        }
        LibCrypto.ClearErrors();
        CryptographicOperations.ZeroMemory(plaintext[..n]);
        return false;
    }

    public override void ApplyKeystream(ReadOnlySpan<byte> nonce, long offset, ReadOnlySpan<byte> input, Span<byte> output)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckNonce(nonce);
        if (output.Length < input.Length)
            throw new ArgumentException("output is shorter than input", nameof(output));
        // RFC 8439 §2.8: the payload starts at block counter 1 (block 0 makes the Poly1305 key); the counter is
        // 32 bits, so a record may span at most 2^32 - 1 blocks.
        const long Limit = (long)uint.MaxValue * BlockSize;
        if (offset < 0 || offset > Limit - input.Length)
            throw new ArgumentOutOfRangeException(nameof(offset));
        Span<byte> iv = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(iv, (uint)(1 + offset / BlockSize));
        nonce.CopyTo(iv[4..]);
        int skip = (int)(offset % BlockSize);
        Span<byte> discard = stackalloc byte[BlockSize];
        fixed (byte* v = iv)
        fixed (byte* d = discard)
        fixed (byte* i = input)
        fixed (byte* o = output)
        {
            bool ok = LibCrypto.EVP_CipherInit_ex(_keystream, IntPtr.Zero, IntPtr.Zero, null, v, 1) == 1
                && Feed(_keystream, d, d, skip)
                && Feed(_keystream, o, i, input.Length);
            CryptographicOperations.ZeroMemory(discard);
            if (!ok)
                Fail("keystream");
        }
    }

    public override RecordOpener CreateOpener()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new ChaCha20Poly1305Opener(NewContext(EvpCiphers.ChaCha20Poly1305, _key, encrypt: false));
    }

    protected override void Dispose(bool disposing)
    {
        if (_disposed)
            return;
        _disposed = true;
        _seal?.Dispose();
        _open?.Dispose();
        _keystream?.Dispose();
        s_keyPool.Return(_key);
    }

    internal static void CheckNonce(ReadOnlySpan<byte> nonce)
    {
        // RFC 8446 §5.3 / RFC 8439 §2.8: the per-record nonce is exactly 96 bits.
        if (nonce.Length != NonceSize)
            throw new ArgumentException("the ChaCha20-Poly1305 nonce is 12 bytes", nameof(nonce));
    }

    /// <summary>One EVP_CipherUpdate; a stream cipher returns exactly what it was given. Empty input is a no-op.</summary>
    internal static bool Feed(EvpCipherCtxHandle ctx, byte* output, byte* input, int length)
    {
        if (length == 0)
            return true;
        int outl;
        return LibCrypto.EVP_CipherUpdate(ctx, output, &outl, input, length) == 1 && (output == null || outl == length);
    }

    internal static void Fail(string what)
    {
        LibCrypto.ClearErrors();
        throw new CryptographicException($"libcrypto ChaCha20-Poly1305 {what} failed");
    }

    private static EvpCipherCtxHandle NewContext(IntPtr cipher, SecretBlock key, bool encrypt) =>
        NewContext(cipher, key.Span[..KeySize], encrypt);

    private static EvpCipherCtxHandle NewContext(IntPtr cipher, ReadOnlySpan<byte> key, bool encrypt)
    {
        EvpCipherCtxHandle ctx = LibCrypto.EVP_CIPHER_CTX_new();
        fixed (byte* k = key)
        {
            if (!ctx.IsInvalid && LibCrypto.EVP_CipherInit_ex(ctx, cipher, IntPtr.Zero, k, null, encrypt ? 1 : 0) == 1)
                return ctx;
        }
        ctx.Dispose();
        LibCrypto.ClearErrors();
        throw new CryptographicException("cannot set up a libcrypto cipher context");
    }
}

/// <summary>
/// Streaming opener: ciphertext pieces are decrypted as they come (EVP keeps partial blocks), the 16 tag bytes are
/// collected (they may arrive split) and handed to EVP_DecryptFinal_ex for the constant-time comparison.
/// </summary>
internal sealed unsafe class ChaCha20Poly1305Opener : RecordOpener
{
    private const int TagSize = AeadAlgorithmInfo.TagSize;

    private readonly EvpCipherCtxHandle _ctx;
    private readonly byte[] _tag = new byte[TagSize];
    private int _ciphertextRemaining;
    private int _tagFilled;
    private bool _active;

    internal ChaCha20Poly1305Opener(EvpCipherCtxHandle ctx) => _ctx = ctx;

    public override int Remaining => _active ? _ciphertextRemaining + TagSize - _tagFilled : 0;

    public override void Begin(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, int ciphertextLength)
    {
        ObjectDisposedException.ThrowIf(_ctx.IsClosed, this);
        ChaCha20Poly1305Aead.CheckNonce(nonce);
        ArgumentOutOfRangeException.ThrowIfNegative(ciphertextLength);
        _active = false;
        fixed (byte* n = nonce)
        fixed (byte* a = aad)
        {
            if (LibCrypto.EVP_CipherInit_ex(_ctx, IntPtr.Zero, IntPtr.Zero, null, n, 0) != 1
                || !ChaCha20Poly1305Aead.Feed(_ctx, null, a, aad.Length))
            {
                ChaCha20Poly1305Aead.Fail("begin");
            }
        }
        _ciphertextRemaining = ciphertextLength;
        _tagFilled = 0;
        _active = true;
    }

    public override int Update(ReadOnlySpan<byte> body, Span<byte> plaintext)
    {
        int ciphertext = CiphertextInPiece(_active, body, plaintext, _ciphertextRemaining);
        if (ciphertext > 0)
        {
            fixed (byte* c = body)
            fixed (byte* p = plaintext)
            {
                if (!ChaCha20Poly1305Aead.Feed(_ctx, p, c, ciphertext))
                    ChaCha20Poly1305Aead.Fail("update");
            }
            _ciphertextRemaining -= ciphertext;
        }
        ReadOnlySpan<byte> tagBytes = body[ciphertext..];
        tagBytes.CopyTo(_tag.AsSpan(_tagFilled));
        _tagFilled += tagBytes.Length;
        return ciphertext;
    }

    public override bool Finish()
    {
        if (!_active)
            return false;
        _active = false;
        if (_ciphertextRemaining != 0 || _tagFilled != TagSize)
            return false;
        int outl;
        byte scratch;
        fixed (byte* t = _tag)
        {
            bool ok = LibCrypto.EVP_CIPHER_CTX_ctrl(_ctx, LibCrypto.EVP_CTRL_AEAD_SET_TAG, TagSize, t) == 1
                && LibCrypto.EVP_CipherFinal_ex(_ctx, &scratch, &outl) == 1;
            CryptographicOperations.ZeroMemory(_tag);
            if (!ok)
                LibCrypto.ClearErrors();
            return ok;
        }
    }

    protected override void Dispose(bool disposing)
    {
        _active = false;
        if (disposing)
            _ctx.Dispose();
    }
}

/// <summary>The ciphers fetched once per process from the default provider (never freed: process lifetime).</summary>
internal static class EvpCiphers
{
    private static IntPtr s_chaCha20Poly1305;
    private static IntPtr s_chaCha20;

    public static IntPtr ChaCha20Poly1305 => s_chaCha20Poly1305 != IntPtr.Zero ? s_chaCha20Poly1305 : s_chaCha20Poly1305 = Fetch("ChaCha20-Poly1305");
    public static IntPtr ChaCha20 => s_chaCha20 != IntPtr.Zero ? s_chaCha20 : s_chaCha20 = Fetch("ChaCha20");

    private static IntPtr Fetch(string name)
    {
        // A race fetches twice and leaks one reference to a provider-owned method object: harmless.
        IntPtr cipher = LibCrypto.EVP_CIPHER_fetch(IntPtr.Zero, name, null);
        if (cipher != IntPtr.Zero)
            return cipher;
        LibCrypto.ClearErrors();
        throw new CryptographicException($"libcrypto has no {name}");
    }
}
