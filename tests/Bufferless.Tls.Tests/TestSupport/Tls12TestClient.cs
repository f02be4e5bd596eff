using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Bufferless.Crypto.KeyExchange;
using Bufferless.Tls.KeySchedule;
using Bufferless.Tls.Messages;
using Bufferless.Tls.Records;

namespace Bufferless.Tls.Tests.TestSupport;

internal sealed record Tls12TestClientOptions
{
    public TlsCipherSuite[] Suites { get; init; } =
    [
        TlsCipherSuite.EcdheEcdsaAes128GcmSha256, TlsCipherSuite.EcdheRsaAes128GcmSha256, TlsCipherSuite.EcdheEcdsaAes256GcmSha384,
        TlsCipherSuite.EcdheRsaAes256GcmSha384, TlsCipherSuite.EcdheEcdsaChaCha20Poly1305Sha256, TlsCipherSuite.EcdheRsaChaCha20Poly1305Sha256,
    ];
    public ushort[] ExtraSuites { get; init; } = [];
    public NamedGroup[] Groups { get; init; } = [NamedGroup.X25519, NamedGroup.Secp256r1, NamedGroup.Secp384r1];
    public TlsSignatureScheme[] SignatureSchemes { get; init; } =
        [TlsSignatureScheme.EcdsaSecp256r1Sha256, TlsSignatureScheme.EcdsaSecp384r1Sha384, TlsSignatureScheme.RsaPssRsaeSha256, TlsSignatureScheme.RsaPkcs1Sha256];
    public bool ExtendedMasterSecret { get; init; } = true;
    public byte[]? RenegotiationInfo { get; init; } = [];
    public bool EcPointFormats { get; init; } = true;
    /// <summary>null: no SessionTicket extension; empty: ask for a ticket; bytes: offer that ticket.</summary>
    public byte[]? SessionTicket { get; init; }
    public byte[] SessionId { get; init; } = [];
    public string? ServerName { get; init; } = "example.test";
    public string[]? Alpn { get; init; }
    /// <summary>When set, sent as supported_versions (else no supported_versions, legacy_version 0x0303).</summary>
    public ushort[]? SupportedVersions { get; init; }
    public ushort LegacyVersion { get; init; } = 0x0303;
    /// <summary>Certificate (with private key) to answer a CertificateRequest; null sends an empty Certificate.</summary>
    public X509Certificate2? ClientCertificate { get; init; }
    public bool CorruptCertificateVerify { get; init; }
}

/// <summary>
/// A small TLS 1.2 client for tests (RFC 5246 with RFC 7627 EMS, RFC 5077 tickets, ECDHE + AEAD suites). It checks
/// the ServerKeyExchange signature and the server Finished; record protection reuses the library's RecordProtection
/// (SslStream interop checks it independently).
/// </summary>
internal sealed class Tls12TestClient : IDisposable
{
    private readonly Tls12TestClientOptions _o;
    private readonly List<byte> _output = [];
    private readonly List<byte> _input = [];
    private readonly List<byte> _handshake = [];
    private readonly byte[] _clientRandom = RandomNumberGenerator.GetBytes(32);
    private readonly List<byte[]> _messages = [];
    private byte[] _serverRandom = [];
    private CipherSuiteInfo _suite;
    private ClientKeyShare? _share;
    private byte[]? _master;
    private RecordProtection? _read, _write, _pendingRead, _pendingWrite;
    private bool _certificateRequested;
    private bool _abbreviated;

    public Tls12TestClient(Tls12TestClientOptions? options = null) => _o = options ?? new Tls12TestClientOptions();

