using System.Text;
using Bufferless.Crypto.KeyExchange;

namespace Bufferless.Tls.Messages;

/// <summary>Writers for the handshake messages the server sends. Each writes one whole message, header included.</summary>
internal static class ServerMessages
{
    /// <summary>RFC 8446 §4.1.3: the ServerHello.random of a HelloRetryRequest, SHA-256("HelloRetryRequest").</summary>
    public static ReadOnlySpan<byte> HelloRetryRequestRandom =>
    [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ];

    /// <summary>RFC 8446 §4.1.3 ServerHello, extensions in the order RFC 8448 shows: key_share, supported_versions.</summary>
    public static void WriteServerHello(ref TlsWriter w, scoped ReadOnlySpan<byte> random, scoped ReadOnlySpan<byte> sessionId,
        TlsCipherSuite suite, NamedGroup group, scoped ReadOnlySpan<byte> serverShare, int? selectedPsk = null)
    {
        int message = w.BeginHandshake(TlsHandshakeType.ServerHello);
        w.WriteUInt16(TlsVersion.Tls12); // legacy_version
        w.WriteBytes(random);
        w.WriteVector8(sessionId); // RFC 8446 §4.1.3: echo legacy_session_id
        w.WriteUInt16((ushort)suite);
        w.WriteUInt8(0); // legacy_compression_method
        int extensions = w.BeginVector16();
        w.WriteUInt16((ushort)TlsExtensionType.KeyShare);
        int keyShare = w.BeginVector16();
        w.WriteUInt16((ushort)group);
        w.WriteVector16(serverShare);
        w.EndVector16(keyShare);
        WriteSelectedVersion(ref w);
        if (selectedPsk is int index)
        {
            // RFC 8446 §4.2.11: the server's pre_shared_key carries the selected identity.
            w.WriteUInt16((ushort)TlsExtensionType.PreSharedKey);
            w.WriteUInt16(2);
            w.WriteUInt16((ushort)index);
        }
        w.EndVector16(extensions);
        w.EndVector24(message);
    }

    /// <summary>RFC 8446 §4.1.3: the last 8 bytes of ServerHello.random when a TLS 1.3 server negotiates TLS 1.2.</summary>
    public static ReadOnlySpan<byte> DowngradeSentinelTls12 => [0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44, 0x01];

    /// <summary>What a TLS 1.2 ServerHello echoes or announces (RFC 5246 §7.4.1.3 and the extension RFCs).</summary>
    public readonly record struct Tls12HelloExtensions(bool RenegotiationInfo, bool ExtendedMasterSecret, bool EcPointFormats,
        bool ServerName, bool SessionTicket, string? ApplicationProtocol);

    /// <summary>RFC 5246 §7.4.1.3 ServerHello for TLS 1.2; only extensions the client offered (§7.4.1.4).</summary>
    public static void WriteServerHello12(ref TlsWriter w, scoped ReadOnlySpan<byte> random, scoped ReadOnlySpan<byte> sessionId,
        TlsCipherSuite suite, Tls12HelloExtensions ext)
    {
        int message = w.BeginHandshake(TlsHandshakeType.ServerHello);
        w.WriteUInt16(TlsVersion.Tls12);
        w.WriteBytes(random);
        w.WriteVector8(sessionId);
        w.WriteUInt16((ushort)suite);
        w.WriteUInt8(0);
        int extensions = w.BeginVector16();
        if (ext.RenegotiationInfo)
        {
            // RFC 5746 §3.6: an empty renegotiated_connection on the initial handshake.
            w.WriteUInt16((ushort)TlsExtensionType.RenegotiationInfo);
            w.WriteUInt16(1);
            w.WriteUInt8(0);
        }
        if (ext.ExtendedMasterSecret)
        {
            w.WriteUInt16((ushort)TlsExtensionType.ExtendedMasterSecret);
            w.WriteUInt16(0);
        }
        if (ext.EcPointFormats)
        {
            // RFC 8422 §5.2: uncompressed only.
            w.WriteUInt16((ushort)TlsExtensionType.EcPointFormats);
            w.WriteUInt16(2);
            w.WriteUInt8(1);
            w.WriteUInt8(0);
        }
        if (ext.ServerName)
        {
            w.WriteUInt16((ushort)TlsExtensionType.ServerName);
            w.WriteUInt16(0);
        }
        if (ext.SessionTicket)
        {
            // RFC 5077 §3.2: an empty SessionTicket extension announces a NewSessionTicket.
            w.WriteUInt16((ushort)TlsExtensionType.SessionTicket);
            w.WriteUInt16(0);
        }
        if (ext.ApplicationProtocol is not null)
            WriteAlpn(ref w, ext.ApplicationProtocol);
        w.EndVector16(extensions);
        w.EndVector24(message);
    }

