namespace Bufferless.Tls;

/// <summary>RFC 8446 §5.1 ContentType.</summary>
public enum TlsContentType : byte
{
    Invalid = 0,
    ChangeCipherSpec = 20,
    Alert = 21,
    Handshake = 22,
    ApplicationData = 23,
}

/// <summary>RFC 8446 §4 HandshakeType.</summary>
public enum TlsHandshakeType : byte
{
    HelloRequest = 0,
    ClientHello = 1,
    ServerHello = 2,
    NewSessionTicket = 4,
    EndOfEarlyData = 5,
    EncryptedExtensions = 8,
    Certificate = 11,
    /// <summary>TLS 1.2 only (RFC 5246 §7.4.3).</summary>
    ServerKeyExchange = 12,
    CertificateRequest = 13,
    /// <summary>TLS 1.2 only (RFC 5246 §7.4.5).</summary>
    ServerHelloDone = 14,
    CertificateVerify = 15,
    /// <summary>TLS 1.2 only (RFC 5246 §7.4.7).</summary>
    ClientKeyExchange = 16,
    Finished = 20,
    KeyUpdate = 24,
    MessageHash = 254,
}

/// <summary>RFC 8446 §6 AlertDescription (plus RFC 7301 no_application_protocol).</summary>
public enum TlsAlertDescription : byte
{
    CloseNotify = 0,
    UnexpectedMessage = 10,
    BadRecordMac = 20,
    RecordOverflow = 22,
    HandshakeFailure = 40,
    BadCertificate = 42,
    UnsupportedCertificate = 43,
    CertificateRevoked = 44,
    CertificateExpired = 45,
    CertificateUnknown = 46,
    IllegalParameter = 47,
    UnknownCa = 48,
    AccessDenied = 49,
    DecodeError = 50,
    DecryptError = 51,
    ProtocolVersion = 70,
    InsufficientSecurity = 71,
    InternalError = 80,
    InappropriateFallback = 86,
    UserCanceled = 90,
    /// <summary>RFC 5246 §7.2.2: always a warning; the answer to a renegotiation attempt.</summary>
    NoRenegotiation = 100,
    MissingExtension = 109,
    UnsupportedExtension = 110,
    UnrecognizedName = 112,
    BadCertificateStatusResponse = 113,
    UnknownPskIdentity = 115,
    CertificateRequired = 116,
    NoApplicationProtocol = 120,
}

/// <summary>TLS 1.3 cipher suites (RFC 8446 §B.4) and the TLS 1.2 ECDHE AEAD suites (RFC 5289, RFC 7905).</summary>
public enum TlsCipherSuite : ushort
{
    None = 0,
    Aes128GcmSha256 = 0x1301,
    Aes256GcmSha384 = 0x1302,
    ChaCha20Poly1305Sha256 = 0x1303,

    /// <summary>TLS 1.2: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (RFC 5289).</summary>
    EcdheEcdsaAes128GcmSha256 = 0xC02B,
    /// <summary>TLS 1.2: TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (RFC 5289).</summary>
    EcdheEcdsaAes256GcmSha384 = 0xC02C,
    /// <summary>TLS 1.2: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (RFC 5289).</summary>
    EcdheRsaAes128GcmSha256 = 0xC02F,
    /// <summary>TLS 1.2: TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (RFC 5289).</summary>
    EcdheRsaAes256GcmSha384 = 0xC030,
    /// <summary>TLS 1.2: TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 (RFC 7905).</summary>
    EcdheRsaChaCha20Poly1305Sha256 = 0xCCA8,
    /// <summary>TLS 1.2: TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 (RFC 7905).</summary>
    EcdheEcdsaChaCha20Poly1305Sha256 = 0xCCA9,
}

/// <summary>Signalling cipher suite values (never negotiated).</summary>
internal static class TlsScsv
{
    /// <summary>RFC 5746 §3.3 TLS_EMPTY_RENEGOTIATION_INFO_SCSV.</summary>
    public const ushort EmptyRenegotiationInfo = 0x00FF;
    /// <summary>RFC 7507 §2 TLS_FALLBACK_SCSV.</summary>
    public const ushort Fallback = 0x5600;
}

/// <summary>RFC 8446 §4.2.3 SignatureScheme (the ones Bufferless names; others round-trip as numbers).</summary>
public enum TlsSignatureScheme : ushort
{
    None = 0,
    RsaPkcs1Sha256 = 0x0401,
    RsaPkcs1Sha384 = 0x0501,
    RsaPkcs1Sha512 = 0x0601,
    EcdsaSecp256r1Sha256 = 0x0403,
    EcdsaSecp384r1Sha384 = 0x0503,
    EcdsaSecp521r1Sha512 = 0x0603,
    RsaPssRsaeSha256 = 0x0804,
    RsaPssRsaeSha384 = 0x0805,
    RsaPssRsaeSha512 = 0x0806,
    Ed25519 = 0x0807,
    RsaPssPssSha256 = 0x0809,
}

/// <summary>Extension code points the server reads or writes.</summary>
public enum TlsExtensionType : ushort
{
    ServerName = 0,
    SupportedGroups = 10,
    EcPointFormats = 11,
    SignatureAlgorithms = 13,
    ApplicationLayerProtocolNegotiation = 16,
    ExtendedMasterSecret = 23,
    RecordSizeLimit = 28,
    SessionTicket = 35,
    PreSharedKey = 41,
    EarlyData = 42,
    SupportedVersions = 43,
    Cookie = 44,
    PskKeyExchangeModes = 45,
    SignatureAlgorithmsCert = 50,
    CertificateAuthorities = 47,
    KeyShare = 51,
    RenegotiationInfo = 0xFF01,
}

/// <summary>Protocol version code points (<see cref="TlsServerConnection.NegotiatedVersion"/>).</summary>
public static class TlsVersion
{
    public const ushort Tls12 = 0x0303;
    public const ushort Tls13 = 0x0304;
}
