using System.Buffers;
using System.Security.Cryptography;
using Bufferless.Crypto.KeyExchange;
using Bufferless.Crypto.Hash;
using Bufferless.Tls.KeySchedule;
using Bufferless.Tls.Messages;
using Bufferless.Tls.Records;
using Bufferless.Tls.Resumption;

namespace Bufferless.Tls;

/// <summary>
/// The TLS 1.2 server (RFC 5246 §7.3) for clients that do not offer TLS 1.3: ECDHE_ECDSA / ECDHE_RSA with AEAD
/// suites only, the extended master secret required (RFC 7627), renegotiation refused (RFC 5746), session tickets
/// (RFC 5077). Full handshake:
/// <code>
/// ClientHello -> ServerHello, Certificate, ServerKeyExchange, [CertificateRequest], ServerHelloDone
/// [Certificate], ClientKeyExchange, [CertificateVerify], ChangeCipherSpec, Finished -> [NewSessionTicket], ChangeCipherSpec, Finished
/// </code>
/// Abbreviated (ticket): ClientHello -> ServerHello, [NewSessionTicket], ChangeCipherSpec, Finished; client ChangeCipherSpec, Finished.
/// </summary>
public sealed partial class TlsServerConnection
{
    private byte[]? _master12;
    private byte[]? _serverRandom12;
    private ClientKeyShare? _ephemeral12;
    private RecordProtection? _pendingRead12;
    private RecordProtection? _pendingWrite12;
    private bool _resumed12;
    private bool _issueTicket12;
    private bool _expectCertificateVerify12;

    /// <summary>Renegotiation attempts refused with a no_renegotiation warning.</summary>
    public int RenegotiationsRefused { get; private set; }

    private void Negotiate12(ClientHello hello)
    {
        TlsServerConfig config = _config!;
        NegotiatedVersion = TlsVersion.Tls12;
        // RFC 7507 §3: a fallback retry to a server that supports a higher version MUST get inappropriate_fallback.
        if (hello.CipherSuites.Contains(TlsScsv.Fallback))
        {
            Fail(TlsAlertDescription.InappropriateFallback, "TLS_FALLBACK_SCSV in a TLS 1.2 ClientHello");
            return;
        }
        // RFC 5746 §3.6: on an initial handshake renegotiated_connection MUST be empty, else handshake_failure.
        if (hello.RenegotiationInfo is { Length: > 0 })
        {
            Fail(TlsAlertDescription.HandshakeFailure, "non-empty renegotiation_info on an initial handshake");
            return;
        }
        // RFC 7627 §5.3: a server that requires the extended master secret aborts without it (handshake_failure).
        if (!hello.HasExtendedMasterSecret)
        {
            Fail(TlsAlertDescription.HandshakeFailure, "extended_master_secret is required for TLS 1.2");
            return;
        }
        // RFC 8422 §5.1.2: a point format list without uncompressed cannot be served: illegal_parameter.
        if (hello.EcPointFormats is { } formats && !formats.Contains((byte)0))
        {
            Fail(TlsAlertDescription.IllegalParameter, "ec_point_formats without uncompressed");
            return;
        }
        // RFC 5246 §7.4.1.4.1: without signature_algorithms the client only accepts SHA-1 signatures, which we never make.
        if (!hello.HasSignatureAlgorithms)
        {
            Fail(TlsAlertDescription.HandshakeFailure, "TLS 1.2 ClientHello without signature_algorithms (SHA-1 defaults refused)");
            return;
        }
        if (!TryGetCandidateCertificates(hello, out List<TlsCertificate> candidates))
            return;
        if (!TryChooseApplicationProtocol(hello, out string? alpn))
            return;
        ApplicationProtocol = alpn;

        if (TryOpenTicket12(hello) is { } ticket)
        {
            Resume12(hello, ticket);
            return;
        }

        // Key type first (ECDSA preferred among candidates), then the server's suite order for that key type.
        TlsCertificate? certificate = null;
        TlsSignatureScheme scheme = TlsSignatureScheme.None;
        CipherSuiteInfo suite = default;
        foreach (TlsCertificate candidate in candidates)
        {
            if (!candidate.TryChooseScheme12(hello.SignatureAlgorithms, out scheme))
                continue;
            Tls12Authentication auth = candidate.KeyType == TlsCertificateKeyType.Rsa ? Tls12Authentication.Rsa : Tls12Authentication.Ecdsa;
            foreach (TlsCipherSuite s in config.Tls12CipherSuites)
            {
                if (CipherSuiteInfo.TryGet(s, out CipherSuiteInfo info) && info.IsTls12 && info.Authentication == auth && hello.CipherSuites.Contains((ushort)s))
                {
                    suite = info;
                    break;
                }
            }
            if (suite.Suite != TlsCipherSuite.None)
            {
                certificate = candidate;
                break;
            }
        }
        if (certificate is null)
        {
            Fail(TlsAlertDescription.HandshakeFailure, "no TLS 1.2 suite and certificate fit the client's offer");
            return;
        }
        if (!TryChooseGroup12(hello, out NamedGroup group))
        {
            Fail(TlsAlertDescription.HandshakeFailure, "no common TLS 1.2 key-exchange group");
            return;
        }
        SendServerFlight12(hello, certificate, scheme, suite, group);
    }

