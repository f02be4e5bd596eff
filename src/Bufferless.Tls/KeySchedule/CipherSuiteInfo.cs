using System.Security.Cryptography;
using Bufferless.Crypto.Aead;
using Bufferless.Crypto.Hash;

namespace Bufferless.Tls.KeySchedule;

/// <summary>How a TLS 1.2 suite authenticates the ECDHE parameters (RFC 8422 §2).</summary>
internal enum Tls12Authentication : byte
{
    None,
    Ecdsa,
    Rsa,
}

/// <summary>
/// What a cipher suite fixes: the record AEAD and the key-schedule hash (RFC 8446 §B.4), and for TLS 1.2 suites
/// the PRF hash, the authentication, and the record nonce layout (RFC 5288 §3: 4-byte salt and 8-byte explicit
/// nonce for AES-GCM; RFC 7905 §2: a 12-byte IV XORed with the sequence number for ChaCha20-Poly1305).
/// </summary>
internal readonly record struct CipherSuiteInfo(TlsCipherSuite Suite, AeadAlgorithm Aead, HashAlgorithmName Hash, int HashLength,
    bool IsTls12 = false, Tls12Authentication Authentication = Tls12Authentication.None)
{
    public const int MaxHashLength = 48;

    public int KeyLength => Aead.KeySize();

    /// <summary>The key-schedule hash for <see cref="Bufferless.Crypto.Hash"/> (SHA-384 for the 48-byte suites, else SHA-256).</summary>
    public Sha2Kind HashKind => HashLength == 48 ? Sha2Kind.Sha384 : Sha2Kind.Sha256;

    /// <summary>TLS 1.2: IV bytes from the key block (4 for GCM, 12 for ChaCha20-Poly1305). TLS 1.3: 12.</summary>
    public int FixedIvLength => IsTls12 && Aead != AeadAlgorithm.ChaCha20Poly1305 ? 4 : 12;

    /// <summary>TLS 1.2 AES-GCM carries 8 nonce bytes in each record (RFC 5288 §3); everything else none.</summary>
    public int ExplicitNonceLength => IsTls12 && Aead != AeadAlgorithm.ChaCha20Poly1305 ? 8 : 0;

    public static bool TryGet(TlsCipherSuite suite, out CipherSuiteInfo info)
    {
        const Tls12Authentication Ecdsa = Tls12Authentication.Ecdsa, Rsa = Tls12Authentication.Rsa;
        info = suite switch
        {
            TlsCipherSuite.Aes128GcmSha256 => new(suite, AeadAlgorithm.Aes128Gcm, HashAlgorithmName.SHA256, 32),
            TlsCipherSuite.Aes256GcmSha384 => new(suite, AeadAlgorithm.Aes256Gcm, HashAlgorithmName.SHA384, 48),
            TlsCipherSuite.ChaCha20Poly1305Sha256 => new(suite, AeadAlgorithm.ChaCha20Poly1305, HashAlgorithmName.SHA256, 32),
            TlsCipherSuite.EcdheEcdsaAes128GcmSha256 => new(suite, AeadAlgorithm.Aes128Gcm, HashAlgorithmName.SHA256, 32, true, Ecdsa),
            TlsCipherSuite.EcdheEcdsaAes256GcmSha384 => new(suite, AeadAlgorithm.Aes256Gcm, HashAlgorithmName.SHA384, 48, true, Ecdsa),
            TlsCipherSuite.EcdheEcdsaChaCha20Poly1305Sha256 => new(suite, AeadAlgorithm.ChaCha20Poly1305, HashAlgorithmName.SHA256, 32, true, Ecdsa),
            TlsCipherSuite.EcdheRsaAes128GcmSha256 => new(suite, AeadAlgorithm.Aes128Gcm, HashAlgorithmName.SHA256, 32, true, Rsa),
            TlsCipherSuite.EcdheRsaAes256GcmSha384 => new(suite, AeadAlgorithm.Aes256Gcm, HashAlgorithmName.SHA384, 48, true, Rsa),
            TlsCipherSuite.EcdheRsaChaCha20Poly1305Sha256 => new(suite, AeadAlgorithm.ChaCha20Poly1305, HashAlgorithmName.SHA256, 32, true, Rsa),
            _ => default,
        };
        return info.Suite != TlsCipherSuite.None;
    }

    public static CipherSuiteInfo Get(TlsCipherSuite suite) =>
        TryGet(suite, out var info) ? info : throw new ArgumentOutOfRangeException(nameof(suite));

    /// <summary>Hash of the empty string, the context of Derive-Secret(., "derived", "").</summary>
    public void HashEmpty(Span<byte> destination) => Sha2.Empty(HashKind).CopyTo(destination);
}
