using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Bufferless.Crypto.KeyExchange;
using Bufferless.Tls.KeySchedule;
using Bufferless.Tls.Messages;
using Bufferless.Tls.Records;

namespace Bufferless.Tls.Tests.TestSupport;

/// <summary>Options for <see cref="TlsTestClient"/>'s ClientHello.</summary>
internal sealed record TlsTestClientOptions
{
    public TlsCipherSuite[] Suites { get; init; } = [TlsCipherSuite.Aes128GcmSha256, TlsCipherSuite.Aes256GcmSha384, TlsCipherSuite.ChaCha20Poly1305Sha256];
    public NamedGroup[] SupportedGroups { get; init; } = [NamedGroup.X25519, NamedGroup.Secp256r1, NamedGroup.Secp384r1];
    public NamedGroup[] KeyShareGroups { get; init; } = [NamedGroup.X25519];
    public TlsSignatureScheme[] SignatureSchemes { get; init; } =
        [TlsSignatureScheme.EcdsaSecp256r1Sha256, TlsSignatureScheme.EcdsaSecp384r1Sha384, TlsSignatureScheme.RsaPssRsaeSha256,
         TlsSignatureScheme.RsaPssRsaeSha384, TlsSignatureScheme.RsaPssRsaeSha512];
    public bool CompatibilitySessionId { get; init; } = true;
    public string? ServerName { get; init; } = "example.test";
    public string[]? Alpn { get; init; }
    public int? RecordSizeLimit { get; init; }
    public bool OfferEarlyData { get; init; }
    /// <summary>Raw early-data records to send after the ClientHello (they are encrypted under a key the server cannot know).</summary>
    public int EarlyDataRecords { get; init; }
    /// <summary>A ticket from an earlier connection to offer in pre_shared_key.</summary>
    public TlsTestTicket? Resume { get; init; }
    public byte[] PskModes { get; init; } = [1];
    /// <summary>Flip a bit of the PSK binder.</summary>
    public bool CorruptBinder { get; init; }
    /// <summary>Added to the honest obfuscated_ticket_age.</summary>
    public long TicketAgeSkewMilliseconds { get; init; }
    /// <summary>Elapsed time since the ticket arrived, as the client reports it.</summary>
    public long TicketAgeMilliseconds { get; init; }
    /// <summary>Certificate (with private key) to answer a CertificateRequest; null sends an empty Certificate.</summary>
    public X509Certificate2? ClientCertificate { get; init; }
    public bool CorruptCertificateVerify { get; init; }
    /// <summary>Split the ClientHello over this many records.</summary>
    public int HelloRecords { get; init; } = 1;
}

/// <summary>What a TLS 1.3 client keeps from a NewSessionTicket (RFC 8446 §4.6.1).</summary>
internal sealed record TlsTestTicket(byte[] Ticket, uint AgeAdd, uint Lifetime, byte[] Psk, TlsCipherSuite Suite);

/// <summary>
/// A small TLS 1.3 client for tests: builds ClientHellos, follows HelloRetryRequest, checks the server's
/// CertificateVerify signature and Finished, then carries application data, KeyUpdate and close_notify.
/// It reuses the library's key-schedule and record types; RFC 8448 and SslStream interop check those independently.
/// </summary>
internal sealed class TlsTestClient : IDisposable
{
    private readonly TlsTestClientOptions _options;
    private readonly List<byte> _output = [];
    private readonly List<byte> _input = [];
    private readonly List<byte> _handshake = [];
    private readonly Dictionary<NamedGroup, ClientKeyShare> _shares = [];
    private readonly byte[] _random = RandomNumberGenerator.GetBytes(32);

