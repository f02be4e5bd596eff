using System.Security.Cryptography;
using Bufferless.Crypto.Aead;

namespace Bufferless.Tls.KeySchedule;

/// <summary>What a TLS 1.3 cipher suite fixes: the record AEAD and the key-schedule hash (RFC 8446 §B.4).</summary>
internal readonly record struct CipherSuiteInfo(TlsCipherSuite Suite, AeadAlgorithm Aead, HashAlgorithmName Hash, int HashLength)
{
    public const int MaxHashLength = 48;

    public int KeyLength => Aead.KeySize();

    public static bool TryGet(TlsCipherSuite suite, out CipherSuiteInfo info)
    {
        switch (suite)
        {
            case TlsCipherSuite.Aes128GcmSha256:
                info = new(suite, AeadAlgorithm.Aes128Gcm, HashAlgorithmName.SHA256, 32);
                return true;
            case TlsCipherSuite.Aes256GcmSha384:
                info = new(suite, AeadAlgorithm.Aes256Gcm, HashAlgorithmName.SHA384, 48);
                return true;
            case TlsCipherSuite.ChaCha20Poly1305Sha256:
                info = new(suite, AeadAlgorithm.ChaCha20Poly1305, HashAlgorithmName.SHA256, 32);
                return true;
            default:
                info = default;
                return false;
        }
    }

    public static CipherSuiteInfo Get(TlsCipherSuite suite) =>
        TryGet(suite, out var info) ? info : throw new ArgumentOutOfRangeException(nameof(suite));

    /// <summary>Hash of the empty string, the context of Derive-Secret(., "derived", "").</summary>
    public void HashEmpty(Span<byte> destination)
    {
        using var hash = IncrementalHash.CreateHash(Hash);
        hash.GetHashAndReset(destination);
    }
}
