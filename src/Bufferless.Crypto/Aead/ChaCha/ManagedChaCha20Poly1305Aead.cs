using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Bufferless.Crypto.Memory;

namespace Bufferless.Crypto.Aead;

/// <summary>
/// ChaCha20-Poly1305 (RFC 8439 §2.8) in managed code, streaming and seekable: <see cref="ChaChaPath.Wide"/>
/// (AVX-512) or <see cref="ChaChaPath.Portable"/>, or <see cref="ChaChaPath.Hybrid"/> (one-call Seal/Open in
/// libcrypto, the opener's Poly1305 in libcrypto's EVP_MAC, ChaCha20 here). One pinned state per key for the
/// one-call operations and one per opener; nothing is allocated per record or per piece.
/// </summary>
/// <remarks>
/// Per-path figures for a 16 KiB record fed in 1448-byte pieces: `taskset -c 1 dotnet run -c Release --project
/// bench/Bufferless.Benchmarks -- --filter '*ChaChaOpenerPathBenchmarks*' --job short` (docs/BENCHMARKS.md section S4:
/// Hybrid 5.95 us, Wide 6.55 us, libcrypto EVP 8.19 us; `openssl speed -evp chacha20-poly1305` 4.41 us). What is left is
/// Poly1305: libcrypto's takes ~1.3 us for 16 KiB in one call and ~1.75 us in 12 calls, the wide ChaCha20 ~3.1-3.3 us
/// (thread-CPU-time harness outside the tree, an indication; docs/BENCHMARKS.md S3.1). A Poly1305 on AVX-512 IFMA of our
/// own (a C prototype outside the tree; .NET 10 exposes no IFMA) was no faster than libcrypto's, so reaching 0.9x of
/// `openssl speed` would need ChaCha20 and Poly1305 stitched in one native loop.
/// </remarks>
internal sealed unsafe class ManagedChaCha20Poly1305Aead : RecordAead
{
    private const int TagSize = AeadAlgorithmInfo.TagSize;
    private const int BlockSize = ChaCha20Core.BlockSize;

    // State and key share one pinned block: the GC never leaves a stale copy behind, and returning it zeroes both.
    private readonly SecretBlockPool _pool;
    private readonly SecretBlock _block;
    private readonly ChaChaPolyState* _state;
    private readonly bool _wide;
    private readonly RecordAead? _whole; // Hybrid: libcrypto for one-call Seal and Open
    private bool _disposed;

    /// <param name="pool">Where state and key live (tests give their own, to look at the block after Dispose).</param>
    public ManagedChaCha20Poly1305Aead(ReadOnlySpan<byte> key, ChaChaPath path, RecordAead? whole = null, SecretBlockPool? pool = null)
    {
        if (key.Length != ChaCha20Poly1305Aead.KeySize)
            throw new ArgumentException("a ChaCha20-Poly1305 key is 32 bytes", nameof(key));
        Path = whole is null ? path : ChaChaPath.Hybrid;
        _whole = whole;
        _wide = path == ChaChaPath.Wide;
        _pool = pool ?? ChaChaPolyState.Pool;
        _state = ChaChaPolyState.Allocate(_pool, out _block);
        key.CopyTo(new Span<byte>(_block.Pointer + ChaChaPolyState.KeyOffset, ChaCha20Poly1305Aead.KeySize));
    }

    private ReadOnlySpan<byte> Key => new(_block.Pointer + ChaChaPolyState.KeyOffset, ChaCha20Poly1305Aead.KeySize);

    public ChaChaPath Path { get; }

    public override AeadAlgorithm Algorithm => AeadAlgorithm.ChaCha20Poly1305;

    /// <summary>The pinned secret block (per-record state, then the key), for tests that check <see cref="Dispose"/> zeroes it.</summary>
    internal ReadOnlySpan<byte> SecretsForTest => _block.Span;