    /// <summary>The client random sent in the ClientHello.</summary>
    public ReadOnlySpan<byte> ClientRandom => _random;
    private readonly byte[] _sessionId;
    private IncrementalHash? _transcript;
    private readonly List<byte[]> _pendingTranscript = [];
    private CipherSuiteInfo _suite;
    private HandshakeSecret? _handshakeSecret;
    private TrafficSecret? _serverHs, _clientHs, _clientAp, _serverAp;
    private RecordProtection? _read, _write;
    private bool _ccsSent;
    private int _stage; // 0 expect SH, 1 expect EE, 2 Cert, 3 CV, 4 Finished, 5 connected
    private byte[]? _hrrPrefix;
    private byte[]? _resumptionMaster;
    private bool _certificateRequested;

    public TlsTestClient(TlsTestClientOptions? options = null)
    {
        _options = options ?? new TlsTestClientOptions();
        _sessionId = _options.CompatibilitySessionId ? RandomNumberGenerator.GetBytes(32) : [];
    }

    public byte[] FirstClientHello { get; private set; } = [];
    public bool HandshakeComplete => _stage == 5;
    public bool SawHelloRetryRequest { get; private set; }
    /// <summary>Verify the server's flight but keep the client Finished back (the write key stays the handshake key).</summary>
    public bool HoldFinished { get; set; }
    public int ChangeCipherSpecsSeen { get; private set; }
    public TlsCipherSuite Suite => _suite.Suite;
    public NamedGroup? Group { get; private set; }
    public TlsSignatureScheme Scheme { get; private set; }
    public X509Certificate2[] Certificates { get; private set; } = [];
    public string? Alpn { get; private set; }
    public int? ServerRecordSizeLimit { get; private set; }
    public bool ServerAcknowledgedName { get; private set; }
    public bool ServerAcceptedEarlyData { get; private set; }
    public TlsAlertDescription? ReceivedAlert { get; private set; }
    public List<byte> ApplicationData { get; } = [];
    public List<int> ReceivedRecordSizes { get; } = [];
    public int KeyUpdatesReceived { get; private set; }
    public string? Error { get; private set; }
    public bool PskAccepted { get; private set; }
    public bool CertificateRequested => _certificateRequested;
    public List<TlsTestTicket> Tickets { get; } = [];
    /// <summary>Set when a NewSessionTicket arrived before this client sent its Finished (ticket in the server's flight).</summary>
    public bool TicketBeforeClientFinished { get; private set; }
    public List<byte[]> ClientHelloRecords { get; } = [];

    public byte[] TakeOutput()
    {
        byte[] bytes = [.. _output];
        _output.Clear();
        return bytes;
    }

    public void Start()
    {
        byte[] hello = BuildClientHello(_options.KeyShareGroups, cookie: null);
        FirstClientHello = hello;
        _pendingTranscript.Add(hello);
        // Optionally split the ClientHello over several records (the record layer must reassemble it).
        int pieces = Math.Max(1, _options.HelloRecords);
        int size = (hello.Length + pieces - 1) / pieces;
        for (int offset = 0; offset < hello.Length; offset += size)
            WritePlain(TlsContentType.Handshake, hello.AsSpan(offset, Math.Min(size, hello.Length - offset)));
        for (int i = 0; i < _options.EarlyDataRecords; i++)
        {
            // 0-RTT records under a key only a PSK could give: bytes the server must skip.
            byte[] fake = RandomNumberGenerator.GetBytes(100);
            _output.AddRange([23, 3, 3, 0, 100, .. fake]);
        }
    }