    /// <summary>RFC 8422 §5.1.1: server preference among the client's supported_groups; ECDHE groups only (the ML-KEM hybrid is TLS 1.3 only).</summary>
    private bool TryChooseGroup12(ClientHello hello, out NamedGroup group)
    {
        TlsServerConfig config = _config!;
        foreach (NamedGroup candidate in config.Groups)
        {
            if (candidate is not (NamedGroup.X25519 or NamedGroup.Secp256r1 or NamedGroup.Secp384r1) || config.KeyAgreements(candidate) is null)
                continue;
            // RFC 8422 §4: without the extension the server may choose any curve; P-256 is the one every client has.
            if (hello.HasSupportedGroups ? hello.SupportedGroups.Contains((ushort)candidate) : candidate == NamedGroup.Secp256r1)
            {
                group = candidate;
                return true;
            }
        }
        group = default;
        return false;
    }

    private byte[] ServerRandom12()
    {
        byte[] random = new byte[32];
        _config!.Random(random);
        // RFC 8446 §4.1.3: a TLS 1.3 server negotiating TLS 1.2 MUST end ServerHello.random with the downgrade sentinel.
        ServerMessages.DowngradeSentinelTls12.CopyTo(random.AsSpan(24));
        return random;
    }

    private void StartTranscript12(CipherSuiteInfo suite)
    {
        _suite = suite;
        CipherSuite = suite.Suite;
        _transcript = new TranscriptHash(suite.HashKind);
        _transcript.AppendData(_firstHelloMessage!);
        _firstHelloMessage = null;
    }