    /// <summary>RFC 5246 §7.4.2 Certificate: certificate_list&lt;0..2^24-1&gt; of ASN.1Cert&lt;1..2^24-1&gt;.</summary>
    public static void WriteCertificate12(ref TlsWriter w, IReadOnlyList<byte[]> chain)
    {
        int message = w.BeginHandshake(TlsHandshakeType.Certificate);
        int list = w.BeginVector24();
        foreach (byte[] der in chain)
        {
            int entry = w.BeginVector24();
            w.WriteBytes(der);
            w.EndVector24(entry);
        }
        w.EndVector24(list);
        w.EndVector24(message);
    }

    /// <summary>RFC 8422 §5.4 ServerECDHParams: curve_type named_curve (3), the group, the point.</summary>
    public static void WriteEcdhParams(ref TlsWriter w, NamedGroup group, scoped ReadOnlySpan<byte> point)
    {
        w.WriteUInt8(3);
        w.WriteUInt16((ushort)group);
        w.WriteVector8(point);
    }

    /// <summary>RFC 8422 §5.4 ServerKeyExchange: params, then digitally-signed (RFC 5246 §4.7: algorithm, signature&lt;0..2^16-1&gt;).</summary>
    public static void WriteServerKeyExchange(ref TlsWriter w, scoped ReadOnlySpan<byte> ecdhParams, TlsSignatureScheme scheme, scoped ReadOnlySpan<byte> signature)
    {
        int message = w.BeginHandshake(TlsHandshakeType.ServerKeyExchange);
        w.WriteBytes(ecdhParams);
        w.WriteUInt16((ushort)scheme);
        w.WriteVector16(signature);
        w.EndVector24(message);
    }

    /// <summary>RFC 5246 §7.4.4 CertificateRequest: certificate_types, supported_signature_algorithms, certificate_authorities.</summary>
    public static void WriteCertificateRequest12(ref TlsWriter w, scoped ReadOnlySpan<ushort> schemes, IReadOnlyList<byte[]> authorities)
    {
        int message = w.BeginHandshake(TlsHandshakeType.CertificateRequest);
        int types = w.BeginVector8();
        w.WriteUInt8(64); // ecdsa_sign (RFC 8422 §5.5)
        w.WriteUInt8(1);  // rsa_sign
        w.EndVector8(types);
        int list = w.BeginVector16();
        foreach (ushort s in schemes)
            w.WriteUInt16(s);
        w.EndVector16(list);
        int cas = w.BeginVector16();
        foreach (byte[] dn in authorities)
            w.WriteVector16(dn);
        w.EndVector16(cas);
        w.EndVector24(message);
    }

    /// <summary>RFC 8446 §4.3.2 CertificateRequest: empty context, signature_algorithms, optional certificate_authorities.</summary>
    public static void WriteCertificateRequest13(ref TlsWriter w, scoped ReadOnlySpan<ushort> schemes, IReadOnlyList<byte[]> authorities)
    {
        int message = w.BeginHandshake(TlsHandshakeType.CertificateRequest);
        w.WriteUInt8(0);
        int extensions = w.BeginVector16();
        w.WriteUInt16((ushort)TlsExtensionType.SignatureAlgorithms);
        int ext = w.BeginVector16();
        int list = w.BeginVector16();
        foreach (ushort s in schemes)
            w.WriteUInt16(s);
        w.EndVector16(list);
        w.EndVector16(ext);
        if (authorities.Count > 0)
        {
            w.WriteUInt16((ushort)TlsExtensionType.CertificateAuthorities);
            int caExt = w.BeginVector16();
            int cas = w.BeginVector16();
            foreach (byte[] dn in authorities)
                w.WriteVector16(dn);
            w.EndVector16(cas);
            w.EndVector16(caExt);
        }
        w.EndVector16(extensions);
        w.EndVector24(message);
    }

