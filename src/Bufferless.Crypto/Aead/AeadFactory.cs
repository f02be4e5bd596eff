namespace Bufferless.Crypto.Aead;

internal static class AeadFactory
{
    public static RecordAead Create(AeadAlgorithm algorithm, ReadOnlySpan<byte> key) => algorithm switch
    {
        AeadAlgorithm.Aes128Gcm or AeadAlgorithm.Aes256Gcm => AesGcmAead.Create(key),
        AeadAlgorithm.ChaCha20Poly1305 => ChaCha20Poly1305Aead.Create(key),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}
