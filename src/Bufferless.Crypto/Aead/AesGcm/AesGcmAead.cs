using System.Security.Cryptography;

namespace Bufferless.Crypto.Aead;

// PLACEHOLDER: one-shot platform AES-GCM until the streaming implementation lands. Replaced wholesale.
internal sealed class AesGcmAead : RecordAead
{
    private readonly AesGcm _aes;
    private readonly AeadAlgorithm _alg;

    private AesGcmAead(ReadOnlySpan<byte> key)
    {
        _alg = key.Length == 16 ? AeadAlgorithm.Aes128Gcm : key.Length == 32 ? AeadAlgorithm.Aes256Gcm : throw new ArgumentException("AES-GCM key is 16 or 32 bytes");
        _aes = new AesGcm(key, AeadAlgorithmInfo.TagSize);
    }

    public static RecordAead Create(ReadOnlySpan<byte> key) => new AesGcmAead(key);
    public override AeadAlgorithm Algorithm => _alg;

    public override void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> body)
        => _aes.Encrypt(nonce, plaintext, body[..plaintext.Length], body.Slice(plaintext.Length, AeadAlgorithmInfo.TagSize), aad);

    public override bool Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> body, Span<byte> plaintext)
    {
        int n = body.Length - AeadAlgorithmInfo.TagSize;
        if (n < 0) return false;
        try { _aes.Decrypt(nonce, body[..n], body[n..], plaintext[..n], aad); return true; }
        catch (AuthenticationTagMismatchException) { return false; }
    }

    public override void ApplyKeystream(ReadOnlySpan<byte> nonce, long offset, ReadOnlySpan<byte> input, Span<byte> output) => throw new NotSupportedException();
    public override RecordOpener CreateOpener() => throw new NotSupportedException();
    protected override void Dispose(bool disposing) => _aes.Dispose();
}
