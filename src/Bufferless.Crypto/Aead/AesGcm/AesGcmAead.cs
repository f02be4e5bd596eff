using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;

namespace Bufferless.Crypto.Aead;

/// <summary>
/// AES-128-GCM and AES-256-GCM for TLS records (RFC 8446 §5.2, RFC 5288): 12-byte nonces and 16-byte tags only.
/// Streaming and seekable, on top of <see cref="GcmKey"/>.
/// </summary>
internal sealed class AesGcmAead : RecordAead
{
    private const int TagSize = AeadAlgorithmInfo.TagSize;
    private const int NonceSize = AeadAlgorithmInfo.NonceSize;

    private readonly GcmKey _key;

    private AesGcmAead(ReadOnlySpan<byte> key, AesGcmPath path)
    {
        Algorithm = key.Length switch
        {
            16 => AeadAlgorithm.Aes128Gcm,
            32 => AeadAlgorithm.Aes256Gcm,
            _ => throw new ArgumentException("AES-GCM key is 16 or 32 bytes", nameof(key)),
        };
        _key = new GcmKey(key, path);
    }

    public static RecordAead Create(ReadOnlySpan<byte> key) => new AesGcmAead(key, AesGcmPath.Auto);

    /// <summary>Forces one implementation path (tests and benchmarks).</summary>
    internal static AesGcmAead Create(ReadOnlySpan<byte> key, AesGcmPath path) => new(key, path);

    public override AeadAlgorithm Algorithm { get; }

    internal GcmKey Key => _key;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public override void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> body)
    {
        CheckNonce(nonce);
        if (body.Length < plaintext.Length + TagSize)
            throw new ArgumentException("body must hold the ciphertext and the 16-byte tag", nameof(body));
        _key.Seal(nonce, aad, plaintext, body[..plaintext.Length], body.Slice(plaintext.Length, TagSize));
    }

    /// <summary>GCM is a stream: the two parts go through one GHASH/CTR state, with no gathering copy (<see cref="GcmKey.SealGather"/>).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public override void SealGather(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext,
        ReadOnlySpan<byte> trailer, Span<byte> body)
    {
        CheckNonce(nonce);
        int length = plaintext.Length + trailer.Length;
        if (body.Length < length + TagSize)
            throw new ArgumentException("body must hold the ciphertext and the 16-byte tag", nameof(body));
        _key.SealGather(nonce, aad, plaintext, trailer, body[..length], body.Slice(length, TagSize));
    }

    public override bool Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> body, Span<byte> plaintext)
    {
        CheckNonce(nonce);
        int n = body.Length - TagSize;
        if (n < 0)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            return false;
        }
        if (plaintext.Length < n)
            throw new ArgumentException("plaintext is shorter than the ciphertext", nameof(plaintext));
        if (_key.Open(nonce, aad, body[..n], body[n..], plaintext))
            return true;
        CryptographicOperations.ZeroMemory(plaintext);
        return false;
    }

    public override void ApplyKeystream(ReadOnlySpan<byte> nonce, long offset, ReadOnlySpan<byte> input, Span<byte> output)
    {
        CheckNonce(nonce);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        // SP 800-38D §7.1: the first ciphertext block uses inc32(J0) with J0 = nonce || 1, i.e. counter 2.
        Vector128<byte> counter = default;
        Span<byte> block = MemoryMarshal.CreateSpan(ref GcmState.Bytes(ref counter), 16);
        nonce.CopyTo(block);
        BinaryPrimitives.WriteUInt32BigEndian(block[12..], unchecked((uint)(2 + offset / 16)));
        _key.ApplyKeystream(counter, (int)(offset % 16), input, output);
    }

    public override RecordOpener CreateOpener() => new Opener(_key);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _key.Dispose();
    }

    private static void CheckNonce(ReadOnlySpan<byte> nonce)
    {
        if (nonce.Length != NonceSize)
            throw new ArgumentException("AES-GCM record nonce is 12 bytes", nameof(nonce));
    }

    /// <summary>Streaming decryption of one record at a time; reused across records via <see cref="Begin"/>.</summary>
    internal sealed class Opener : RecordOpener
    {
        private readonly GcmKey _key;
        private GcmState _state;
        private Vector128<byte> _tag;
        private int _tagReceived;
        private int _ciphertextLength;
        private int _ciphertextDone;
        private bool _active;

        public Opener(GcmKey key) => _key = key;

        public override void Begin(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, int ciphertextLength)
        {
            CheckNonce(nonce);
            ArgumentOutOfRangeException.ThrowIfNegative(ciphertextLength);
            _key.Start(ref _state, nonce, aad);
            _tag = default;
            _tagReceived = 0;
            _ciphertextLength = ciphertextLength;
            _ciphertextDone = 0;
            _active = true;
        }

        public override int Update(ReadOnlySpan<byte> body, Span<byte> plaintext)
        {
            int ct = CiphertextInPiece(_active, body, plaintext, _ciphertextLength - _ciphertextDone);
            // Tag bytes first: with in-place use they sit after the ciphertext and are never overwritten, but copying
            // them before decrypting keeps that true for any caller.
            ReadOnlySpan<byte> tagPart = body[ct..];
            if (!tagPart.IsEmpty)
            {
                tagPart.CopyTo(MemoryMarshal.CreateSpan(ref GcmState.Bytes(ref _tag), TagSize)[_tagReceived..]);
                _tagReceived += tagPart.Length;
            }
            if (ct > 0)
            {
                _key.Decrypt(ref _state, body[..ct], plaintext);
                _ciphertextDone += ct;
            }
            return ct;
        }

        public override int Remaining => _active ? _ciphertextLength - _ciphertextDone + TagSize - _tagReceived : 0;

        public override bool Finish()
        {
            if (!_active)
                return false;
            _active = false;
            bool complete = _ciphertextDone == _ciphertextLength && _tagReceived == TagSize;
            Vector128<byte> expected = _key.ComputeTag(ref _state);
            bool ok = CryptographicOperations.FixedTimeEquals(
                MemoryMarshal.CreateReadOnlySpan(ref GcmState.Bytes(ref expected), TagSize),
                MemoryMarshal.CreateReadOnlySpan(ref GcmState.Bytes(ref _tag), TagSize));
            GcmState.Clear(ref _state);
            _tag = default;
            return ok && complete;
        }

        protected override void Dispose(bool disposing)
        {
            GcmState.Clear(ref _state);
            _tag = default;
            _active = false;
        }
    }
}