    public byte[] BuildClientHello(NamedGroup[] shareGroups, byte[]? cookie)
    {
        byte[] buffer = new byte[8192];
        var w = new TlsWriter(buffer);
        int msg = w.BeginHandshake(TlsHandshakeType.ClientHello);
        w.WriteUInt16(0x0303);
        w.WriteBytes(_random);
        w.WriteVector8(_sessionId);
        int suites = w.BeginVector16();
        foreach (var s in _options.Suites) w.WriteUInt16((ushort)s);
        w.EndVector16(suites);
        w.WriteUInt8(1); w.WriteUInt8(0);
        int exts = w.BeginVector16();
        if (_options.ServerName is { } name)
        {
            w.WriteUInt16(0); int e = w.BeginVector16(); int l = w.BeginVector16();
            w.WriteUInt8(0); w.WriteVector16(Encoding.ASCII.GetBytes(name));
            w.EndVector16(l); w.EndVector16(e);
        }
        {
            w.WriteUInt16(10); int e = w.BeginVector16(); int l = w.BeginVector16();
            foreach (var g in _options.SupportedGroups) w.WriteUInt16((ushort)g);
            w.EndVector16(l); w.EndVector16(e);
        }
        {
            w.WriteUInt16(13); int e = w.BeginVector16(); int l = w.BeginVector16();
            foreach (var s in _options.SignatureSchemes) w.WriteUInt16((ushort)s);
            w.EndVector16(l); w.EndVector16(e);
        }
        if (_options.Alpn is { } alpn)
        {
            w.WriteUInt16(16); int e = w.BeginVector16(); int l = w.BeginVector16();
            foreach (var p in alpn) w.WriteVector8(Encoding.ASCII.GetBytes(p));
            w.EndVector16(l); w.EndVector16(e);
        }
        if (_options.RecordSizeLimit is int rsl)
        {
            w.WriteUInt16(28); w.WriteUInt16(2); w.WriteUInt16((ushort)rsl);
        }
        {
            w.WriteUInt16(51); int e = w.BeginVector16(); int l = w.BeginVector16();
            foreach (var g in shareGroups)
            {
                if (!_shares.TryGetValue(g, out var share))
                    _shares[g] = share = KeyAgreement.Get(g).CreateClientShare();
                w.WriteUInt16((ushort)g); w.WriteVector16(share.PublicShare);
            }
            w.EndVector16(l); w.EndVector16(e);
        }
        w.WriteUInt16(43); w.WriteUInt16(3); w.WriteUInt8(2); w.WriteUInt16(0x0304);
        w.WriteUInt16(45); w.WriteUInt16((ushort)(1 + _options.PskModes.Length)); w.WriteVector8(_options.PskModes);
        if (cookie is not null)
        {
            w.WriteUInt16(44); int e = w.BeginVector16(); w.WriteVector16(cookie); w.EndVector16(e);
        }
        if (_options.OfferEarlyData && cookie is null && !SawHelloRetryRequest)
        {
            w.WriteUInt16(42); w.WriteUInt16(0);
        }
        int bindersAt = -1;
        int hashLength = 0;
        if (_options.Resume is { } resume)
        {
            // RFC 8446 §4.2.11: pre_shared_key last; the binder is filled in once the truncated hello is known.
            hashLength = CipherSuiteInfo.Get(resume.Suite).HashLength;
            w.WriteUInt16(41); int e = w.BeginVector16();
            int ids = w.BeginVector16();
            w.WriteVector16(resume.Ticket);
            w.WriteUInt32(unchecked((uint)(_options.TicketAgeMilliseconds + _options.TicketAgeSkewMilliseconds) + resume.AgeAdd));
            w.EndVector16(ids);
            bindersAt = w.Position;
            int binders = w.BeginVector16();
            w.WriteVector8(new byte[hashLength]);
            w.EndVector16(binders);
            w.EndVector16(e);
        }
        w.EndVector16(exts);
        w.EndVector24(msg);
        byte[] message = w.Written.ToArray();
        if (_options.Resume is { } r)
        {
            var suite = CipherSuiteInfo.Get(r.Suite);
            using var h = IncrementalHash.CreateHash(suite.Hash);
            if (_hrrPrefix is not null) h.AppendData(_hrrPrefix);
            h.AppendData(message.AsSpan(0, bindersAt));
            using var early = EarlySecret.Create(suite, r.Psk);
            using var binderKey = early.DeriveResumptionBinderKey();
            byte[] binder = new byte[hashLength];
            binderKey.ComputeFinished(h.GetHashAndReset(), binder);
            if (_options.CorruptBinder) binder[0] ^= 1;
            binder.CopyTo(message, bindersAt + 3);
        }
        return message;
    }

