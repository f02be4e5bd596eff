using System.Security.Cryptography;

namespace Bufferless.Crypto.Aead;

// PLACEHOLDER: one-shot platform ChaCha20-Poly1305 until the streaming implementation lands. Replaced wholesale.
internal sealed class ChaCha20Poly1305Aead : RecordAead
{
    private readonly ChaCha20Poly1305 _aes;
    private readonly AeadAlgorithm _alg;

    private ChaCha20Poly1305Aead(ReadOnlySpan<byte> key)
    {
        _alg = AeadAlgorithm.ChaCha20Poly1305;
        _aes = new ChaCha20Poly1305(key);
    }

    public static RecordAead Create(ReadOnlySpan<byte> key) => new ChaCha20Poly1305Aead(key);
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
