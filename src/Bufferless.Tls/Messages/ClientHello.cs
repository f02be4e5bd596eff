using System.Text;
using Bufferless.Crypto.KeyExchange;

namespace Bufferless.Tls.Messages;

/// <summary>One pre_shared_key identity offered by the client (RFC 8446 §4.2.11).</summary>
public readonly record struct TlsPskIdentity(ReadOnlyMemory<byte> Identity, uint ObfuscatedTicketAge);

/// <summary>One key_share entry offered by the client (RFC 8446 §4.2.8).</summary>
public readonly record struct TlsKeyShareEntry(NamedGroup Group, ReadOnlyMemory<byte> KeyExchange);

/// <summary>
/// A parsed and structurally validated ClientHello (RFC 8446 §4.1.2). Unknown extensions and code points are
/// kept as numbers so later layers (SNI routing, ALPN, key log) can see them. Parsing never throws: it returns
/// the alert the RFC names for the first problem found.
/// </summary>
public sealed class ClientHello
{
    public ushort LegacyVersion { get; private init; }
    public ReadOnlyMemory<byte> Random { get; private init; }
    public ReadOnlyMemory<byte> LegacySessionId { get; private init; }
    public IReadOnlyList<ushort> CipherSuites { get; private init; } = [];
    public IReadOnlyList<ushort> SupportedVersions { get; private set; } = [];
    public IReadOnlyList<ushort> SupportedGroups { get; private set; } = [];
    public IReadOnlyList<TlsKeyShareEntry>? KeyShares { get; private set; }
    public IReadOnlyList<ushort> SignatureAlgorithms { get; private set; } = [];
    public IReadOnlyList<ushort>? SignatureAlgorithmsCert { get; private set; }
    public string? ServerName { get; private set; }
    public IReadOnlyList<string>? ApplicationProtocols { get; private set; }
    public IReadOnlyList<byte> PskKeyExchangeModes { get; private set; } = [];
    public int? RecordSizeLimit { get; private set; }
    public bool HasSupportedVersions { get; private set; }
    public bool HasSupportedGroups { get; private set; }
    public bool HasSignatureAlgorithms { get; private set; }
    public bool HasPreSharedKey { get; private set; }
    public bool HasEarlyData { get; private set; }
    public ReadOnlyMemory<byte>? Cookie { get; private set; }

    /// <summary>RFC 7627 extended_master_secret was offered (required for TLS 1.2 here).</summary>
    public bool HasExtendedMasterSecret { get; private set; }

    /// <summary>RFC 5746 renegotiated_connection from renegotiation_info; null when the extension is absent.</summary>
    public ReadOnlyMemory<byte>? RenegotiationInfo { get; private set; }

    /// <summary>RFC 8422 §5.1.2 ec_point_formats; null when absent.</summary>
    public IReadOnlyList<byte>? EcPointFormats { get; private set; }

    /// <summary>RFC 5077 SessionTicket extension: empty when the client asks for a ticket, the ticket when it offers one; null when absent.</summary>
    public ReadOnlyMemory<byte>? SessionTicket { get; private set; }

    /// <summary>RFC 8446 §4.2.11 pre_shared_key identities (empty when absent).</summary>
    public IReadOnlyList<TlsPskIdentity> PskIdentities { get; private set; } = [];

    /// <summary>RFC 8446 §4.2.11 PSK binders, one per identity.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> PskBinders { get; private set; } = [];

    /// <summary>Length of the ClientHello message (4-byte header included) up to the binders list: Truncate(ClientHello) (RFC 8446 §4.2.11.2).</summary>
    public int TruncatedLength { get; private set; }

    /// <summary>The client signalled secure renegotiation (RFC 5746 §3.6: the extension or the SCSV).</summary>
    public bool SignalsSecureRenegotiation => RenegotiationInfo is not null || CipherSuites.Contains(TlsScsv.EmptyRenegotiationInfo);

    /// <summary>Extension types in the order received (unknown ones included).</summary>
    public IReadOnlyList<ushort> ExtensionTypes { get; private set; } = [];

    public bool OffersTls13 => SupportedVersions.Contains(TlsVersion.Tls13);