    /// <summary>RFC 5246 §7.4.5 ServerHelloDone.</summary>
    public static void WriteServerHelloDone(ref TlsWriter w)
    {
        int message = w.BeginHandshake(TlsHandshakeType.ServerHelloDone);
        w.EndVector24(message);
    }

    /// <summary>RFC 5077 §3.3 NewSessionTicket (TLS 1.2): ticket_lifetime_hint, ticket.</summary>
    public static void WriteNewSessionTicket12(ref TlsWriter w, uint lifetimeSeconds, scoped ReadOnlySpan<byte> ticket)
    {
        int message = w.BeginHandshake(TlsHandshakeType.NewSessionTicket);
        w.WriteUInt32(lifetimeSeconds);
        w.WriteVector16(ticket);
        w.EndVector24(message);
    }

    /// <summary>RFC 8446 §4.6.1 NewSessionTicket: lifetime, age_add, nonce, ticket, no extensions (no 0-RTT).</summary>
    public static void WriteNewSessionTicket13(ref TlsWriter w, uint lifetimeSeconds, uint ageAdd, scoped ReadOnlySpan<byte> nonce, scoped ReadOnlySpan<byte> ticket)
    {
        int message = w.BeginHandshake(TlsHandshakeType.NewSessionTicket);
        w.WriteUInt32(lifetimeSeconds);
        w.WriteUInt32(ageAdd);
        w.WriteVector8(nonce);
        w.WriteVector16(ticket);
        w.WriteUInt16(0);
        w.EndVector24(message);
    }

    private static void WriteAlpn(ref TlsWriter w, string protocol)
    {
        w.WriteUInt16((ushort)TlsExtensionType.ApplicationLayerProtocolNegotiation);
        int ext = w.BeginVector16();
        int list = w.BeginVector16();
        int name = w.BeginVector8();
        w.WriteBytes(Encoding.Latin1.GetBytes(protocol));
        w.EndVector8(name);
        w.EndVector16(list);
        w.EndVector16(ext);
    }

    /// <summary>RFC 8446 §4.1.4 HelloRetryRequest: a ServerHello with the special random, naming the group to retry with.</summary>
    public static void WriteHelloRetryRequest(ref TlsWriter w, scoped ReadOnlySpan<byte> sessionId, TlsCipherSuite suite, NamedGroup group)
    {
        int message = w.BeginHandshake(TlsHandshakeType.ServerHello);
        w.WriteUInt16(TlsVersion.Tls12);
        w.WriteBytes(HelloRetryRequestRandom);
        w.WriteVector8(sessionId);
        w.WriteUInt16((ushort)suite);
        w.WriteUInt8(0);
        int extensions = w.BeginVector16();
        w.WriteUInt16((ushort)TlsExtensionType.KeyShare);
        w.WriteUInt16(2);
        w.WriteUInt16((ushort)group);
        WriteSelectedVersion(ref w);
        w.EndVector16(extensions);
        w.EndVector24(message);
    }

    private static void WriteSelectedVersion(ref TlsWriter w)
    {
        w.WriteUInt16((ushort)TlsExtensionType.SupportedVersions);
        w.WriteUInt16(2);
        w.WriteUInt16(TlsVersion.Tls13);
    }

