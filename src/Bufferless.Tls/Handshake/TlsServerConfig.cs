using System.Security.Cryptography;
using Bufferless.Crypto.KeyExchange;

namespace Bufferless.Tls;

/// <summary>Receives every secret the handshake derives, in NSS key-log terms (label, client random, secret).</summary>
public delegate void TlsKeyLogCallback(string label, ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> secret);

/// <summary>
/// Server settings, shareable between connections (treat as immutable once in use). Everything that later
/// features need a hook for lives here: certificate choice, ALPN, key log.
/// </summary>
public sealed class TlsServerConfig
{
    /// <summary>Certificates to choose from; the first whose key fits the client's signature_algorithms wins.</summary>
    public IList<TlsCertificate> Certificates { get; init; } = new List<TlsCertificate>();

    /// <summary>Cipher suites in server preference order.</summary>
    public IReadOnlyList<TlsCipherSuite> CipherSuites { get; init; } =
        [TlsCipherSuite.Aes128GcmSha256, TlsCipherSuite.Aes256GcmSha384, TlsCipherSuite.ChaCha20Poly1305Sha256];

    /// <summary>Key-exchange groups in server preference order. A group the client sent a share for is preferred to a HelloRetryRequest.</summary>
    public IReadOnlyList<NamedGroup> Groups { get; init; } = [NamedGroup.X25519, NamedGroup.Secp256r1, NamedGroup.Secp384r1];

    /// <summary>ALPN protocols in server preference order; null to ignore the client's list.</summary>
    public IReadOnlyList<string>? ApplicationProtocols { get; init; }

    /// <summary>
    /// RFC 8449: the largest protected record (inner plaintext including the content type) this server accepts,
    /// sent when the client offers record_size_limit. 64..16385.
    /// </summary>
    public int RecordSizeLimit { get; init; } = (1 << 14) + 1;

    /// <summary>Called with each derived secret (for SSLKEYLOGFILE-style logging). Null by default.</summary>
    public TlsKeyLogCallback? KeyLog { get; init; }

    /// <summary>Records sealed under one write key before the engine sends its own KeyUpdate (RFC 8446 §5.5).</summary>
    public ulong KeyUpdateThreshold { get; init; } = Records.TlsRecordLimits.DefaultKeyUpdateThreshold;

    /// <summary>Bytes of rejected 0-RTT data the server skips before giving up (RFC 8446 §4.2.10's max_early_data_size role).</summary>
    public int MaxEarlyDataSkip { get; init; } = 1 << 16;

    // ---- injection points for known-answer tests (internal) ----

    /// <summary>Fills random bytes (server random). Default: the OS CSPRNG.</summary>
    internal Action<Span<byte>> Random { get; init; } = RandomNumberGenerator.Fill;

    /// <summary>Resolves a key agreement for a group, or null when not available.</summary>
    internal Func<NamedGroup, KeyAgreement?> KeyAgreements { get; init; } =
        group => KeyAgreement.IsSupported(group) ? KeyAgreement.Get(group) : null;

    /// <summary>A fixed ephemeral private key per group (RFC 8448 reproduction); null means fresh keys.</summary>
    internal Func<NamedGroup, byte[]?>? FixedServerPrivateKey { get; init; }

    /// <summary>Raw supported_groups list to advertise in EncryptedExtensions (RFC 8446 §4.2.7 allows it; RFC 8448 shows it). Empty: not sent.</summary>
    internal ushort[] AdvertisedGroups { get; init; } = [];
}