    /// <summary>
    /// RFC 8446 §4.2.1: with supported_versions the server picks from that list and ignores legacy_version; without it
    /// the client speaks at most legacy_version (RFC 5246 §E.1). Returns 0 when neither 1.3 nor (if allowed) 1.2 fits.
    /// </summary>
    public ushort SelectVersion(bool allowTls12)
    {
        if (HasSupportedVersions)
        {
            if (SupportedVersions.Contains(TlsVersion.Tls13))
                return TlsVersion.Tls13;
            return allowTls12 && SupportedVersions.Contains(TlsVersion.Tls12) ? TlsVersion.Tls12 : (ushort)0;
        }
        return allowTls12 && LegacyVersion >= TlsVersion.Tls12 ? TlsVersion.Tls12 : (ushort)0;
    }

    /// <summary>Parses the body of a ClientHello handshake message (without the 4-byte handshake header).</summary>
    internal static bool TryParse(ReadOnlySpan<byte> body, out ClientHello? hello, out TlsAlertDescription alert)
    {
        hello = null;
        alert = TlsAlertDescription.DecodeError;
        var reader = new TlsReader(body);
        if (!reader.TryReadUInt16(out ushort legacyVersion)
            || !reader.TryReadBytes(32, out ReadOnlySpan<byte> random)
            || !reader.TryReadVector8(out ReadOnlySpan<byte> sessionId)
            || !reader.TryReadVector16(out TlsReader suitesReader)
            || !reader.TryReadVector8(out ReadOnlySpan<byte> compression))
            return false;
        // RFC 8446 §4.1.2: legacy_session_id is at most 32 bytes; cipher_suites is a non-empty list of uint16.
        if (sessionId.Length > 32 || suitesReader.Remaining < 2 || suitesReader.Remaining % 2 != 0 || compression.Length < 1)
            return false;
        var suites = new ushort[suitesReader.Remaining / 2];
        for (int i = 0; i < suites.Length; i++)
            suitesReader.TryReadUInt16(out suites[i]);

        var result = new ClientHello
        {
            LegacyVersion = legacyVersion,
            Random = random.ToArray(),
            LegacySessionId = sessionId.ToArray(),
            CipherSuites = suites,
        };

        // Extensions may be absent only in pre-TLS 1.3 hellos; absence then fails version negotiation.
        if (reader.IsEmpty)
        {
            hello = result;
            return CheckCompression(compression, result, out alert);
        }
        if (!reader.TryReadVector16(out TlsReader extensions) || !reader.ExpectEmpty())
            return false;
        int bodyLength = body.Length;

        var seen = new List<ushort>();
        while (!extensions.IsEmpty)
        {
            if (!extensions.TryReadUInt16(out ushort type) || !extensions.TryReadVector16(out ReadOnlySpan<byte> data))
                return false;
            // RFC 8446 §4.2: there MUST NOT be more than one extension of the same type in a block.
            if (seen.Contains(type))
            {
                alert = TlsAlertDescription.IllegalParameter;
                return false;
            }
            // RFC 8446 §4.2.11: pre_shared_key MUST be the last extension.
            if (seen.Contains((ushort)TlsExtensionType.PreSharedKey))
            {
                alert = TlsAlertDescription.IllegalParameter;
                return false;
            }
            seen.Add(type);
            if (!result.TryParseExtension((TlsExtensionType)type, data, out alert))
                return false;
        }
        result.ExtensionTypes = seen;
        if (result.HasPreSharedKey)
        {
            // pre_shared_key is last, so the binders list ends the message: Truncate() drops it and its length.
            int bindersSize = 2;
            foreach (var binder in result.PskBinders)
                bindersSize += 1 + binder.Length;
            result.TruncatedLength = 4 + bodyLength - bindersSize;
        }
        hello = result;
        return CheckCompression(compression, result, out alert);
    }

    private static bool CheckCompression(ReadOnlySpan<byte> compression, ClientHello hello, out TlsAlertDescription alert)
    {
        alert = TlsAlertDescription.IllegalParameter;
        // RFC 8446 §4.1.2: a TLS 1.3 ClientHello carries exactly one compression method, null;
        // any other value MUST be answered with illegal_parameter.
        if (hello.OffersTls13 && (compression.Length != 1 || compression[0] != 0))
            return false;
        // Older hellos must at least offer null compression.
        return compression.Contains((byte)0);
    }