    /// <summary>The key as kept in the block, for tests.</summary>
    internal ReadOnlySpan<byte> KeyForTest => Key;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> body)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ChaCha20Poly1305Aead.CheckNonce(nonce);
        if (body.Length < plaintext.Length + TagSize)
            throw new ArgumentException("body needs plaintext.Length + 16 bytes", nameof(body));
        if (_whole is not null)
        {
            _whole.Seal(nonce, aad, plaintext, body);
            return;
        }
        _state->Start(Key, nonce, aad, _wide, plaintext.Length);
        _state->Crypt(plaintext, body, decrypt: false);
        fixed (byte* tag = body.Slice(plaintext.Length, TagSize))
            _state->ComputeTag(tag);
        ChaChaPolyState.Clear(_state);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override bool Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> body, Span<byte> plaintext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ChaCha20Poly1305Aead.CheckNonce(nonce);
        if (_whole is not null)
            return _whole.Open(nonce, aad, body, plaintext);
        int n = body.Length - TagSize;
        if (n < 0)
            return false;
        if (plaintext.Length < n)
            throw new ArgumentException("plaintext needs body.Length - 16 bytes", nameof(plaintext));
        Span<byte> received = stackalloc byte[TagSize];
        body[n..].CopyTo(received); // before an in-place decryption could touch it
        Span<byte> expected = stackalloc byte[TagSize];
        _state->Start(Key, nonce, aad, _wide, n);
        _state->Crypt(body[..n], plaintext, decrypt: true);
        fixed (byte* tag = expected)
            _state->ComputeTag(tag);
        ChaChaPolyState.Clear(_state);
        bool ok = CryptographicOperations.FixedTimeEquals(expected, received);
        CryptographicOperations.ZeroMemory(expected);
        if (!ok)
            CryptographicOperations.ZeroMemory(plaintext[..n]);
        return ok;
    }

    public override void ApplyKeystream(ReadOnlySpan<byte> nonce, long offset, ReadOnlySpan<byte> input, Span<byte> output)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ChaCha20Poly1305Aead.CheckNonce(nonce);
        if (output.Length < input.Length)
            throw new ArgumentException("output is shorter than input", nameof(output));
        // RFC 8439 §2.8: the payload starts at block counter 1 (block 0 makes the Poly1305 key); the counter is
        // 32 bits, so a record may span at most 2^32 - 1 blocks.
        const long Limit = (long)uint.MaxValue * BlockSize;
        if (offset < 0 || offset > Limit - input.Length)
            throw new ArgumentOutOfRangeException(nameof(offset));
        _state->SeekKeystream(Key, nonce, offset, _wide);
        _state->XorKeystream(input, output);
        ChaChaPolyState.Clear(_state);
    }

    public override RecordOpener CreateOpener()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new Opener(this);
    }

    protected override void Dispose(bool disposing)
    {
        if (_disposed)
            return;
        _disposed = true;
        _whole?.Dispose();
        _pool.Return(_block); // zeroes state and key
    }

    /// <summary>
    /// Streaming opener: ciphertext is MACed and decrypted as it comes (keystream and Poly1305 blocks carry over
    /// between pieces inside the state); the 16 tag bytes are collected, possibly split, and compared in constant time.
    /// </summary>
    internal sealed class Opener : RecordOpener
    {
        private readonly ManagedChaCha20Poly1305Aead _aead;
        private readonly SecretBlock _block;
        private readonly ChaChaPolyState* _state;
        private readonly byte[] _tag = new byte[TagSize];
        private readonly Poly1305Mac? _mac; // Hybrid: Poly1305 in libcrypto
        private int _ciphertextRemaining;
        private int _tagFilled;
        private bool _active;
        private bool _disposed;

        public Opener(ManagedChaCha20Poly1305Aead aead)
        {
            _aead = aead;
            _state = ChaChaPolyState.Allocate(aead._pool, out _block);
            if (aead.Path == ChaChaPath.Hybrid)
                _mac = Poly1305Mac.Create();
        }

        internal ReadOnlySpan<byte> StateForTest => _block.Span;

        public override int Remaining => _active ? _ciphertextRemaining + TagSize - _tagFilled : 0;

        public override void Begin(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, int ciphertextLength)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ObjectDisposedException.ThrowIf(_aead._disposed, _aead);
            ChaCha20Poly1305Aead.CheckNonce(nonce);
            ArgumentOutOfRangeException.ThrowIfNegative(ciphertextLength);
            _state->Start(_aead.Key, nonce, aad, _aead._wide, ciphertextLength, _mac is null ? IntPtr.Zero : _mac.Context);
            _ciphertextRemaining = ciphertextLength;
            _tagFilled = 0;
            _active = true;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override int Update(ReadOnlySpan<byte> body, Span<byte> plaintext)
        {
            int ciphertext = CiphertextInPiece(_active, body, plaintext, _ciphertextRemaining);
            // Tag bytes first: with in-place use they follow the ciphertext and are never overwritten, but copying
            // them before decrypting keeps that true for any caller.
            ReadOnlySpan<byte> tagBytes = body[ciphertext..];
            tagBytes.CopyTo(_tag.AsSpan(_tagFilled));
            _tagFilled += tagBytes.Length;
            if (ciphertext > 0)
            {
                _state->Crypt(body[..ciphertext], plaintext, decrypt: true);
                _ciphertextRemaining -= ciphertext;
            }
            return ciphertext;
        }

        public override bool Finish()
        {
            if (!_active)
                return false;
            _active = false;
            bool complete = _ciphertextRemaining == 0 && _tagFilled == TagSize;
            Span<byte> expected = stackalloc byte[TagSize];
            fixed (byte* tag = expected)
                _state->ComputeTag(tag);
            ChaChaPolyState.Clear(_state);
            bool ok = CryptographicOperations.FixedTimeEquals(expected, _tag);
            CryptographicOperations.ZeroMemory(expected);
            CryptographicOperations.ZeroMemory(_tag);
            return ok && complete;
        }

        protected override void Dispose(bool disposing)
        {
            if (_disposed)
                return;
            _active = false;
            _disposed = true;
            _aead._pool.Return(_block); // zeroes the state
            CryptographicOperations.ZeroMemory(_tag);
            if (disposing)
                _mac?.Dispose();
        }
    }
}