    /// <summary>RFC 8446 §4.3.1 EncryptedExtensions.</summary>
    public static void WriteEncryptedExtensions(ref TlsWriter w, scoped ReadOnlySpan<ushort> advertisedGroups, int? recordSizeLimit,
        bool acknowledgeServerName, string? applicationProtocol)
    {
        int message = w.BeginHandshake(TlsHandshakeType.EncryptedExtensions);
        int extensions = w.BeginVector16();
        if (!advertisedGroups.IsEmpty)
        {
            w.WriteUInt16((ushort)TlsExtensionType.SupportedGroups);
            int ext = w.BeginVector16();
            int list = w.BeginVector16();
            foreach (ushort g in advertisedGroups)
                w.WriteUInt16(g);
            w.EndVector16(list);
            w.EndVector16(ext);
        }
        if (recordSizeLimit is int limit)
        {
            w.WriteUInt16((ushort)TlsExtensionType.RecordSizeLimit);
            w.WriteUInt16(2);
            w.WriteUInt16((ushort)limit);
        }
        if (acknowledgeServerName)
        {
            // RFC 6066 §3: the server's server_name extension is empty.
            w.WriteUInt16((ushort)TlsExtensionType.ServerName);
            w.WriteUInt16(0);
        }
        if (applicationProtocol is not null)
            WriteAlpn(ref w, applicationProtocol);
        w.EndVector16(extensions);
        w.EndVector24(message);
    }

    /// <summary>RFC 8446 §4.4.2 Certificate: the full chain, leaf first, no per-entry extensions.</summary>
    public static void WriteCertificate(ref TlsWriter w, IReadOnlyList<byte[]> chain)
    {
        int message = w.BeginHandshake(TlsHandshakeType.Certificate);
        w.WriteUInt8(0); // certificate_request_context: empty for server authentication
        int list = w.BeginVector24();
        foreach (byte[] der in chain)
        {
            int entry = w.BeginVector24();
            w.WriteBytes(der);
            w.EndVector24(entry);
            w.WriteUInt16(0);
        }
        w.EndVector24(list);
        w.EndVector24(message);
    }

    public static int CertificateSize(IReadOnlyList<byte[]> chain)
    {
        int size = 4 + 1 + 3;
        foreach (byte[] der in chain)
            size += 3 + der.Length + 2;
        return size;
    }

    /// <summary>RFC 8446 §4.4.3 CertificateVerify.</summary>
    public static void WriteCertificateVerify(ref TlsWriter w, TlsSignatureScheme scheme, scoped ReadOnlySpan<byte> signature)
    {
        int message = w.BeginHandshake(TlsHandshakeType.CertificateVerify);
        w.WriteUInt16((ushort)scheme);
        w.WriteVector16(signature);
        w.EndVector24(message);
    }

    /// <summary>RFC 8446 §4.4.4 Finished.</summary>
    public static void WriteFinished(ref TlsWriter w, scoped ReadOnlySpan<byte> verifyData)
    {
        int message = w.BeginHandshake(TlsHandshakeType.Finished);
        w.WriteBytes(verifyData);
        w.EndVector24(message);
    }

    /// <summary>RFC 8446 §4.6.3 KeyUpdate.</summary>
    public static void WriteKeyUpdate(ref TlsWriter w, bool updateRequested)
    {
        int message = w.BeginHandshake(TlsHandshakeType.KeyUpdate);
        w.WriteUInt8(updateRequested ? (byte)1 : (byte)0);
        w.EndVector24(message);
    }

    /// <summary>RFC 8446 §4.4.3: the content covered by a CertificateVerify signature.</summary>
    public static byte[] CertificateVerifyContent(bool server, ReadOnlySpan<byte> transcriptHash)
    {
        ReadOnlySpan<byte> context = server ? "TLS 1.3, server CertificateVerify"u8 : "TLS 1.3, client CertificateVerify"u8;
        byte[] content = new byte[64 + context.Length + 1 + transcriptHash.Length];
        content.AsSpan(0, 64).Fill(0x20);
        context.CopyTo(content.AsSpan(64));
        content[64 + context.Length] = 0;
        transcriptHash.CopyTo(content.AsSpan(64 + context.Length + 1));
        return content;
    }
}
