using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bufferless.Crypto;
using Bufferless.Crypto.KeyExchange;

namespace Bufferless.Tls;

/// <summary>Whether the server asks for a client certificate (mTLS).</summary>
public enum TlsClientAuth
{
    None,
    /// <summary>CertificateRequest is sent; a client without a certificate is still accepted. A certificate that is sent must verify.</summary>
    Request,
    /// <summary>A verified client certificate is required (RFC 8446 certificate_required; TLS 1.2 handshake_failure).</summary>
    Require,
}

/// <summary>Receives every secret the handshake derives, in NSS key-log terms (label, client random, secret).</summary>
public delegate void TlsKeyLogCallback(string label, ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> secret);

/// <summary>
/// Server settings, shareable between connections: immutable once in use. To reload (new certificates, ticket keys),
/// build a new instance and hand it to new connections (the proxy swaps its reference on SIGHUP); connections
/// already running keep the instance they started with.
/// </summary>
public sealed class TlsServerConfig
{
    /// <summary>
    /// Certificates to choose from (RFC 6066 SNI): those whose <see cref="TlsCertificate.Names"/> match the client's
    /// server_name exactly, else by wildcard, else the defaults (<see cref="DefaultCertificates"/>, or every
    /// certificate when that is null). Among candidates ECDSA keys come first, then RSA; the first whose key fits the
    /// client's signature_algorithms (and, in TLS 1.2, an offered suite) wins.
    /// </summary>
    public IList<TlsCertificate> Certificates { get; init; } = new List<TlsCertificate>();

    /// <summary>Certificates used when the client sends no server_name or one no certificate matches; null = all of <see cref="Certificates"/>.</summary>
    public IList<TlsCertificate>? DefaultCertificates { get; init; }

    /// <summary>
    /// RFC 6066 §3: when the client names a host no certificate matches, abort with a fatal unrecognized_name alert
    /// instead of continuing with a default certificate.
    /// </summary>
    public bool RejectUnknownServerName { get; init; }

    /// <summary>Negotiate TLS 1.2 (RFC 5246) with clients that do not offer TLS 1.3. Nothing older is ever negotiated.</summary>
    public bool AllowTls12 { get; init; } = true;

    /// <summary>TLS 1.2 suites in server preference order (ECDHE with AEAD only). Certificate key type is chosen first (ECDSA preferred).</summary>
    public IReadOnlyList<TlsCipherSuite> Tls12CipherSuites { get; init; } =
    [
        TlsCipherSuite.EcdheEcdsaAes128GcmSha256, TlsCipherSuite.EcdheEcdsaAes256GcmSha384, TlsCipherSuite.EcdheEcdsaChaCha20Poly1305Sha256,
        TlsCipherSuite.EcdheRsaAes128GcmSha256, TlsCipherSuite.EcdheRsaAes256GcmSha384, TlsCipherSuite.EcdheRsaChaCha20Poly1305Sha256,
    ];

    /// <summary>Keys for stateless session tickets (TLS 1.3 PSK and TLS 1.2 RFC 5077); null = no tickets issued or accepted.</summary>
    public TlsTicketKeys? TicketKeys { get; init; }

    /// <summary>How long a ticket is accepted after it was issued (RFC 8446 §4.6.1: at most 7 days).</summary>
    public TimeSpan TicketLifetime { get; init; } = TimeSpan.FromHours(2);

    /// <summary>
    /// TLS 1.3: queue the NewSessionTicket right after the server Finished (RFC 8446 §4.6.1 allows it when no client
    /// certificate is requested), so the whole server output of the handshake is one flight (the packet engine's
    /// preference). Otherwise the ticket follows the client's Finished.
    /// </summary>
    public bool TicketWithServerFlight { get; init; }

    /// <summary>Ask for or require a client certificate (mTLS), verified against <see cref="ClientCertificateAuthorities"/>.</summary>
    public TlsClientAuth ClientAuth { get; init; }

    /// <summary>Trust anchors (and optionally intermediates) for client certificates. Required when <see cref="ClientAuth"/> is not None.</summary>
    public X509Certificate2Collection? ClientCertificateAuthorities { get; init; }

    /// <summary>Check client certificate revocation (online). Off by default.</summary>
    public X509RevocationMode ClientCertificateRevocation { get; init; } = X509RevocationMode.NoCheck;

    /// <summary>The clock for ticket ages and certificate validity, read once per handshake. Tests inject their own.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Cipher suites in server preference order.</summary>
    public IReadOnlyList<TlsCipherSuite> CipherSuites { get; init; } =
        [TlsCipherSuite.Aes128GcmSha256, TlsCipherSuite.Aes256GcmSha384, TlsCipherSuite.ChaCha20Poly1305Sha256];

    /// <summary>
    /// Key-exchange groups in server preference order. A group the client sent a share for is preferred to a
    /// HelloRetryRequest. The post-quantum hybrid X25519MLKEM768 comes first; it is TLS 1.3 only.
    /// </summary>
    public IReadOnlyList<NamedGroup> Groups { get; init; } = [NamedGroup.X25519MLKEM768, NamedGroup.X25519, NamedGroup.Secp256r1, NamedGroup.Secp384r1];

    /// <summary>ALPN protocols in server preference order (RFC 7301 §3.2); null (the default) ignores the client's list.</summary>
    public IReadOnlyList<string>? ApplicationProtocols { get; init; }

    /// <summary>
    /// RFC 8449: the largest protected record (inner plaintext including the content type) this server accepts,
    /// sent when the client offers record_size_limit. 64..16385.
    /// </summary>
    public int RecordSizeLimit { get; init; } = (1 << 14) + 1;

    /// <summary>Called with each derived secret (for SSLKEYLOGFILE-style logging). Null by default.</summary>
    public TlsKeyLogCallback? KeyLog { get => _keyLog; init => _keyLog = value; }

    private TlsKeyLogCallback? _keyLog;

    /// <summary>The same configuration with no key log: for connections that are not the operator's (a warm-up).</summary>
    public TlsServerConfig WithoutKeyLog()
    {
        var copy = (TlsServerConfig)MemberwiseClone();
        copy._keyLog = null;
        return copy;
    }

    /// <summary>Records sealed under one write key before the engine sends its own KeyUpdate (RFC 8446 §5.5).</summary>
    public ulong KeyUpdateThreshold { get; init; } = Records.TlsRecordLimits.DefaultKeyUpdateThreshold;

    /// <summary>Bytes of rejected 0-RTT data the server skips before giving up (RFC 8446 §4.2.10's max_early_data_size role).</summary>
    public int MaxEarlyDataSkip { get; init; } = 1 << 16;

    // ---- injection points for known-answer tests (internal) ----

    /// <summary>Fills random bytes (server random, ticket age_add). Default: the OS CSPRNG through <see cref="RandomBytes"/>.</summary>
    internal Action<Span<byte>> Random { get; init; } = RandomBytes.Fill;

    /// <summary>Resolves a key agreement for a group, or null when not available.</summary>
    internal Func<NamedGroup, KeyAgreement?> KeyAgreements { get; init; } =
        group => KeyAgreement.IsSupported(group) ? KeyAgreement.Get(group) : null;

    /// <summary>A fixed ephemeral private key per group (RFC 8448 reproduction); null means fresh keys.</summary>
    internal Func<NamedGroup, byte[]?>? FixedServerPrivateKey { get; init; }

    /// <summary>Raw supported_groups list to advertise in EncryptedExtensions (RFC 8446 §4.2.7 allows it; RFC 8448 shows it). Empty: not sent.</summary>
    internal ushort[] AdvertisedGroups { get; init; } = [];
}
