using System.Buffers;
using System.Security.Cryptography;
using Bufferless.Crypto.KeyExchange;
using Bufferless.Crypto.Hash;
using Bufferless.Tls.KeySchedule;
using Bufferless.Tls.Messages;
using Bufferless.Tls.Records;

namespace Bufferless.Tls;

/// <summary>
/// The server handshake state machine (RFC 8446 §2: full or PSK handshake, optional HelloRetryRequest, optional
/// client certificate). One handler per state, each taking one message: ExpectClientHello -> [ExpectSecondClientHello]
/// -> [ExpectClientCertificate -> ExpectCertificateVerify] -> ExpectFinished -> Connected (KeyUpdate only).
/// TLS 1.2 states live in the .Tls12 part. Anything else goes through <see cref="Unexpected"/>.
/// </summary>
public sealed partial class TlsServerConnection
{
    private readonly record struct Selection(
        CipherSuiteInfo Suite, NamedGroup Group, ReadOnlyMemory<byte>? ClientShare,
        TlsCertificate Certificate, TlsSignatureScheme Scheme, string? ApplicationProtocol);

    private TranscriptHash? _transcript;
    private ReadOnlyMemory<byte> _clientRandom;
    private string? _serverName;
    private bool _clientOfferedRecordSizeLimit;
    private CipherSuiteInfo _suite;
    private byte[]? _firstHelloMessage;
    private bool _ccsSent;
    private TrafficSecret? _clientAppSecret;
    private TrafficSecret? _serverAppSecret;
    private byte[]? _expectedClientFinished;
    private TrafficSecret? _clientHandshakeSecret;
    private MasterSecret? _masterSecret;
    private byte[]? _currentHelloMessage;
    private byte[]? _hrrTranscriptPrefix; // message_hash(ClientHello1) || HelloRetryRequest, for PSK binders (RFC 8446 §4.2.11.2)
    private bool _clientFinishedInTranscript;
    private bool _ticketSent;
    private System.Security.Cryptography.X509Certificates.X509Certificate2? _pendingClientLeaf;

    // ---------------- handshake message framing ----------------

    /// <summary>Appends handshake bytes from one record and handles every complete message (RFC 8446 §4, §5.1).</summary>
    private TlsStatus? HandleHandshakeBytes(ReadOnlySpan<byte> bytes)
    {
        EnsureHandshakeCapacity(_handshakeFill + bytes.Length);
        bytes.CopyTo(_handshake.AsSpan(_handshakeFill));
        _handshakeFill += bytes.Length;

        while (_handshakeFill >= 4)
        {
            var type = (TlsHandshakeType)_handshake![0];
            int length = (_handshake[1] << 16) | (_handshake[2] << 8) | _handshake[3];
            if (!IsExpected(type))
                return Unexpected(type);
            if (length > MaxMessageSize(type))
                return FailStatus(TlsAlertDescription.DecodeError, $"{type} message too large");
            int total = 4 + length;
            if (_handshakeFill < total)
            {
                EnsureHandshakeCapacity(total);
                return null;
            }
            byte[] message = _handshake.AsSpan(0, total).ToArray();
            _handshake.AsSpan(total, _handshakeFill - total).CopyTo(_handshake);
            _handshakeFill -= total;
            CryptographicOperations.ZeroMemory(_handshake.AsSpan(_handshakeFill, total));

            // RFC 8446 §5.1: messages before a key change (ClientHello, Finished, KeyUpdate) MUST end the record.
            // Every byte still buffered came with this record, so the check can run before the message is handled.
            if (_handshakeFill > 0 && type is TlsHandshakeType.ClientHello or TlsHandshakeType.Finished or TlsHandshakeType.KeyUpdate)
                return FailStatus(TlsAlertDescription.UnexpectedMessage, $"data after {type} in the same record");
            TlsStatus? pause = HandleMessage(type, message);
            if (_state == State.Failed)
                return TlsStatus.Failed;
            if (pause is not null)
                return pause;
        }
        if (_handshakeFill == 0)
            ReleaseHandshakeBuffer();
        return null;
    }