    private bool TryParseExtension(TlsExtensionType type, ReadOnlySpan<byte> data, out TlsAlertDescription alert)
    {
        alert = TlsAlertDescription.DecodeError;
        var reader = new TlsReader(data);
        switch (type)
        {
            case TlsExtensionType.SupportedVersions:
                HasSupportedVersions = true;
                return TryReadList8Of16(ref reader, out var versions) && Set(versions, v => SupportedVersions = v);
            case TlsExtensionType.SupportedGroups:
                HasSupportedGroups = true;
                return TryReadList16Of16(ref reader, out var groups) && Set(groups, g => SupportedGroups = g);
            case TlsExtensionType.SignatureAlgorithms:
                HasSignatureAlgorithms = true;
                return TryReadList16Of16(ref reader, out var schemes) && Set(schemes, s => SignatureAlgorithms = s);
            case TlsExtensionType.SignatureAlgorithmsCert:
                return TryReadList16Of16(ref reader, out var certSchemes) && Set(certSchemes, s => SignatureAlgorithmsCert = s);
            case TlsExtensionType.KeyShare:
                return TryParseKeyShares(ref reader, out alert);
            case TlsExtensionType.ServerName:
                return TryParseServerName(ref reader, out alert);
            case TlsExtensionType.ApplicationLayerProtocolNegotiation:
                return TryParseAlpn(ref reader);
            case TlsExtensionType.PskKeyExchangeModes:
                if (!reader.TryReadVector8(out ReadOnlySpan<byte> modes) || modes.IsEmpty || !reader.ExpectEmpty())
                    return false;
                PskKeyExchangeModes = modes.ToArray();
                return true;
            case TlsExtensionType.RecordSizeLimit:
                if (!reader.TryReadUInt16(out ushort limit) || !reader.ExpectEmpty())
                    return false;
                // RFC 8449 §4: a value below 64 MUST be answered with illegal_parameter.
                if (limit < 64)
                {
                    alert = TlsAlertDescription.IllegalParameter;
                    return false;
                }
                RecordSizeLimit = limit;
                return true;
            case TlsExtensionType.EarlyData:
                HasEarlyData = true;
                return reader.ExpectEmpty();
            case TlsExtensionType.PreSharedKey:
                HasPreSharedKey = true;
                return TryParsePreSharedKey(ref reader, out alert);
            case TlsExtensionType.ExtendedMasterSecret:
                HasExtendedMasterSecret = true;
                return reader.ExpectEmpty();
            case TlsExtensionType.RenegotiationInfo:
                if (!reader.TryReadVector8(out ReadOnlySpan<byte> renegotiated) || !reader.ExpectEmpty())
                    return false;
                RenegotiationInfo = renegotiated.ToArray();
                return true;
            case TlsExtensionType.EcPointFormats:
                if (!reader.TryReadVector8(out ReadOnlySpan<byte> formats) || formats.IsEmpty || !reader.ExpectEmpty())
                    return false;
                EcPointFormats = formats.ToArray();
                return true;
            case TlsExtensionType.SessionTicket:
                SessionTicket = reader.RemainingBytes.ToArray();
                return true;
            case TlsExtensionType.Cookie:
                if (!reader.TryReadVector16(out ReadOnlySpan<byte> cookie) || cookie.IsEmpty || !reader.ExpectEmpty())
                    return false;
                Cookie = cookie.ToArray();
                return true;
            default:
                return true; // RFC 8446 §4.2: unknown extensions are ignored.
        }
    }

    private static bool Set<T>(T value, Action<T> set)
    {
        set(value);
        return true;
    }

    private static bool TryReadList8Of16(ref TlsReader reader, out ushort[] values)
    {
        values = [];
        if (!reader.TryReadVector8(out TlsReader list) || !reader.ExpectEmpty() || list.Remaining < 2 || list.Remaining % 2 != 0)
            return false;
        values = new ushort[list.Remaining / 2];
        for (int i = 0; i < values.Length; i++)
            list.TryReadUInt16(out values[i]);
        return true;
    }

    private static bool TryReadList16Of16(ref TlsReader reader, out ushort[] values)
    {
        values = [];
        if (!reader.TryReadVector16(out TlsReader list) || !reader.ExpectEmpty() || list.Remaining < 2 || list.Remaining % 2 != 0)
            return false;
        values = new ushort[list.Remaining / 2];
        for (int i = 0; i < values.Length; i++)
            list.TryReadUInt16(out values[i]);
        return true;
    }