    public void Feed(ReadOnlySpan<byte> bytes)
    {
        _input.AddRange(bytes);
        while (Error is null && _input.Count >= 5)
        {
            int length = (_input[3] << 8) | _input[4];
            if (_input.Count < 5 + length) return;
            byte[] record = _input.GetRange(0, 5 + length).ToArray();
            _input.RemoveRange(0, 5 + length);
            HandleRecord(record);
        }
    }

    private void HandleRecord(byte[] record)
    {
        var type = (TlsContentType)record[0];
        Span<byte> body = record.AsSpan(5);
        if (type == TlsContentType.ChangeCipherSpec) { ChangeCipherSpecsSeen++; return; }
        if (type == TlsContentType.Alert && _read is null) { ReceivedAlert = (TlsAlertDescription)body[1]; return; }
        if (type == TlsContentType.Handshake) { HandleHandshake(body); return; }
        if (type != TlsContentType.ApplicationData || _read is null) { Error = "unexpected record " + type; return; }
        if (!_read.TryOpen(record.AsSpan(0, 5), body, out var inner, out int len)) { Error = "bad_record_mac"; return; }
        ReceivedRecordSizes.Add(len);
        switch (inner)
        {
            case TlsContentType.Handshake: HandleHandshake(body[..len]); break;
            case TlsContentType.Alert: ReceivedAlert = (TlsAlertDescription)body[1]; break;
            case TlsContentType.ApplicationData: ApplicationData.AddRange(body[..len]); break;
            default: Error = "inner type " + inner; break;
        }
    }

    private void HandleHandshake(ReadOnlySpan<byte> bytes)
    {
        _handshake.AddRange(bytes);
        while (Error is null && _handshake.Count >= 4)
        {
            int length = (_handshake[1] << 16) | (_handshake[2] << 8) | _handshake[3];
            if (_handshake.Count < 4 + length) return;
            byte[] message = _handshake.GetRange(0, 4 + length).ToArray();
            _handshake.RemoveRange(0, 4 + length);
            HandleMessage(message);
        }
    }