    private void EnsureHandshakeCapacity(int size)
    {
        if (_handshake is not null && _handshake.Length >= size)
            return;
        byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1024));
        if (_handshake is not null)
        {
            _handshake.AsSpan(0, _handshakeFill).CopyTo(bigger);
            CryptographicOperations.ZeroMemory(_handshake);
            ArrayPool<byte>.Shared.Return(_handshake);
        }
        _handshake = bigger;
    }

    private bool IsExpected(TlsHandshakeType type) => (_state, type) switch
    {
        (State.ExpectClientHello or State.ExpectSecondClientHello, TlsHandshakeType.ClientHello) => true,
        (State.ExpectClientCertificate or State.ExpectClientCertificate12, TlsHandshakeType.Certificate) => true,
        (State.ExpectCertificateVerify or State.ExpectCertificateVerify12, TlsHandshakeType.CertificateVerify) => true,
        (State.ExpectFinished or State.ExpectFinished12, TlsHandshakeType.Finished) => true,
        (State.ExpectClientKeyExchange12, TlsHandshakeType.ClientKeyExchange) => true,
        (State.Connected, TlsHandshakeType.KeyUpdate) => NegotiatedVersion == TlsVersion.Tls13,
        // RFC 5746 / RFC 5246 §7.4.1.2: a TLS 1.2 client asks for renegotiation with a ClientHello; it is refused.
        (State.Connected, TlsHandshakeType.ClientHello) => NegotiatedVersion == TlsVersion.Tls12,
        _ => false,
    };

    private int MaxMessageSize(TlsHandshakeType type) => type switch
    {
        TlsHandshakeType.ClientHello or TlsHandshakeType.Certificate => MaxClientHelloSize,
        _ => MaxOtherHandshakeSize,
    };

    private TlsStatus? HandleMessage(TlsHandshakeType type, byte[] message) => _state switch
    {
        State.ExpectClientHello => HandleClientHello(message),
        State.ExpectSecondClientHello => HandleSecondClientHello(message),
        State.ExpectClientCertificate => HandleClientCertificate(message),
        State.ExpectCertificateVerify => HandleClientCertificateVerify(message),
        State.ExpectFinished => HandleFinished(message),
        State.ExpectClientCertificate12 => HandleClientCertificate12(message),
        State.ExpectClientKeyExchange12 => HandleClientKeyExchange12(message),
        State.ExpectCertificateVerify12 => HandleCertificateVerify12(message),
        State.ExpectFinished12 => HandleFinished12(message),
        State.Connected when NegotiatedVersion == TlsVersion.Tls12 => RefuseRenegotiation(),
        State.Connected => HandleKeyUpdate(message),
        _ => Unexpected(type),
    };

    /// <summary>The one place every out-of-order message goes: RFC 8446 §6.2 unexpected_message.</summary>
    private TlsStatus Unexpected(TlsHandshakeType type) =>
        FailStatus(TlsAlertDescription.UnexpectedMessage, $"unexpected {type} in state {_state}");

    // ---------------- state: ExpectClientHello ----------------

    private TlsStatus? HandleClientHello(byte[] message)
    {
        if (!TryParseHello(message, second: false, out ClientHello? hello))
            return TlsStatus.Failed;
        RememberHello(hello!);
        _firstHelloMessage = message;
        _currentHelloMessage = message;
        _ccsAllowed = true;
        if (_config is null)
        {
            _state = State.NeedsConfig;
            return TlsStatus.NeedsServerConfig;
        }
        NegotiateFirstHello();
        return _state == State.Failed ? TlsStatus.Failed : null;
    }

    private bool TryParseHello(byte[] message, bool second, out ClientHello? hello)
    {
        if (!Messages.ClientHello.TryParse(message.AsSpan(4), out hello, out TlsAlertDescription alert))
            return Fail(alert, "malformed ClientHello");
        // RFC 8446 §4.1.4: the ClientHello after a HelloRetryRequest must still offer TLS 1.3.
        if (second && !hello!.OffersTls13)
            return Fail(TlsAlertDescription.ProtocolVersion, "second ClientHello does not offer TLS 1.3");
        return true;
    }

    private void NegotiateFirstHello()
    {
        ClientHello hello = ClientHello!;
        TlsServerConfig config = _config!;
        _now = config.TimeProvider.GetUtcNow();
        // RFC 8446 §4.2.1 / RFC 5246 §E.1: TLS 1.3 when offered, else TLS 1.2 if allowed; nothing older: protocol_version.
        ushort version = hello.SelectVersion(config.AllowTls12);
        if (version == 0)
        {
            Fail(TlsAlertDescription.ProtocolVersion, "client offers neither TLS 1.3 nor TLS 1.2");
            return;
        }
        if (version == TlsVersion.Tls12)
        {
            _ccsAllowed = false;
            Negotiate12(hello);
            return;
        }
        if (!TrySelect(hello, null, null, out Selection selection))
            return;
        _suite = selection.Suite;
        CipherSuite = selection.Suite.Suite;
        _transcript = new TranscriptHash(_suite.HashKind);
        _transcript.AppendData(_firstHelloMessage!);
        _firstHelloMessage = null;
        if (selection.ClientShare is null)
        {
            SendHelloRetryRequest(hello, selection.Group);
            return;
        }
        SendServerFlight(hello, selection);
    }

    /// <summary>Chooses suite, group, certificate, signature scheme and ALPN; on failure queues the RFC's alert.</summary>
    private bool TrySelect(ClientHello hello, TlsCipherSuite? requiredSuite, NamedGroup? requiredGroup, out Selection selection)
    {
        selection = default;
        TlsServerConfig config = _config!;

        // RFC 8446 §4.2.9: pre_shared_key without psk_key_exchange_modes MUST be rejected.
        if (hello.HasPreSharedKey && hello.PskKeyExchangeModes.Count == 0)
            return Fail(TlsAlertDescription.MissingExtension, "pre_shared_key without psk_key_exchange_modes");

        TlsCipherSuite suite = TlsCipherSuite.None;
        if (requiredSuite is TlsCipherSuite required)
        {
            // RFC 8446 §4.1.4: the second ClientHello must still offer the suite the HelloRetryRequest named.
            if (!hello.CipherSuites.Contains((ushort)required))
                return Fail(TlsAlertDescription.IllegalParameter, "second ClientHello dropped the selected suite");
            suite = required;
        }
        else
        {
            foreach (TlsCipherSuite candidate in config.CipherSuites)
            {
                if (hello.CipherSuites.Contains((ushort)candidate) && CipherSuiteInfo.TryGet(candidate, out _))
                {
                    suite = candidate;
                    break;
                }
            }
            if (suite == TlsCipherSuite.None)
                return Fail(TlsAlertDescription.HandshakeFailure, "no common cipher suite");
        }

        // RFC 8446 §9.2: a ClientHello for certificate-based (EC)DHE MUST carry signature_algorithms,
        // supported_groups and key_share; a missing one is missing_extension.
        if (!hello.HasSignatureAlgorithms)
            return Fail(TlsAlertDescription.MissingExtension, "no signature_algorithms");
        if (!hello.HasSupportedGroups || hello.KeyShares is null)
            return Fail(TlsAlertDescription.MissingExtension, "no supported_groups or key_share");
        // RFC 8446 §4.2.8: every offered share must be for a group listed in supported_groups.
        foreach (TlsKeyShareEntry share in hello.KeyShares)
        {
            if (!hello.SupportedGroups.Contains((ushort)share.Group))
                return Fail(TlsAlertDescription.IllegalParameter, "key_share for a group not in supported_groups");
        }

        if (!TryGetCandidateCertificates(hello, out List<TlsCertificate> candidates))
            return false;
        TlsCertificate? certificate = null;
        TlsSignatureScheme scheme = TlsSignatureScheme.None;
        foreach (TlsCertificate candidate in candidates)
        {
            if (candidate.TryChooseScheme(hello.SignatureAlgorithms, out scheme))
            {
                certificate = candidate;
                break;
            }
        }
        if (certificate is null)
            return Fail(TlsAlertDescription.HandshakeFailure, "no certificate fits the client's signature_algorithms");

        NamedGroup group = default;
        ReadOnlyMemory<byte>? clientShare = null;
        if (requiredGroup is NamedGroup retryGroup)
        {
            // RFC 8446 §4.2.8: after a HelloRetryRequest the client sends exactly one share, for the named group.
            if (hello.KeyShares.Count != 1 || hello.KeyShares[0].Group != retryGroup)
                return Fail(TlsAlertDescription.IllegalParameter, "second ClientHello without the requested key share");
            group = retryGroup;
            clientShare = hello.KeyShares[0].KeyExchange;
        }
        else if (!TryChooseGroup(hello, config, out group, out clientShare))
        {
            return Fail(TlsAlertDescription.HandshakeFailure, "no common key-exchange group");
        }

        if (!TryChooseApplicationProtocol(hello, out string? alpn))
            return false;

        selection = new Selection(CipherSuiteInfo.Get(suite), group, clientShare, certificate, scheme, alpn);
        return true;
    }

    /// <summary>RFC 7301 §3.2: the first of our protocols the client offers; no overlap MUST be answered with no_application_protocol.</summary>
    private bool TryChooseApplicationProtocol(ClientHello hello, out string? alpn)
    {
        alpn = null;
        if (_config!.ApplicationProtocols is not { } ours || hello.ApplicationProtocols is not { } theirs)
            return true;
        alpn = ours.FirstOrDefault(theirs.Contains);
        if (alpn is null)
            return Fail(TlsAlertDescription.NoApplicationProtocol, "no common application protocol");
        return true;
    }

    /// <summary>
    /// RFC 6066 §3 certificate choice by server_name: exact matches, else wildcard matches, else the defaults; ECDSA keys
    /// before RSA within each. An unknown name either falls back to the defaults or, when configured, is refused with
    /// a fatal unrecognized_name (the RFC's two allowed answers; a warning is NOT RECOMMENDED).
    /// </summary>
    private bool TryGetCandidateCertificates(ClientHello hello, out List<TlsCertificate> candidates)
    {
        TlsServerConfig config = _config!;
        candidates = [];
        if (hello.ServerName is string name)
        {
            for (int quality = 2; quality >= 1 && candidates.Count == 0; quality--)
            {
                foreach (TlsCertificate certificate in config.Certificates)
                {
                    if (certificate.MatchName(name) == quality)
                        candidates.Add(certificate);
                }
            }
            if (candidates.Count == 0 && config.RejectUnknownServerName)
                return Fail(TlsAlertDescription.UnrecognizedName, "no certificate for server name " + name);
        }
        if (candidates.Count == 0)
            candidates.AddRange(config.DefaultCertificates ?? config.Certificates);
        // ECDSA preferred (smaller, faster); a stable sort keeps the configured order otherwise.
        candidates = [.. candidates.OrderBy(c => c.KeyType == TlsCertificateKeyType.Rsa ? 1 : 0)];
        return true;
    }

    private static bool TryChooseGroup(ClientHello hello, TlsServerConfig config, out NamedGroup group, out ReadOnlyMemory<byte>? share)
    {
        // A share the client already sent beats a round trip, so look at shares first (server order among them).
        foreach (NamedGroup candidate in config.Groups)
        {
            foreach (TlsKeyShareEntry entry in hello.KeyShares!)
            {
                if (entry.Group == candidate && config.KeyAgreements(candidate) is not null)
                {
                    group = candidate;
                    share = entry.KeyExchange;
                    return true;
                }
            }
        }
        // RFC 8446 §4.1.4: no acceptable share but a common group: HelloRetryRequest.
        foreach (NamedGroup candidate in config.Groups)
        {
            if (hello.SupportedGroups.Contains((ushort)candidate) && config.KeyAgreements(candidate) is not null)
            {
                group = candidate;
                share = null;
                return true;
            }
        }
        group = default;
        share = null;
        return false;
    }

    private void SendHelloRetryRequest(ClientHello hello, NamedGroup group)
    {
        UsedHelloRetryRequest = true;
        Group = group;
        // RFC 8446 §4.4.1: the transcript restarts with message_hash(Hash(ClientHello1)).
        Span<byte> hash = stackalloc byte[_suite.HashLength];
        _transcript!.GetHashAndReset(hash);
        ReadOnlySpan<byte> messageHashHeader = [(byte)TlsHandshakeType.MessageHash, 0, 0, (byte)_suite.HashLength];
        _transcript.AppendData(messageHashHeader);
        _transcript.AppendData(hash);

        Span<byte> buffer = stackalloc byte[128];
        var w = new TlsWriter(buffer);
        ServerMessages.WriteHelloRetryRequest(ref w, hello.LegacySessionId.Span, CipherSuite, group);
        _transcript.AppendData(w.Written);
        _hrrTranscriptPrefix = [.. messageHashHeader, .. hash, .. w.Written];
        WritePlaintext(TlsContentType.Handshake, w.Written);
        SendCompatibilityChangeCipherSpec(hello);
        if (hello.HasEarlyData)
            _earlySkip = EarlyDataSkip.UntilClientHello;
        _state = State.ExpectSecondClientHello;
    }

    /// <summary>RFC 8446 §D.4: in middlebox compatibility mode (non-empty session id) one CCS follows the first handshake message.</summary>
    private void SendCompatibilityChangeCipherSpec(ClientHello hello)
    {
        if (_ccsSent || hello.LegacySessionId.IsEmpty)
            return;
        WritePlaintext(TlsContentType.ChangeCipherSpec, [1]);
        _ccsSent = true;
    }

    // ---------------- state: ExpectSecondClientHello ----------------

    private TlsStatus? HandleSecondClientHello(byte[] message)
    {
        if (!TryParseHello(message, second: true, out ClientHello? hello))
            return TlsStatus.Failed;
        _currentHelloMessage = message;
        // RFC 8446 §4.2.10: a client MUST NOT send early_data in the ClientHello that follows a HelloRetryRequest.
        if (hello!.HasEarlyData)
            return FailStatus(TlsAlertDescription.IllegalParameter, "early_data after HelloRetryRequest");
        _earlySkip = EarlyDataSkip.None;
        RememberHello(hello);
        if (!TrySelect(hello, CipherSuite, Group, out Selection selection))
            return TlsStatus.Failed;
        _transcript!.AppendData(message);
        SendServerFlight(hello, selection);
        return _state == State.Failed ? TlsStatus.Failed : null;
    }

    // ---------------- the server flight: ServerHello .. Finished ----------------

    private void SendServerFlight(ClientHello hello, Selection selection)
    {
        TlsServerConfig config = _config!;
        if (!TryAcceptPsk(hello, selection.Suite, out Resumption.TicketState? resumed, out int pskIndex))
            return;
        KeyAgreement agreement = config.KeyAgreements(selection.Group)!;
        byte[] serverShare = new byte[agreement.ServerShareLength];
        byte[] shared = new byte[agreement.SharedSecretLength];
        try
        {
            byte[]? fixedKey = config.FixedServerPrivateKey?.Invoke(selection.Group);
            bool ok = fixedKey is null
                ? agreement.TryServerRespond(selection.ClientShare!.Value.Span, serverShare, shared)
                : agreement.TryServerRespond(selection.ClientShare!.Value.Span, fixedKey, serverShare, shared);
            // RFC 8446 §4.2.8.1-2: an invalid peer share (wrong length, off-curve, zero result) is illegal_parameter.
            if (!ok)
            {
                Fail(TlsAlertDescription.IllegalParameter, "invalid client key share");
                return;
            }
            Group = selection.Group;
            ApplicationProtocol = selection.ApplicationProtocol;
            NegotiatedVersion = TlsVersion.Tls13;
            IsResumed = resumed is not null;
            if (resumed is null)
            {
                SignatureScheme = selection.Scheme;
                ServerCertificate = selection.Certificate;
            }
            else if (resumed.ClientCertificate is { } der)
            {
                SetClientCertificate(der);
            }
            // RFC 8446 §4.3.2: a server authenticating with a PSK MUST NOT send CertificateRequest.
            bool requestCertificate = resumed is null && config.ClientAuth != TlsClientAuth.None;

            Span<byte> random = stackalloc byte[32];
            config.Random(random);
            byte[] helloBuffer = new byte[128 + serverShare.Length];
            var w = new TlsWriter(helloBuffer);
            ServerMessages.WriteServerHello(ref w, random, hello.LegacySessionId.Span, CipherSuite, selection.Group, serverShare,
                resumed is null ? null : pskIndex);
            _transcript!.AppendData(w.Written);
            WritePlaintext(TlsContentType.Handshake, w.Written);
            SendCompatibilityChangeCipherSpec(hello);

            Span<byte> hash = stackalloc byte[_suite.HashLength];
            _transcript.GetCurrentHash(hash);
            using EarlySecret early = EarlySecret.Create(_suite, resumed is null ? default : resumed.Secret);
            if (resumed is not null)
                CryptographicOperations.ZeroMemory(resumed.Secret);
            using HandshakeSecret handshakeSecret = early.DeriveHandshakeSecret(shared);
            _clientHandshakeSecret = handshakeSecret.DeriveClientTrafficSecret(hash);
            using TrafficSecret serverHandshake = handshakeSecret.DeriveServerTrafficSecret(hash);
            LogSecret("CLIENT_HANDSHAKE_TRAFFIC_SECRET", _clientHandshakeSecret.Secret);
            LogSecret("SERVER_HANDSHAKE_TRAFFIC_SECRET", serverHandshake.Secret);
            _write = RecordProtection.Create(serverHandshake);
            _read = RecordProtection.Create(_clientHandshakeSecret);
            // RFC 8449 §4: in TLS 1.3 the limit counts the inner content type, so content is at most limit - 1.
            if (hello.RecordSizeLimit is int limit)
                _maxSendFragment = Math.Min(TlsRecordLimits.MaxPlaintext, limit - 1);
            // RFC 8446 §4.2.10: early data is refused by not echoing early_data; skip what fails to decrypt.
            if (hello.HasEarlyData)
                _earlySkip = EarlyDataSkip.Undecryptable;

            WriteEncryptedFlight(hello, selection, serverHandshake, authenticate: resumed is null, requestCertificate);

            _transcript.GetCurrentHash(hash);
            _masterSecret = handshakeSecret.DeriveMasterSecret();
            _clientAppSecret = _masterSecret.DeriveClientApplicationSecret(hash);
            _serverAppSecret = _masterSecret.DeriveServerApplicationSecret(hash);
            LogSecret("CLIENT_TRAFFIC_SECRET_0", _clientAppSecret.Secret);
            LogSecret("SERVER_TRAFFIC_SECRET_0", _serverAppSecret.Secret);
            // Nothing here exports keying material (RFC 8446 §7.5), so the exporter secret exists only for the key log.
            if (config.KeyLog is not null)
            {
                byte[] exporter = _masterSecret.DeriveExporterSecret(hash);
                LogSecret("EXPORTER_SECRET", exporter);
                CryptographicOperations.ZeroMemory(exporter);
            }
            // The server may write under its application key right after its Finished (RFC 8446 §2, 0.5-RTT).
            _write.Dispose();
            _write = RecordProtection.Create(_serverAppSecret);
            _state = requestCertificate ? State.ExpectClientCertificate : State.ExpectFinished;

            // RFC 8446 §4.6.1: without client authentication the server can compute the rest of the transcript (the
            // client Finished it expects) and send the ticket right after its own Finished, in the same flight.
            if (!requestCertificate && config.TicketKeys is not null && config.TicketWithServerFlight)
            {
                _expectedClientFinished = new byte[_suite.HashLength];
                _clientHandshakeSecret.ComputeFinished(hash, _expectedClientFinished);
                ReadOnlySpan<byte> finishedHeader = [(byte)TlsHandshakeType.Finished, 0, 0, (byte)_suite.HashLength];
                _transcript.AppendData(finishedHeader);
                _transcript.AppendData(_expectedClientFinished);
                _clientFinishedInTranscript = true;
                SendTicket13();
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    /// <summary>EncryptedExtensions, [CertificateRequest], [Certificate, CertificateVerify], Finished, sent as one run of protected records.</summary>
    private void WriteEncryptedFlight(ClientHello hello, Selection selection, TrafficSecret serverHandshake, bool authenticate, bool requestCertificate)
    {
        TlsServerConfig config = _config!;
        TlsCertificate certificate = selection.Certificate;
        IReadOnlyList<byte[]> authorities = requestCertificate ? ClientCertificateVerifier.AuthorityNames(config.ClientCertificateAuthorities) : [];
        int size = ServerMessages.CertificateSize(certificate.Chain) + 2048 + config.AdvertisedGroups.Length * 2
            + (selection.ApplicationProtocol?.Length ?? 0) + authorities.Sum(a => a.Length + 2);
        byte[] flight = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var w = new TlsWriter(flight);
            ServerMessages.WriteEncryptedExtensions(ref w, config.AdvertisedGroups,
                hello.RecordSizeLimit is null ? null : config.RecordSizeLimit,
                hello.ServerName is not null, selection.ApplicationProtocol);
            if (requestCertificate)
                ServerMessages.WriteCertificateRequest13(ref w, ClientCertificateVerifier.Tls13Schemes, authorities);
            Span<byte> hash = stackalloc byte[_suite.HashLength];
            if (authenticate)
            {
                ServerMessages.WriteCertificate(ref w, certificate.Chain);
                _transcript!.AppendData(flight.AsSpan(0, w.Position));
                _transcript.GetCurrentHash(hash);
                byte[] content = ServerMessages.CertificateVerifyContent(server: true, hash);
                byte[] signature = certificate.Sign(selection.Scheme, content);
                int verifyStart = w.Position;
                ServerMessages.WriteCertificateVerify(ref w, selection.Scheme, signature);
                _transcript.AppendData(flight.AsSpan(verifyStart, w.Position - verifyStart));
            }
            else
            {
                _transcript!.AppendData(flight.AsSpan(0, w.Position));
            }

            _transcript.GetCurrentHash(hash);
            Span<byte> verifyData = stackalloc byte[_suite.HashLength];
            serverHandshake.ComputeFinished(hash, verifyData);
            int finishedStart = w.Position;
            ServerMessages.WriteFinished(ref w, verifyData);
            _transcript.AppendData(flight.AsSpan(finishedStart, w.Position - finishedStart));

            WriteProtected(TlsContentType.Handshake, flight.AsSpan(0, w.Position));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(flight);
            ArrayPool<byte>.Shared.Return(flight);
        }
    }

    // ---------------- state: ExpectFinished ----------------

    private TlsStatus? HandleFinished(byte[] message)
    {
        ReadOnlySpan<byte> verifyData = message.AsSpan(4);
        if (verifyData.Length != _suite.HashLength)
            return FailStatus(TlsAlertDescription.DecodeError, "Finished of the wrong length");
        if (_expectedClientFinished is null)
        {
            // RFC 8446 §4.4.4: over the transcript up to the client's last message before Finished.
            Span<byte> hash = stackalloc byte[_suite.HashLength];
            _transcript!.GetCurrentHash(hash);
            _expectedClientFinished = new byte[_suite.HashLength];
            _clientHandshakeSecret!.ComputeFinished(hash, _expectedClientFinished);
        }
        // RFC 8446 §4.4.4: a wrong verify_data MUST be answered with decrypt_error.
        if (!CryptographicOperations.FixedTimeEquals(verifyData, _expectedClientFinished))
            return FailStatus(TlsAlertDescription.DecryptError, "client Finished does not verify");
        if (!_clientFinishedInTranscript)
            _transcript!.AppendData(message);
        _read!.Dispose();
        _read = RecordProtection.Create(_clientAppSecret!);
        // RFC 8446 §5: change_cipher_spec after the peer's Finished is an unexpected record.
        _ccsAllowed = false;
        _earlySkip = EarlyDataSkip.None;
        _state = State.Connected;
        _handshakeDone = true;
        CryptographicOperations.ZeroMemory(_expectedClientFinished);
        _clientHandshakeSecret?.Dispose();
        _clientHandshakeSecret = null;
        if (_config!.TicketKeys is not null && !_ticketSent)
            SendTicket13();
        _masterSecret?.Dispose();
        _masterSecret = null;
        ReleaseHandshakeState();
        return TlsStatus.HandshakeComplete;
    }

    /// <summary>
    /// What the connection still needs from the ClientHello once it is parsed, kept apart so that the parsed message
    /// (key shares, lists: over a kilobyte with a post-quantum share) can go when the handshake is done.
    /// </summary>
    private void RememberHello(ClientHello hello)
    {
        ClientHello = hello;
        _clientRandom = hello.Random;
        _serverName = hello.ServerName;
        _clientOfferedRecordSizeLimit = hello.RecordSizeLimit is not null;
    }

    /// <summary>
    /// Drops everything only the handshake needed (parsed ClientHello, transcript hash, handshake messages and
    /// buffers), so an idle established connection holds little more than its record keys.
    /// </summary>
    private void ReleaseHandshakeState()
    {
        ClientHello = null;
        _transcript?.Dispose();
        _transcript = null;
        _firstHelloMessage = null;
        _currentHelloMessage = null;
        _hrrTranscriptPrefix = null;
        _expectedClientFinished = null;
        _pendingClientLeaf?.Dispose();
        _pendingClientLeaf = null;
        if (_handshakeFill == 0)
            ReleaseHandshakeBuffer();
    }

    // ---------------- state: Connected ----------------

    private TlsStatus? HandleKeyUpdate(byte[] message)
    {
        ReadOnlySpan<byte> body = message.AsSpan(4);
        if (body.Length != 1)
            return FailStatus(TlsAlertDescription.DecodeError, "KeyUpdate of the wrong length");
        // RFC 8446 §4.6.3: a request_update other than 0 or 1 MUST be answered with illegal_parameter.
        if (body[0] > 1)
            return FailStatus(TlsAlertDescription.IllegalParameter, "KeyUpdate with an invalid request_update");
        TrafficSecret next = _clientAppSecret!.Next();
        _clientAppSecret.Dispose();
        _clientAppSecret = next;
        _read!.Dispose();
        _read = RecordProtection.Create(next);
        // RFC 8446 §4.6.3: update_requested MUST be answered with our own KeyUpdate (update_not_requested).
        if (body[0] == 1 && !_closeSent)
            SendKeyUpdate(false);
        return null;
    }

    private void SendKeyUpdate(bool requestPeerUpdate)
    {
        Span<byte> buffer = stackalloc byte[5];
        var w = new TlsWriter(buffer);
        ServerMessages.WriteKeyUpdate(ref w, requestPeerUpdate);
        WriteProtected(TlsContentType.Handshake, w.Written);
        TrafficSecret next = _serverAppSecret!.Next();
        _serverAppSecret.Dispose();
        _serverAppSecret = next;
        _write!.Dispose();
        _write = RecordProtection.Create(next);
    }

    // ---------------- states: ExpectClientCertificate, ExpectCertificateVerify (RFC 8446 §4.4.2-4.4.3) ----------------

    private TlsStatus? HandleClientCertificate(byte[] message)
    {
        var r = new TlsReader(message.AsSpan(4));
        if (!r.TryReadVector8(out ReadOnlySpan<byte> context) || !r.TryReadVector24(out TlsReader list) || !r.ExpectEmpty())
            return FailStatus(TlsAlertDescription.DecodeError, "malformed client Certificate");
        // RFC 8446 §4.4.2: the context echoes the CertificateRequest's, which was empty.
        if (!context.IsEmpty)
            return FailStatus(TlsAlertDescription.IllegalParameter, "client Certificate with a non-empty context");
        var chain = new List<byte[]>();
        while (!list.IsEmpty)
        {
            if (!list.TryReadVector24(out ReadOnlySpan<byte> der) || der.IsEmpty || !list.TryReadVector16(out ReadOnlySpan<byte> _))
                return FailStatus(TlsAlertDescription.DecodeError, "malformed client Certificate entry");
            chain.Add(der.ToArray());
        }
        _transcript!.AppendData(message);
        if (chain.Count == 0)
        {
            // RFC 8446 §4.4.2.4: no certificate when one is required MAY be answered with certificate_required.
            if (_config!.ClientAuth == TlsClientAuth.Require)
                return FailStatus(TlsAlertDescription.CertificateRequired, "client sent no certificate");
            _state = State.ExpectFinished;
            return null;
        }
        if (!TryVerifyClientChain(chain))
            return TlsStatus.Failed;
        _state = State.ExpectCertificateVerify;
        return null;
    }

    private TlsStatus? HandleClientCertificateVerify(byte[] message)
    {
        var r = new TlsReader(message.AsSpan(4));
        if (!r.TryReadUInt16(out ushort scheme) || !r.TryReadVector16(out ReadOnlySpan<byte> signature) || !r.ExpectEmpty())
            return FailStatus(TlsAlertDescription.DecodeError, "malformed client CertificateVerify");
        // RFC 8446 §4.4.3: the scheme MUST be one the CertificateRequest offered.
        if (Array.IndexOf(ClientCertificateVerifier.Tls13Schemes, scheme) < 0)
            return FailStatus(TlsAlertDescription.IllegalParameter, "client CertificateVerify with an unoffered scheme");
        Span<byte> hash = stackalloc byte[_suite.HashLength];
        _transcript!.GetCurrentHash(hash);
        byte[] content = ServerMessages.CertificateVerifyContent(server: false, hash);
        // RFC 8446 §6.2: a signature that does not verify is decrypt_error.
        if (!ClientCertificateVerifier.VerifyData(_pendingClientLeaf!, (TlsSignatureScheme)scheme, content, signature))
            return FailStatus(TlsAlertDescription.DecryptError, "client CertificateVerify does not verify");
        _transcript.AppendData(message);
        AcceptPendingClientCertificate();
        _state = State.ExpectFinished;
        return null;
    }

    private bool TryVerifyClientChain(List<byte[]> chain)
    {
        var leaf = ClientCertificateVerifier.Verify(chain, _config!, _now, out TlsAlertDescription alert, out string reason);
        if (leaf is null)
            return Fail(alert, reason);
        _pendingClientLeaf = leaf;
        return true;
    }

    private void AcceptPendingClientCertificate()
    {
        ClientCertificateDer = _pendingClientLeaf!.RawData;
        ClientCertificateSubject = _pendingClientLeaf.Subject;
        _pendingClientLeaf.Dispose();
        _pendingClientLeaf = null;
    }

    private void SetClientCertificate(byte[] der)
    {
        ClientCertificateDer = der;
        try
        {
            using var cert = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(der);
            ClientCertificateSubject = cert.Subject;
        }
        catch (CryptographicException)
        {
            ClientCertificateSubject = null;
        }
    }

    private void LogSecret(string label, ReadOnlySpan<byte> secret)
    {
        if (_config?.KeyLog is { } log)
            log(label, _clientRandom.Span, secret);
    }

    private void DisposeSchedule()
    {
        _clientAppSecret?.Dispose();
        _clientAppSecret = null;
        _serverAppSecret?.Dispose();
        _serverAppSecret = null;
        _clientHandshakeSecret?.Dispose();
        _clientHandshakeSecret = null;
        _masterSecret?.Dispose();
        _masterSecret = null;
        _pendingClientLeaf?.Dispose();
        _pendingClientLeaf = null;
        if (_expectedClientFinished is not null)
            CryptographicOperations.ZeroMemory(_expectedClientFinished);
    }
}