    public TlsCipherSuite Suite => _suite.Suite;
    public byte[] ServerRandom => _serverRandom;
    public byte[] ClientRandom => _clientRandom;
    public byte[] ServerSessionId { get; private set; } = [];
    public NamedGroup? Group { get; private set; }
    public TlsSignatureScheme ServerKeyExchangeScheme { get; private set; }
    public X509Certificate2[] Certificates { get; private set; } = [];
    public List<ushort> ServerHelloExtensions { get; } = [];
    public string? Alpn { get; private set; }
    public bool CertificateRequested => _certificateRequested;
    public bool HandshakeComplete { get; private set; }
    public bool Resumed => _abbreviated;
    public byte[]? Ticket { get; private set; }
    public byte[]? MasterSecret => _master;
    public List<(byte Level, TlsAlertDescription Description)> Alerts { get; } = [];
    public TlsAlertDescription? ReceivedAlert => Alerts.Count == 0 ? null : Alerts[^1].Description;
    public List<byte> ApplicationData { get; } = [];
    public string? Error { get; private set; }
    /// <summary>Stop after ServerHelloDone without answering (malformed-input tests send their own flight).</summary>
    public bool HoldClientFlight { get; set; }
    public bool ServerHelloDoneSeen { get; private set; }

    public byte[] TakeOutput()
    {
        byte[] bytes = [.. _output];
        _output.Clear();
        return bytes;
    }

    public byte[] BuildClientHello()
    {
        byte[] buffer = new byte[8192];
        var w = new TlsWriter(buffer);
        int msg = w.BeginHandshake(TlsHandshakeType.ClientHello);
        w.WriteUInt16(_o.LegacyVersion);
        w.WriteBytes(_clientRandom);
        w.WriteVector8(_o.SessionId);
        int suites = w.BeginVector16();
        foreach (var s in _o.Suites) w.WriteUInt16((ushort)s);
        foreach (var s in _o.ExtraSuites) w.WriteUInt16(s);
        w.EndVector16(suites);
        w.WriteUInt8(1); w.WriteUInt8(0);
        int exts = w.BeginVector16();
        if (_o.ServerName is { } name)
        {
            w.WriteUInt16(0); int e = w.BeginVector16(); int l = w.BeginVector16();
            w.WriteUInt8(0); w.WriteVector16(Encoding.ASCII.GetBytes(name));
            w.EndVector16(l); w.EndVector16(e);
        }
        if (_o.RenegotiationInfo is { } reneg) { w.WriteUInt16(0xff01); int e = w.BeginVector16(); w.WriteVector8(reneg); w.EndVector16(e); }
        if (_o.Groups.Length > 0)
        {
            w.WriteUInt16(10); int e = w.BeginVector16(); int l = w.BeginVector16();
            foreach (var g in _o.Groups) w.WriteUInt16((ushort)g);
            w.EndVector16(l); w.EndVector16(e);
        }
        if (_o.EcPointFormats) { w.WriteUInt16(11); w.WriteUInt16(2); w.WriteUInt8(1); w.WriteUInt8(0); }
        if (_o.SignatureSchemes.Length > 0)
        {
            w.WriteUInt16(13); int e = w.BeginVector16(); int l = w.BeginVector16();
            foreach (var s in _o.SignatureSchemes) w.WriteUInt16((ushort)s);
            w.EndVector16(l); w.EndVector16(e);
        }
        if (_o.Alpn is { } alpn)
        {
            w.WriteUInt16(16); int e = w.BeginVector16(); int l = w.BeginVector16();
            foreach (var p in alpn) w.WriteVector8(Encoding.ASCII.GetBytes(p));
            w.EndVector16(l); w.EndVector16(e);
        }
        if (_o.ExtendedMasterSecret) { w.WriteUInt16(23); w.WriteUInt16(0); }
        if (_o.SessionTicket is { } ticket) { w.WriteUInt16(35); w.WriteVector16(ticket); }
        if (_o.SupportedVersions is { } versions)
        {
            w.WriteUInt16(43); int e = w.BeginVector16(); int l = w.BeginVector8();
            foreach (var v in versions) w.WriteUInt16(v);
            w.EndVector8(l); w.EndVector16(e);
        }
        w.EndVector16(exts);
        w.EndVector24(msg);
        return w.Written.ToArray();
    }