    private void HandleMessage(byte[] message)
    {
        var type = (TlsHandshakeType)message[0];
        var r = new TlsReader(message.AsSpan(4));
        switch (_stage, type)
        {
            case (0, TlsHandshakeType.ServerHello): HandleServerHello(message); return;
            case (1, TlsHandshakeType.EncryptedExtensions): HandleEncryptedExtensions(message); if (PskAccepted) _stage = 4; return;
            case (2, TlsHandshakeType.CertificateRequest):
                _certificateRequested = true;
                _transcript!.AppendData(message);
                return;
            case (5 or 6, TlsHandshakeType.NewSessionTicket):
            {
                r.TryReadUInt32(out uint lifetime);
                r.TryReadUInt32(out uint ageAdd);
                r.TryReadVector8(out ReadOnlySpan<byte> nonce);
                r.TryReadVector16(out ReadOnlySpan<byte> ticket);
                if (_resumptionMaster is null) { TicketBeforeClientFinished = true; return; }
                Tickets.Add(new TlsTestTicket(ticket.ToArray(), ageAdd, lifetime, TrafficSecret.ResumptionPsk(_suite, _resumptionMaster, nonce), _suite.Suite));
                return;
            }
            case (2, TlsHandshakeType.Certificate):
            {
                r.TryReadVector8(out ReadOnlySpan<byte> _);
                r.TryReadVector24(out TlsReader list);
                var certs = new List<X509Certificate2>();
                while (!list.IsEmpty)
                {
                    list.TryReadVector24(out ReadOnlySpan<byte> der);
                    list.TryReadVector16(out ReadOnlySpan<byte> _);
                    certs.Add(X509CertificateLoader.LoadCertificate(der));
                }
                Certificates = [.. certs];
                _transcript!.AppendData(message);
                _stage = 3;
                return;
            }
            case (3, TlsHandshakeType.CertificateVerify):
            {
                r.TryReadUInt16(out ushort scheme);
                r.TryReadVector16(out ReadOnlySpan<byte> signature);
                Scheme = (TlsSignatureScheme)scheme;
                byte[] content = ServerMessages.CertificateVerifyContent(true, _transcript!.GetCurrentHash());
                if (!VerifySignature(Scheme, content, signature)) { Error = "bad signature"; return; }
                _transcript.AppendData(message);
                _stage = 4;
                return;
            }
            case (4, TlsHandshakeType.Finished):
            {
                byte[] expected = new byte[_suite.HashLength];
                _serverHs!.ComputeFinished(_transcript!.GetCurrentHash(), expected);
                if (!expected.AsSpan().SequenceEqual(message.AsSpan(4))) { Error = "bad server Finished"; return; }
                _transcript.AppendData(message);
                byte[] hash = _transcript.GetCurrentHash();
                using var master = _handshakeSecret!.DeriveMasterSecret();
                _clientAp = master.DeriveClientApplicationSecret(hash);
                _serverAp = master.DeriveServerApplicationSecret(hash);
                _read!.Dispose(); _read = RecordProtection.Create(_serverAp);
                if (HoldFinished) { _stage = 6; return; }
                if (!_ccsSent && _sessionId.Length > 0) { WritePlain(TlsContentType.ChangeCipherSpec, [1]); _ccsSent = true; }
                if (_certificateRequested) SendClientCertificate();
                byte[] verify = new byte[_suite.HashLength];
                _clientHs!.ComputeFinished(_transcript.GetCurrentHash(), verify);
                byte[] finished = [20, 0, 0, (byte)verify.Length, .. verify];
                WriteEncrypted(TlsContentType.Handshake, finished);
                _transcript.AppendData(finished);
                _resumptionMaster = master.DeriveResumptionSecret(_transcript.GetCurrentHash());
                _write!.Dispose(); _write = RecordProtection.Create(_clientAp);
                _stage = 5;
                return;
            }
            case (5, TlsHandshakeType.KeyUpdate):
            {
                KeyUpdatesReceived++;
                var next = _serverAp!.Next(); _serverAp.Dispose(); _serverAp = next;
                _read!.Dispose(); _read = RecordProtection.Create(next);
                if (message[4] == 1) SendKeyUpdate(false);
                return;
            }
            default:
                Error = $"unexpected {type} at stage {_stage}";
                return;
        }
    }