    private bool TryParseKeyShares(ref TlsReader reader, out TlsAlertDescription alert)
    {
        alert = TlsAlertDescription.DecodeError;
        if (!reader.TryReadVector16(out TlsReader list) || !reader.ExpectEmpty())
            return false;
        var shares = new List<TlsKeyShareEntry>();
        while (!list.IsEmpty)
        {
            if (!list.TryReadUInt16(out ushort group) || !list.TryReadVector16(out ReadOnlySpan<byte> share) || share.IsEmpty)
                return false;
            // RFC 8446 §4.2.8: clients MUST NOT offer multiple KeyShareEntry values for the same group;
            // servers MAY check and answer illegal_parameter.
            foreach (var existing in shares)
            {
                if ((ushort)existing.Group == group)
                {
                    alert = TlsAlertDescription.IllegalParameter;
                    return false;
                }
            }
            shares.Add(new TlsKeyShareEntry((NamedGroup)group, share.ToArray()));
        }
        KeyShares = shares;
        return true;
    }

    /// <summary>RFC 8446 §4.2.11: identities&lt;7..2^16-1&gt; then binders&lt;33..2^16-1&gt;, one binder (32..255 bytes) per identity.</summary>
    private bool TryParsePreSharedKey(ref TlsReader reader, out TlsAlertDescription alert)
    {
        alert = TlsAlertDescription.DecodeError;
        if (!reader.TryReadVector16(out TlsReader identities) || !reader.TryReadVector16(out TlsReader binders) || !reader.ExpectEmpty())
            return false;
        if (identities.IsEmpty || binders.IsEmpty)
            return false;
        var ids = new List<TlsPskIdentity>();
        while (!identities.IsEmpty)
        {
            if (!identities.TryReadVector16(out ReadOnlySpan<byte> identity) || identity.IsEmpty || !identities.TryReadUInt32(out uint age))
                return false;
            ids.Add(new TlsPskIdentity(identity.ToArray(), age));
        }
        var list = new List<ReadOnlyMemory<byte>>();
        while (!binders.IsEmpty)
        {
            if (!binders.TryReadVector8(out ReadOnlySpan<byte> binder) || binder.Length < 32)
                return false;
            list.Add(binder.ToArray());
        }
        // RFC 8446 §4.2.11: one binder per identity; a mismatch is illegal_parameter.
        if (list.Count != ids.Count)
        {
            alert = TlsAlertDescription.IllegalParameter;
            return false;
        }
        PskIdentities = ids;
        PskBinders = list;
        return true;
    }

    private bool TryParseServerName(ref TlsReader reader, out TlsAlertDescription alert)
    {
        alert = TlsAlertDescription.DecodeError;
        if (!reader.TryReadVector16(out TlsReader list) || !reader.ExpectEmpty() || list.IsEmpty)
            return false;
        while (!list.IsEmpty)
        {
            if (!list.TryReadUInt8(out byte nameType) || !list.TryReadVector16(out ReadOnlySpan<byte> name))
                return false;
            if (nameType != 0)
                continue;
            // RFC 6066 §3: at most one name of a given type; host names are ASCII without a trailing dot.
            if (ServerName is not null || name.IsEmpty)
            {
                alert = TlsAlertDescription.IllegalParameter;
                return false;
            }
            foreach (byte b in name)
            {
                if (b <= 0x20 || b >= 0x7F)
                {
                    alert = TlsAlertDescription.IllegalParameter;
                    return false;
                }
            }
            ServerName = Encoding.ASCII.GetString(name);
        }
        return true;
    }

    private bool TryParseAlpn(ref TlsReader reader)
    {
        if (!reader.TryReadVector16(out TlsReader list) || !reader.ExpectEmpty() || list.IsEmpty)
            return false;
        var protocols = new List<string>();
        while (!list.IsEmpty)
        {
            // RFC 7301 §3.1: empty protocol names are not allowed.
            if (!list.TryReadVector8(out ReadOnlySpan<byte> name) || name.IsEmpty)
                return false;
            protocols.Add(Encoding.Latin1.GetString(name));
        }
        ApplicationProtocols = protocols;
        return true;
    }
}
