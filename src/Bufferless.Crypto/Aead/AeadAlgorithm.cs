namespace Bufferless.Crypto.Aead;

/// <summary>The record-protection AEADs Bufferless speaks (TLS 1.3 and TLS 1.2 AEAD suites only).</summary>
public enum AeadAlgorithm : byte
{
    Aes128Gcm = 1,
    Aes256Gcm = 2,
    ChaCha20Poly1305 = 3,
}

public static class AeadAlgorithmInfo
{
    public const int TagSize = 16;
    public const int NonceSize = 12;

    public static int KeySize(this AeadAlgorithm algorithm) => algorithm switch
    {
        AeadAlgorithm.Aes128Gcm => 16,
        AeadAlgorithm.Aes256Gcm => 32,
        AeadAlgorithm.ChaCha20Poly1305 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}