    private void SendClientCertificate()
    {
        byte[] certificate = _options.ClientCertificate is { } c
            ? [11, .. U24(c.RawData.Length + 9), 0, .. U24(c.RawData.Length + 5), .. U24(c.RawData.Length), .. c.RawData, 0, 0]
            : [11, 0, 0, 4, 0, 0, 0, 0];
        WriteEncrypted(TlsContentType.Handshake, certificate);
        _transcript!.AppendData(certificate);
        if (_options.ClientCertificate is not { } cert) return;
        byte[] content = ServerMessages.CertificateVerifyContent(false, _transcript.GetCurrentHash());
        TlsSignatureScheme scheme;
        byte[] signature;
        if (cert.GetRSAPrivateKey() is { } rsa)
        {
            scheme = TlsSignatureScheme.RsaPssRsaeSha256;
            signature = rsa.SignData(content, HashAlgorithmName.SHA256, RSASignaturePadding.Pss);
        }
        else
        {
            var ec = cert.GetECDsaPrivateKey()!;
            scheme = ec.KeySize == 384 ? TlsSignatureScheme.EcdsaSecp384r1Sha384 : TlsSignatureScheme.EcdsaSecp256r1Sha256;
            signature = ec.SignData(content, ec.KeySize == 384 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        if (_options.CorruptCertificateVerify) signature[^1] ^= 1;
        byte[] verify = [15, .. U24(signature.Length + 4), (byte)((ushort)scheme >> 8), (byte)scheme, (byte)(signature.Length >> 8), (byte)signature.Length, .. signature];
        WriteEncrypted(TlsContentType.Handshake, verify);
        _transcript.AppendData(verify);
    }

    private static byte[] U24(int n) => [(byte)(n >> 16), (byte)(n >> 8), (byte)n];

    private bool VerifySignature(TlsSignatureScheme scheme, byte[] content, ReadOnlySpan<byte> signature)
    {
        X509Certificate2 leaf = Certificates[0];
        using RSA? rsa = leaf.GetRSAPublicKey();
        using ECDsa? ec = leaf.GetECDsaPublicKey();
        return scheme switch
        {
            TlsSignatureScheme.RsaPssRsaeSha256 => rsa!.VerifyData(content, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
            TlsSignatureScheme.RsaPssRsaeSha384 => rsa!.VerifyData(content, signature, HashAlgorithmName.SHA384, RSASignaturePadding.Pss),
            TlsSignatureScheme.RsaPssRsaeSha512 => rsa!.VerifyData(content, signature, HashAlgorithmName.SHA512, RSASignaturePadding.Pss),
            TlsSignatureScheme.EcdsaSecp256r1Sha256 => ec!.KeySize == 256 && ec.VerifyData(content, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence),
            TlsSignatureScheme.EcdsaSecp384r1Sha384 => ec!.KeySize == 384 && ec.VerifyData(content, signature, HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence),
            _ => false,
        };
    }

    private void HandleServerHello(byte[] message)
    {
        var r = new TlsReader(message.AsSpan(4));
        r.TryReadUInt16(out _);
        r.TryReadBytes(32, out ReadOnlySpan<byte> random);
        r.TryReadVector8(out ReadOnlySpan<byte> sessionId);
        r.TryReadUInt16(out ushort suite);
        r.TryReadUInt8(out _);
        r.TryReadVector16(out TlsReader exts);
        if (!sessionId.SequenceEqual(_sessionId)) { Error = "session id not echoed"; return; }
        bool hrr = random.SequenceEqual(ServerMessages.HelloRetryRequestRandom);
        NamedGroup group = default;
        ReadOnlySpan<byte> serverShare = default;
        byte[]? cookie = null;
        bool version = false;
        while (!exts.IsEmpty)
        {
            exts.TryReadUInt16(out ushort type);
            exts.TryReadVector16(out TlsReader data);
            if (type == 43) { data.TryReadUInt16(out ushort v); version = v == 0x0304; }
            else if (type == 51)
            {
                data.TryReadUInt16(out ushort g); group = (NamedGroup)g;
                if (!hrr) data.TryReadVector16(out serverShare);
            }
            else if (type == 44) { data.TryReadVector16(out ReadOnlySpan<byte> c); cookie = c.ToArray(); }
            else if (type == 41) { data.TryReadUInt16(out ushort selected); PskAccepted = selected == 0; }
        }
        if (!version) { Error = "no TLS 1.3"; return; }
        _suite = CipherSuiteInfo.Get((TlsCipherSuite)suite);
        if (_transcript is null)
        {
            _transcript = IncrementalHash.CreateHash(_suite.Hash);
            foreach (var m in _pendingTranscript) _transcript.AppendData(m);
        }
        if (hrr)
        {
            if (SawHelloRetryRequest) { Error = "second HRR"; return; }
            SawHelloRetryRequest = true;
            byte[] ch1Hash = _transcript.GetHashAndReset();
            _transcript.AppendData([254, 0, 0, (byte)ch1Hash.Length, .. ch1Hash]);
            _transcript.AppendData(message);
            _hrrPrefix = [254, 0, 0, (byte)ch1Hash.Length, .. ch1Hash, .. message];
            byte[] hello2 = BuildClientHello([group], cookie);
            _transcript.AppendData(hello2);
            if (_sessionId.Length > 0 && !_ccsSent) { WritePlain(TlsContentType.ChangeCipherSpec, [1]); _ccsSent = true; }
            WritePlain(TlsContentType.Handshake, hello2);
            return;
        }
        _transcript.AppendData(message);
        Group = group;
        byte[] shared = new byte[KeyAgreement.Get(group).SharedSecretLength];
        if (!_shares[group].TryComplete(serverShare, shared)) { Error = "bad server share"; return; }
        byte[] helloHash = _transcript.GetCurrentHash();
        using var early = EarlySecret.Create(_suite, PskAccepted ? _options.Resume!.Psk : default);
        _handshakeSecret = early.DeriveHandshakeSecret(shared);
        _clientHs = _handshakeSecret.DeriveClientTrafficSecret(helloHash);
        _serverHs = _handshakeSecret.DeriveServerTrafficSecret(helloHash);
        _read = RecordProtection.Create(_serverHs);
        _write = RecordProtection.Create(_clientHs);
        _stage = 1;
    }

    private void HandleEncryptedExtensions(byte[] message)
    {
        var r = new TlsReader(message.AsSpan(4));
        r.TryReadVector16(out TlsReader exts);
        while (!exts.IsEmpty)
        {
            exts.TryReadUInt16(out ushort type);
            exts.TryReadVector16(out TlsReader data);
            switch (type)
            {
                case 0: ServerAcknowledgedName = true; break;
                case 28: data.TryReadUInt16(out ushort l); ServerRecordSizeLimit = l; break;
                case 42: ServerAcceptedEarlyData = true; break;
                case 16:
                    data.TryReadVector16(out TlsReader list);
                    list.TryReadVector8(out ReadOnlySpan<byte> p);
                    Alpn = Encoding.ASCII.GetString(p);
                    break;
            }
        }
        _transcript!.AppendData(message);
        _stage = 2;
    }

    public void SendApplicationData(ReadOnlySpan<byte> data) => WriteEncrypted(TlsContentType.ApplicationData, data);

    public void SendKeyUpdate(bool request)
    {
        WriteEncrypted(TlsContentType.Handshake, [24, 0, 0, 1, request ? (byte)1 : (byte)0]);
        var next = _clientAp!.Next(); _clientAp.Dispose(); _clientAp = next;
        _write!.Dispose(); _write = RecordProtection.Create(next);
    }

    public void SendCloseNotify() => WriteEncrypted(TlsContentType.Alert, [1, 0]);

    /// <summary>Seals arbitrary content as one record under the current write key (for malformed-input tests).</summary>
    public void WriteEncrypted(TlsContentType type, ReadOnlySpan<byte> content)
    {
        byte[] record = new byte[content.Length + TlsRecordLimits.ProtectedOverhead];
        content.CopyTo(record.AsSpan(5));
        int n = _write!.SealInPlace(type, record, content.Length);
        _output.AddRange(record.AsSpan(0, n));
    }

    public void WritePlain(TlsContentType type, ReadOnlySpan<byte> content)
    {
        _output.AddRange([(byte)type, 3, (byte)(type == TlsContentType.Handshake && _transcript is null ? 1 : 3), (byte)(content.Length >> 8), (byte)content.Length]);
        _output.AddRange(content);
    }

    public void Dispose()
    {
        foreach (var s in _shares.Values) s.Dispose();
        _transcript?.Dispose();
        if (_resumptionMaster is not null) CryptographicOperations.ZeroMemory(_resumptionMaster);
        _handshakeSecret?.Dispose(); _serverHs?.Dispose(); _clientHs?.Dispose(); _clientAp?.Dispose(); _serverAp?.Dispose();
        _read?.Dispose(); _write?.Dispose();
        foreach (var c in Certificates) c.Dispose();
    }
}