    private void SendServerFlight12(ClientHello hello, TlsCertificate certificate, TlsSignatureScheme scheme, CipherSuiteInfo suite, NamedGroup group)
    {
        TlsServerConfig config = _config!;
        StartTranscript12(suite);
        Group = group;
        SignatureScheme = scheme;
        ServerCertificate = certificate;
        _ephemeral12 = config.KeyAgreements(group)!.CreateClientShare();
        _serverRandom12 = ServerRandom12();
        // RFC 5077 §3.2: a ticket is issued only to a client that sent the SessionTicket extension.
        _issueTicket12 = config.TicketKeys is not null && hello.SessionTicket is not null;
        bool requestCertificate = config.ClientAuth != TlsClientAuth.None;
        IReadOnlyList<byte[]> authorities = requestCertificate ? ClientCertificateVerifier.AuthorityNames(config.ClientCertificateAuthorities) : [];

        int size = ServerMessages.CertificateSize(certificate.Chain) + 2048 + _ephemeral12.PublicShare.Length + 1024
            + (ApplicationProtocol?.Length ?? 0) + authorities.Sum(a => a.Length + 2);
        byte[] flight = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var w = new TlsWriter(flight);
            // RFC 5077 §3.4: with tickets the session ID is the client's way to recognise a resumption; a fresh one here.
            byte[] sessionId = _issueTicket12 ? RandomNumberGenerator.GetBytes(32) : [];
            ServerMessages.WriteServerHello12(ref w, _serverRandom12, sessionId, suite.Suite, new ServerMessages.Tls12HelloExtensions(
                RenegotiationInfo: hello.SignalsSecureRenegotiation, ExtendedMasterSecret: true, EcPointFormats: hello.EcPointFormats is not null,
                ServerName: hello.ServerName is not null, SessionTicket: _issueTicket12, ApplicationProtocol));
            ServerMessages.WriteCertificate12(ref w, certificate.Chain);

            // RFC 8422 §5.4: the signature covers client_random + server_random + ServerECDHParams.
            byte[] parameters = new byte[4 + _ephemeral12.PublicShare.Length];
            var p = new TlsWriter(parameters);
            ServerMessages.WriteEcdhParams(ref p, group, _ephemeral12.PublicShare);
            byte[] signed = [.. hello.Random.Span, .. _serverRandom12, .. parameters];
            byte[] signature = certificate.Sign(scheme, signed);
            ServerMessages.WriteServerKeyExchange(ref w, parameters, scheme, signature);
            if (requestCertificate)
                ServerMessages.WriteCertificateRequest12(ref w, ClientCertificateVerifier.Tls12Schemes(suite.Hash), authorities);
            ServerMessages.WriteServerHelloDone(ref w);
            _transcript!.AppendData(w.Written);
            WritePlaintext(TlsContentType.Handshake, w.Written);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(flight);
            ArrayPool<byte>.Shared.Return(flight);
        }
        _state = requestCertificate ? State.ExpectClientCertificate12 : State.ExpectClientKeyExchange12;
    }

    /// <summary>RFC 5077 §3.1: the abbreviated handshake; the server speaks first after its ServerHello.</summary>
    private void Resume12(ClientHello hello, TicketState ticket)
    {
        TlsServerConfig config = _config!;
        StartTranscript12(CipherSuiteInfo.Get(ticket.Suite));
        IsResumed = true;
        _resumed12 = true;
        if (ticket.ClientCertificate is { } der)
            SetClientCertificate(der);
        _master12 = ticket.Secret;
        _serverRandom12 = ServerRandom12();
        LogSecret("CLIENT_RANDOM", _master12);
        DeriveKeys12(hello);

        byte[] buffer = new byte[1024 + (ApplicationProtocol?.Length ?? 0) + ticket.Secret.Length + 2 * TlsTicketKeys.TicketOverhead + 256 + (ClientCertificateDer?.Length ?? 0)];
        var w = new TlsWriter(buffer);
        // RFC 5077 §3.4: echo the client's session ID to say the ticket was accepted. RFC 6066 §3: no server_name on resumption.
        ServerMessages.WriteServerHello12(ref w, _serverRandom12, hello.LegacySessionId.Span, CipherSuite, new ServerMessages.Tls12HelloExtensions(
            RenegotiationInfo: hello.SignalsSecureRenegotiation, ExtendedMasterSecret: true, EcPointFormats: hello.EcPointFormats is not null,
            ServerName: false, SessionTicket: true, ApplicationProtocol));
        // The renewed ticket keeps the original issue time, so resumption cannot stretch a session past its lifetime.
        WriteTicket12(ref w, _master12, ticket.IssuedUnixMilliseconds);
        _transcript!.AppendData(w.Written);
        WritePlaintext(TlsContentType.Handshake, w.Written);
        SendChangeCipherSpecAndFinished12();
        _state = State.ExpectChangeCipherSpec12;
    }

    private void DeriveKeys12(ClientHello hello)
    {
        Span<byte> clientKey = stackalloc byte[_suite.KeyLength];
        Span<byte> serverKey = stackalloc byte[_suite.KeyLength];
        Span<byte> clientIv = stackalloc byte[_suite.FixedIvLength];
        Span<byte> serverIv = stackalloc byte[_suite.FixedIvLength];
        Tls12KeySchedule.KeyBlock(_suite, _master12, hello.Random.Span, _serverRandom12, clientKey, serverKey, clientIv, serverIv);
        _pendingRead12 = RecordProtection.CreateTls12(_suite, clientKey, clientIv);
        _pendingWrite12 = RecordProtection.CreateTls12(_suite, serverKey, serverIv);
        CryptographicOperations.ZeroMemory(clientKey);
        CryptographicOperations.ZeroMemory(serverKey);
        CryptographicOperations.ZeroMemory(clientIv);
        CryptographicOperations.ZeroMemory(serverIv);
    }

    private void SendChangeCipherSpecAndFinished12()
    {
        WritePlaintext(TlsContentType.ChangeCipherSpec, [1]);
        _write = _pendingWrite12;
        _pendingWrite12 = null;
        Span<byte> hash = stackalloc byte[_suite.HashLength];
        _transcript!.GetCurrentHash(hash);
        Span<byte> finished = stackalloc byte[4 + Tls12KeySchedule.VerifyDataLength];
        finished[0] = (byte)TlsHandshakeType.Finished;
        finished[1] = 0;
        finished[2] = 0;
        finished[3] = Tls12KeySchedule.VerifyDataLength;
        Tls12KeySchedule.Finished(_suite, _master12, client: false, hash, finished[4..]);
        _transcript.AppendData(finished);
        WriteProtected(TlsContentType.Handshake, finished);
    }

    // ---------------- state: ExpectClientCertificate12 (RFC 5246 §7.4.6) ----------------

    private TlsStatus? HandleClientCertificate12(byte[] message)
    {
        var r = new TlsReader(message.AsSpan(4));
        if (!r.TryReadVector24(out TlsReader list) || !r.ExpectEmpty())
            return FailStatus(TlsAlertDescription.DecodeError, "malformed client Certificate");
        var chain = new List<byte[]>();
        while (!list.IsEmpty)
        {
            if (!list.TryReadVector24(out ReadOnlySpan<byte> der) || der.IsEmpty)
                return FailStatus(TlsAlertDescription.DecodeError, "malformed client Certificate entry");
            chain.Add(der.ToArray());
        }
        _transcript!.AppendData(message);
        _state = State.ExpectClientKeyExchange12;
        if (chain.Count == 0)
        {
            // RFC 5246 §7.4.6: a server requiring a certificate MAY answer an empty one with a fatal handshake_failure.
            if (_config!.ClientAuth == TlsClientAuth.Require)
                return FailStatus(TlsAlertDescription.HandshakeFailure, "client sent no certificate");
            return null;
        }
        if (!TryVerifyClientChain(chain))
            return TlsStatus.Failed;
        _expectCertificateVerify12 = true;
        return null;
    }

    // ---------------- state: ExpectClientKeyExchange12 (RFC 8422 §5.7) ----------------

    private TlsStatus? HandleClientKeyExchange12(byte[] message)
    {
        var r = new TlsReader(message.AsSpan(4));
        // RFC 8422 §5.7: ClientECDiffieHellmanPublic is an ECPoint, opaque point<1..2^8-1>.
        if (!r.TryReadVector8(out ReadOnlySpan<byte> point) || point.IsEmpty || !r.ExpectEmpty())
            return FailStatus(TlsAlertDescription.DecodeError, "malformed ClientKeyExchange");
        byte[] preMaster = new byte[_config!.KeyAgreements(Group!.Value)!.SharedSecretLength];
        try
        {
            // RFC 8422 §5.11: an invalid public key (wrong length, off-curve, X25519 all-zero result) is illegal_parameter.
            if (!_ephemeral12!.TryComplete(point, preMaster))
                return FailStatus(TlsAlertDescription.IllegalParameter, "invalid client ECDHE public key");
            _ephemeral12.Dispose();
            _ephemeral12 = null;
            _transcript!.AppendData(message);
            // RFC 7627 §3-4: session_hash covers the handshake up to and including ClientKeyExchange.
            Span<byte> sessionHash = stackalloc byte[_suite.HashLength];
            _transcript.GetCurrentHash(sessionHash);
            _master12 = Tls12KeySchedule.ExtendedMasterSecret(_suite.Hash, preMaster, sessionHash);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(preMaster);
        }
        LogSecret("CLIENT_RANDOM", _master12);
        DeriveKeys12(ClientHello!);
        _state = _expectCertificateVerify12 ? State.ExpectCertificateVerify12 : State.ExpectChangeCipherSpec12;
        return null;
    }

    // ---------------- state: ExpectCertificateVerify12 (RFC 5246 §7.4.8) ----------------

    private TlsStatus? HandleCertificateVerify12(byte[] message)
    {
        var r = new TlsReader(message.AsSpan(4));
        if (!r.TryReadUInt16(out ushort scheme) || !r.TryReadVector16(out ReadOnlySpan<byte> signature) || !r.ExpectEmpty())
            return FailStatus(TlsAlertDescription.DecodeError, "malformed client CertificateVerify");
        // RFC 5246 §7.4.8: the algorithm MUST be one offered in CertificateRequest.supported_signature_algorithms.
        if (Array.IndexOf(ClientCertificateVerifier.Tls12Schemes(_suite.Hash), scheme) < 0)
            return FailStatus(TlsAlertDescription.IllegalParameter, "client CertificateVerify with an unoffered scheme");
        Span<byte> hash = stackalloc byte[_suite.HashLength];
        _transcript!.GetCurrentHash(hash);
        if (!ClientCertificateVerifier.VerifyHash(_pendingClientLeaf!, (TlsSignatureScheme)scheme, hash, signature))
            return FailStatus(TlsAlertDescription.DecryptError, "client CertificateVerify does not verify");
        _transcript.AppendData(message);
        AcceptPendingClientCertificate();
        _state = State.ExpectChangeCipherSpec12;
        return null;
    }

    // ---------------- ChangeCipherSpec and Finished ----------------

    private TlsStatus? HandleChangeCipherSpec12(ReadOnlySpan<byte> body)
    {
        // RFC 5246 §7.1: ChangeCipherSpec comes exactly between the client's last flight message and its Finished,
        // on a message boundary; anywhere else it is unexpected_message.
        if (_state != State.ExpectChangeCipherSpec12 || _handshakeFill > 0 || body.Length != 1 || body[0] != 1)
            return FailStatus(TlsAlertDescription.UnexpectedMessage, "change_cipher_spec not allowed here");
        _read = _pendingRead12;
        _pendingRead12 = null;
        _state = State.ExpectFinished12;
        return null;
    }

    private TlsStatus? HandleFinished12(byte[] message)
    {
        ReadOnlySpan<byte> verifyData = message.AsSpan(4);
        if (verifyData.Length != Tls12KeySchedule.VerifyDataLength)
            return FailStatus(TlsAlertDescription.DecodeError, "Finished of the wrong length");
        Span<byte> hash = stackalloc byte[_suite.HashLength];
        _transcript!.GetCurrentHash(hash);
        Span<byte> expected = stackalloc byte[Tls12KeySchedule.VerifyDataLength];
        Tls12KeySchedule.Finished(_suite, _master12, client: true, hash, expected);
        // RFC 5246 §7.4.9: a Finished that does not verify is decrypt_error.
        bool ok = CryptographicOperations.FixedTimeEquals(expected, verifyData);
        CryptographicOperations.ZeroMemory(expected);
        if (!ok)
            return FailStatus(TlsAlertDescription.DecryptError, "client Finished does not verify");
        _transcript.AppendData(message);
        if (!_resumed12)
        {
            if (_issueTicket12)
            {
                byte[] buffer = new byte[64 + Tls12KeySchedule.MasterSecretLength + TlsTicketKeys.TicketOverhead + 64 + (ClientCertificateDer?.Length ?? 0)];
                var w = new TlsWriter(buffer);
                WriteTicket12(ref w, _master12, _now.ToUnixTimeMilliseconds());
                _transcript.AppendData(w.Written);
                WritePlaintext(TlsContentType.Handshake, w.Written);
            }
            SendChangeCipherSpecAndFinished12();
        }
        _state = State.Connected;
        _handshakeDone = true;
        CryptographicOperations.ZeroMemory(_master12);
        _master12 = null;
        ReleaseHandshakeState();
        return TlsStatus.HandshakeComplete;
    }

    /// <summary>
    /// RFC 5746 §4.4 / RFC 5246 §7.2.2: renegotiation is refused with a no_renegotiation warning (always a warning) and
    /// the ClientHello is dropped; the connection goes on. A client that insists ends the connection itself.
    /// </summary>
    private TlsStatus? RefuseRenegotiation()
    {
        RenegotiationsRefused++;
        if (!_closeSent)
            SendAlert(TlsAlertDescription.NoRenegotiation);
        return null;
    }

    private void DisposeSchedule12()
    {
        if (_master12 is not null)
            CryptographicOperations.ZeroMemory(_master12);
        _master12 = null;
        _ephemeral12?.Dispose();
        _ephemeral12 = null;
        _pendingRead12?.Dispose();
        _pendingRead12 = null;
        _pendingWrite12?.Dispose();
        _pendingWrite12 = null;
    }
}