    public void Start()
    {
        byte[] hello = BuildClientHello();
        _messages.Add(hello);
        WritePlain(TlsContentType.Handshake, hello);
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
        if (type == TlsContentType.ChangeCipherSpec)
        {
            if (_pendingRead is null) { Error = "CCS before keys"; return; }
            _read = _pendingRead; _pendingRead = null;
            return;
        }
        if (_read is not null)
        {
            if (!_read.TryOpen(record.AsSpan(0, 5), body, out var t, out int offset, out int len)) { Error = "bad_record_mac"; return; }
            body = body.Slice(offset, len);
            type = t;
        }
        switch (type)
        {
            case TlsContentType.Alert: Alerts.Add((body[0], (TlsAlertDescription)body[1])); break;
            case TlsContentType.Handshake: HandleHandshake(body); break;
            case TlsContentType.ApplicationData: ApplicationData.AddRange(body); break;
            default: Error = "unexpected record " + type; break;
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

    private byte[] TranscriptHash(int? count = null)
    {
        using var h = IncrementalHash.CreateHash(_suite.Hash);
        foreach (var m in count is int c ? _messages.Take(c) : _messages) h.AppendData(m);
        return h.GetHashAndReset();
    }

    private void HandleMessage(byte[] message)
    {
        var type = (TlsHandshakeType)message[0];
        var r = new TlsReader(message.AsSpan(4));
        switch (type)
        {
            case TlsHandshakeType.ServerHello:
            {
                r.TryReadUInt16(out ushort version);
                r.TryReadBytes(32, out var random); _serverRandom = random.ToArray();
                r.TryReadVector8(out ReadOnlySpan<byte> sid); ServerSessionId = sid.ToArray();
                r.TryReadUInt16(out ushort suite);
                r.TryReadUInt8(out _);
                if (r.TryReadVector16(out TlsReader exts))
                {
                    while (!exts.IsEmpty)
                    {
                        exts.TryReadUInt16(out ushort et); exts.TryReadVector16(out TlsReader data);
                        ServerHelloExtensions.Add(et);
                        if (et == 16) { data.TryReadVector16(out TlsReader l); l.TryReadVector8(out ReadOnlySpan<byte> p); Alpn = Encoding.ASCII.GetString(p); }
                    }
                }
                if (version != 0x0303) { Error = "not TLS 1.2"; return; }
                _suite = CipherSuiteInfo.Get((TlsCipherSuite)suite);
                _messages.Add(message);
                // RFC 5077 §3.4: the echoed session id (non-empty) says the ticket was accepted.
                if (_o.SessionTicket is { Length: > 0 } && _o.SessionId.Length > 0 && sid.SequenceEqual(_o.SessionId))
                {
                    _abbreviated = true;
                    _master = ResumeMaster;
                    DeriveKeys();
                }
                return;
            }
            case TlsHandshakeType.Certificate:
            {
                r.TryReadVector24(out TlsReader list);
                var certs = new List<X509Certificate2>();
                while (!list.IsEmpty) { list.TryReadVector24(out ReadOnlySpan<byte> der); certs.Add(X509CertificateLoader.LoadCertificate(der)); }
                Certificates = [.. certs];
                _messages.Add(message);
                return;
            }
            case TlsHandshakeType.ServerKeyExchange:
            {
                r.TryReadUInt8(out byte curveType);
                r.TryReadUInt16(out ushort group);
                r.TryReadVector8(out ReadOnlySpan<byte> point);
                int paramsLength = 4 + point.Length;
                r.TryReadUInt16(out ushort scheme);
                r.TryReadVector16(out ReadOnlySpan<byte> signature);
                if (curveType != 3) { Error = "curve type"; return; }
                ServerKeyExchangeScheme = (TlsSignatureScheme)scheme;
                byte[] signed = [.. _clientRandom, .. _serverRandom, .. message.AsSpan(4, paramsLength)];
                if (!VerifyServerSignature((TlsSignatureScheme)scheme, signed, signature)) { Error = "bad ServerKeyExchange signature"; return; }
                Group = (NamedGroup)group;
                _share = KeyAgreement.Get(Group.Value).CreateClientShare();
                _serverPoint = point.ToArray();
                _messages.Add(message);
                return;
            }
            case TlsHandshakeType.CertificateRequest:
                _certificateRequested = true;
                _messages.Add(message);
                return;
            case TlsHandshakeType.ServerHelloDone:
                _messages.Add(message);
                ServerHelloDoneSeen = true;
                if (!HoldClientFlight) SendClientFlight();
                return;
            case TlsHandshakeType.NewSessionTicket:
            {
                r.TryReadUInt32(out _);
                r.TryReadVector16(out ReadOnlySpan<byte> ticket);
                Ticket = ticket.ToArray();
                _messages.Add(message);
                return;
            }
            case TlsHandshakeType.Finished:
            {
                byte[] expected = new byte[12];
                Tls12KeySchedule.Finished(_suite, _master, client: false, TranscriptHash(), expected);
                if (!expected.AsSpan().SequenceEqual(message.AsSpan(4))) { Error = "bad server Finished"; return; }
                _messages.Add(message);
                if (_abbreviated)
                {
                    WritePlain(TlsContentType.ChangeCipherSpec, [1]);
                    _write = _pendingWrite; _pendingWrite = null;
                    SendFinished();
                }
                HandshakeComplete = true;
                return;
            }
            case TlsHandshakeType.HelloRequest:
                return;
            default:
                Error = "unexpected " + type;
                return;
        }
    }

    private byte[] _serverPoint = [];

    /// <summary>The master secret of a previous session, for an abbreviated handshake with <see cref="Tls12TestClientOptions.SessionTicket"/>.</summary>
    public byte[]? ResumeMaster { get; init; }

    public void SendClientFlight(bool changeCipherSpec = true, bool finished = true)
    {
        if (_certificateRequested)
        {
            var chain = _o.ClientCertificate is { } c ? new[] { c.RawData } : [];
            byte[] buffer = new byte[16 + chain.Sum(d => d.Length + 3)];
            var w = new TlsWriter(buffer);
            int m = w.BeginHandshake(TlsHandshakeType.Certificate);
            int l = w.BeginVector24();
            foreach (var der in chain) { int e = w.BeginVector24(); w.WriteBytes(der); w.EndVector24(e); }
            w.EndVector24(l); w.EndVector24(m);
            SendHandshake(w.Written.ToArray());
        }
        byte[] cke = [(byte)TlsHandshakeType.ClientKeyExchange, 0, 0, (byte)(_share!.PublicShare.Length + 1), (byte)_share.PublicShare.Length, .. _share.PublicShare];
        SendHandshake(cke);
        byte[] shared = new byte[KeyAgreement.Get(Group!.Value).SharedSecretLength];
        if (!_share.TryComplete(_serverPoint, shared)) { Error = "bad server point"; return; }
        _master = Tls12KeySchedule.ExtendedMasterSecret(_suite.Hash, shared, TranscriptHash());
        DeriveKeys();
        if (_certificateRequested && _o.ClientCertificate is { } cert)
        {
            byte[] hash = TranscriptHash();
            var scheme = _suite.Hash == HashAlgorithmName.SHA384
                ? (cert.GetRSAPrivateKey() is null ? TlsSignatureScheme.EcdsaSecp384r1Sha384 : TlsSignatureScheme.RsaPssRsaeSha384)
                : (cert.GetRSAPrivateKey() is null ? TlsSignatureScheme.EcdsaSecp256r1Sha256 : TlsSignatureScheme.RsaPssRsaeSha256);
            byte[] sig = cert.GetRSAPrivateKey() is { } rsa
                ? rsa.SignHash(hash, _suite.Hash, RSASignaturePadding.Pss)
                : cert.GetECDsaPrivateKey()!.SignHash(hash, DSASignatureFormat.Rfc3279DerSequence);
            if (_o.CorruptCertificateVerify) sig[^1] ^= 1;
            int len = sig.Length + 4;
            SendHandshake([15, (byte)(len >> 16), (byte)(len >> 8), (byte)len, (byte)((ushort)scheme >> 8), (byte)scheme, (byte)(sig.Length >> 8), (byte)sig.Length, .. sig]);
        }
        if (!changeCipherSpec) return;
        WritePlain(TlsContentType.ChangeCipherSpec, [1]);
        _write = _pendingWrite; _pendingWrite = null;
        if (finished) SendFinished();
    }

    public void SendFinished()
    {
        byte[] verify = new byte[12];
        Tls12KeySchedule.Finished(_suite, _master, client: true, TranscriptHash(), verify);
        byte[] message = [20, 0, 0, 12, .. verify];
        _messages.Add(message);
        WriteEncrypted(TlsContentType.Handshake, message);
    }

    private void DeriveKeys()
    {
        byte[] ck = new byte[_suite.KeyLength], sk = new byte[_suite.KeyLength], ci = new byte[_suite.FixedIvLength], si = new byte[_suite.FixedIvLength];
        Tls12KeySchedule.KeyBlock(_suite, _master, _clientRandom, _serverRandom, ck, sk, ci, si);
        _pendingWrite = RecordProtection.CreateTls12(_suite, ck, ci);
        _pendingRead = RecordProtection.CreateTls12(_suite, sk, si);
    }

    /// <summary>Sends a plaintext handshake message and adds it to the transcript.</summary>
    public void SendHandshake(byte[] message)
    {
        _messages.Add(message);
        if (_write is null) WritePlain(TlsContentType.Handshake, message);
        else WriteEncrypted(TlsContentType.Handshake, message);
    }

    private bool VerifyServerSignature(TlsSignatureScheme scheme, byte[] content, ReadOnlySpan<byte> signature)
    {
        X509Certificate2 leaf = Certificates[0];
        using RSA? rsa = leaf.GetRSAPublicKey();
        using ECDsa? ec = leaf.GetECDsaPublicKey();
        return scheme switch
        {
            TlsSignatureScheme.RsaPssRsaeSha256 => rsa!.VerifyData(content, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
            TlsSignatureScheme.RsaPssRsaeSha384 => rsa!.VerifyData(content, signature, HashAlgorithmName.SHA384, RSASignaturePadding.Pss),
            TlsSignatureScheme.RsaPkcs1Sha256 => rsa!.VerifyData(content, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            TlsSignatureScheme.RsaPkcs1Sha384 => rsa!.VerifyData(content, signature, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1),
            TlsSignatureScheme.RsaPkcs1Sha512 => rsa!.VerifyData(content, signature, HashAlgorithmName.SHA512, RSASignaturePadding.Pkcs1),
            TlsSignatureScheme.EcdsaSecp256r1Sha256 => ec!.VerifyData(content, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence),
            TlsSignatureScheme.EcdsaSecp384r1Sha384 => ec!.VerifyData(content, signature, HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence),
            _ => false,
        };
    }

    public void SendApplicationData(ReadOnlySpan<byte> data) => WriteEncrypted(TlsContentType.ApplicationData, data);

    public void SendCloseNotify() => WriteEncrypted(TlsContentType.Alert, [1, 0]);

    public void WriteEncrypted(TlsContentType type, ReadOnlySpan<byte> content)
    {
        byte[] record = new byte[content.Length + _write!.Overhead];
        content.CopyTo(record.AsSpan(_write.ContentOffset));
        int n = _write.SealInPlace(type, record, content.Length);
        _output.AddRange(record.AsSpan(0, n));
    }

    public void WritePlain(TlsContentType type, ReadOnlySpan<byte> content)
    {
        _output.AddRange([(byte)type, 3, 3, (byte)(content.Length >> 8), (byte)content.Length]);
        _output.AddRange(content);
    }

    public void Dispose()
    {
        _share?.Dispose();
        _read?.Dispose(); _write?.Dispose(); _pendingRead?.Dispose(); _pendingWrite?.Dispose();
        foreach (var c in Certificates) c.Dispose();
    }
}

internal static class Pump12
{
    public static void Run(Tls12TestClient client, ServerDriver server, int maxRounds = 20)
    {
        for (int round = 0; round < maxRounds; round++)
        {
            byte[] toServer = client.TakeOutput();
            byte[] toClient = toServer.Length > 0 && server.Last is not (TlsStatus.Failed or TlsStatus.Closed)
                ? server.Feed(toServer)
                : server.Drain();
            if (toServer.Length == 0 && toClient.Length == 0)
                return;
            client.Feed(toClient);
        }
    }

    public static (Tls12TestClient Client, ServerDriver Server) Handshake(TlsServerConfig config, Tls12TestClientOptions? options = null,
        int inChunk = int.MaxValue, int outChunk = 16384, byte[]? resumeMaster = null)
    {
        var client = new Tls12TestClient(options) { ResumeMaster = resumeMaster };
        var server = new ServerDriver(config, inChunk, outChunk);
        client.Start();
        Run(client, server);
        return (client, server);
    }
}
