using Bufferless.Tls;

namespace Bufferless.Proxy;

/// <summary>The names operators know from OpenSSL and the IANA registry, for log lines.</summary>
internal static class TlsNames
{
    public static string Version(ushort version) => version switch
    {
        0x0304 => "TLSv1.3",
        0x0303 => "TLSv1.2",
        _ => $"0x{version:x4}",
    };

    public static string CipherSuite(TlsCipherSuite suite) => suite switch
    {
        TlsCipherSuite.Aes128GcmSha256 => "TLS_AES_128_GCM_SHA256",
        TlsCipherSuite.Aes256GcmSha384 => "TLS_AES_256_GCM_SHA384",
        TlsCipherSuite.ChaCha20Poly1305Sha256 => "TLS_CHACHA20_POLY1305_SHA256",
        TlsCipherSuite.EcdheEcdsaAes128GcmSha256 => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        TlsCipherSuite.EcdheEcdsaAes256GcmSha384 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        TlsCipherSuite.EcdheRsaAes128GcmSha256 => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        TlsCipherSuite.EcdheRsaAes256GcmSha384 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        TlsCipherSuite.EcdheRsaChaCha20Poly1305Sha256 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        TlsCipherSuite.EcdheEcdsaChaCha20Poly1305Sha256 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        _ => $"0x{(ushort)suite:x4}",
    };
}
