using System.Buffers;
using System.Security.Cryptography;
using Bufferless.Crypto.Aead;
using Bufferless.Crypto.KeyExchange;
using Bufferless.Tls.KeySchedule;
using Bufferless.Tls.Messages;
using Bufferless.Tls.Records;

namespace Bufferless.Tls;

/// <summary>
/// A sans-IO TLS 1.3 and TLS 1.2 server connection: bytes in through <see cref="Process"/>, bytes out through
/// <see cref="DrainOutput"/>, a <see cref="TlsStatus"/> at every pause. No socket, clock or thread inside.
/// Peer input never throws: errors are sticky and fatal, and the alert they queue is still drained.
/// Misuse by the caller (writing before the handshake, processing after taking the keys) throws.
/// </summary>
public sealed partial class TlsServerConnection : IDisposable
{
    private enum State
    {
        ExpectClientHello,
        NeedsConfig,
        ExpectSecondClientHello,
        ExpectClientCertificate,
        ExpectCertificateVerify,
        ExpectFinished,
        // TLS 1.2 (RFC 5246 §7.3)
        ExpectClientCertificate12,
        ExpectClientKeyExchange12,
        ExpectCertificateVerify12,
        ExpectChangeCipherSpec12,
        ExpectFinished12,
        Connected,
        Closed,
        Failed,
        Detached,
    }

    /// <summary>How rejected 0-RTT data is skipped (RFC 8446 §4.2.10).</summary>
    private enum EarlyDataSkip
    {
        None,
        /// <summary>After a ServerHello: drop records that fail to decrypt under the handshake key.</summary>
        Undecryptable,
        /// <summary>After a HelloRetryRequest: drop application_data records until the second ClientHello.</summary>
        UntilClientHello,
    }

    private const int OutputHighWater = 64 * 1024;
    private const int MaxClientHelloSize = 64 * 1024;
    private const int MaxOtherHandshakeSize = 1024;

    private TlsServerConfig? _config;
    private State _state = State.ExpectClientHello;
    private readonly OutputQueue _output = new();

    // record input
    private byte[]? _record;
    private int _recordFill;
    private int _recordHighWater; // bytes of _record written since it was rented: all that needs zeroing

    // handshake reassembly
    private byte[]? _handshake;
    private int _handshakeFill;

    // decrypted application data waiting in _record
    private int _appOffset;
    private int _appLength;

    private RecordProtection? _read;
    private RecordProtection? _write;
    private int _maxSendFragment = TlsRecordLimits.MaxPlaintext;
    private bool _closeSent;
    // The peer's close_notify closed our read side only (RFC 8446 §6.1): we may go on writing (half-close).
    private bool _readClosed;
    private bool _ccsAllowed;
    private EarlyDataSkip _earlySkip;
    private int _earlySkipped;
    private bool _handshakeDone;
    private DateTimeOffset _now;

    public TlsServerConnection(TlsServerConfig? config)
    {
        _config = config;
    }

    // ---------------- negotiated information ----------------

    /// <summary>
    /// The parsed ClientHello (the latest one after a HelloRetryRequest) while the handshake runs: null before it
    /// arrives and again once the handshake is complete (its memory is released; <see cref="ServerName"/> stays).
    /// </summary>
    public ClientHello? ClientHello { get; private set; }
    /// <summary><see cref="TlsVersion.Tls13"/> (0x0304) or <see cref="TlsVersion.Tls12"/> (0x0303) once chosen; 0 before.</summary>
    public ushort NegotiatedVersion { get; private set; }
    public TlsCipherSuite CipherSuite { get; private set; }
    public NamedGroup? Group { get; private set; }
    public TlsSignatureScheme SignatureScheme { get; private set; }
    public string? ServerName => _serverName;
    public string? ApplicationProtocol { get; private set; }
    public bool UsedHelloRetryRequest { get; private set; }
    public bool IsHandshakeComplete => _state is State.Connected or State.Detached || (_state == State.Closed && _handshakeDone);

    /// <summary>The session was resumed from a ticket (TLS 1.3 PSK or TLS 1.2 RFC 5077) instead of a full handshake.</summary>
    public bool IsResumed { get; private set; }

    /// <summary>The verified client certificate (DER), from this handshake or the resumed session; null when none.</summary>
    public byte[]? ClientCertificateDer { get; private set; }

    /// <summary>The verified client certificate's subject (RFC 4514 form as .NET prints it); null when none.</summary>
    public string? ClientCertificateSubject { get; private set; }

    /// <summary>The certificate presented to the client (null for a resumed session, which presents none).</summary>
    public TlsCertificate? ServerCertificate { get; private set; }

    /// <summary>The alert this side sent because of a fatal error; null if none.</summary>
    public TlsAlertDescription? LocalAlert { get; private set; }

    /// <summary>The alert the peer sent (close_notify included); null if none.</summary>
    public TlsAlertDescription? PeerAlert { get; private set; }

    /// <summary>A short reason for the failure, for logs.</summary>
    public string? FailureReason { get; private set; }

    /// <summary>Bytes waiting in the output queue.</summary>
    public int PendingOutput => _output.Count;

    /// <summary>Decrypted application bytes waiting to be read.</summary>
    public int ApplicationDataAvailable => _appLength;

    /// <summary>Records sealed under the current write key / opened under the current read key.</summary>
    public ulong WriteSequence => _write?.Sequence ?? 0;
    public ulong ReadSequence => _read?.Sequence ?? 0;

    /// <summary>Gives the configuration after a <see cref="TlsStatus.NeedsServerConfig"/> pause (for SNI- or ALPN-based choice).</summary>
    public void SetServerConfig(TlsServerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (_config is not null)
            throw new InvalidOperationException("configuration already set");
        _config = config;
    }

    // ---------------- the sans-IO surface ----------------

    /// <summary>
    /// Consumes peer bytes until a pause: see <see cref="TlsStatus"/>. <paramref name="consumed"/> says how many
    /// bytes were taken; the rest must be offered again. After <see cref="TlsStatus.HandshakeComplete"/>,
    /// bytes after the client's Finished record are left unconsumed.
    /// </summary>
    public TlsStatus Process(ReadOnlySpan<byte> input, out int consumed)
    {
        consumed = 0;
        switch (_state)
        {
            case State.Failed: return TlsStatus.Failed;
            case State.Closed: return TlsStatus.Closed;
            case State.Connected when _readClosed: return TlsStatus.Closed;
            case State.Detached: throw new InvalidOperationException("record protection was taken; the connection no longer reads records");
        }
        if (_appLength > 0)
            return TlsStatus.ApplicationDataAvailable;
        if (_state == State.NeedsConfig)
        {
            if (_config is null)
                return TlsStatus.NeedsServerConfig;
            NegotiateFirstHello();
            if (_state == State.Failed)
                return TlsStatus.Failed;
            // The rest of the ClientHello record cannot hold anything (key change at record boundary).
        }

        while (true)
        {
            if (_output.Count > OutputHighWater)
                return TlsStatus.WantWrite;
            int taken = FillRecord(input[consumed..], out bool complete);
            consumed += taken;
            if (_state == State.Failed)
                return TlsStatus.Failed;
            if (!complete)
            {
                ReleaseRecordBuffer();
                return TlsStatus.WantRead;
            }
            TlsStatus? pause = HandleRecord();
            _recordFill = 0;
            if (pause is TlsStatus status)
            {
                if (status != TlsStatus.ApplicationDataAvailable)
                    ReleaseRecordBuffer();
                return status;
            }
        }
    }

    /// <summary>Copies queued output into <paramref name="destination"/>; returns the bytes written.</summary>
    public int DrainOutput(Span<byte> destination) => _output.Drain(destination);

    /// <summary>Copies decrypted application data out; returns the bytes written (0 when none waits).</summary>
    public int ReadApplicationData(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, _appLength);
        if (n == 0)
            return 0;
        Span<byte> source = _record.AsSpan(_appOffset, n);
        source.CopyTo(destination);
        CryptographicOperations.ZeroMemory(source);
        _appOffset += n;
        _appLength -= n;
        if (_appLength == 0)
            ReleaseRecordBuffer();
        return n;
    }

    /// <summary>
    /// Encrypts application data into the output queue, in records no larger than the peer's record_size_limit.
    /// Sends a KeyUpdate first whenever the write key nears its record limit.
    /// </summary>
    public void WriteApplicationData(ReadOnlySpan<byte> data)
    {
        if (_state != State.Connected)
            throw new InvalidOperationException($"cannot write application data in state {_state}");
        if (_closeSent)
            throw new InvalidOperationException("close_notify already sent");
        while (!data.IsEmpty)
        {
            int chunk = Math.Min(data.Length, _maxSendFragment);
            WriteProtected(TlsContentType.ApplicationData, data[..chunk]);
            data = data[chunk..];
        }
    }

    /// <summary>Sends a KeyUpdate now (RFC 8446 §4.6.3), optionally asking the peer to update too.</summary>
    public void UpdateKeys(bool requestPeerUpdate)
    {
        if (_state != State.Connected || _closeSent)
            throw new InvalidOperationException($"cannot update keys in state {_state}");
        if (NegotiatedVersion == TlsVersion.Tls12)
            throw new InvalidOperationException("TLS 1.2 has no KeyUpdate");
        SendKeyUpdate(requestPeerUpdate);
    }

    /// <summary>Queues close_notify (RFC 8446 §6.1). Reading may continue until the peer's close_notify.</summary>
    public void Close()
    {
        if (_closeSent || _state is State.Failed or State.Detached)
            return;
        SendAlert(TlsAlertDescription.CloseNotify);
    }

    /// <summary>
    /// Hands the record layer over (for the packet engine): suite, keys, IVs, traffic secrets and next record
    /// numbers. Only after <see cref="TlsStatus.HandshakeComplete"/> with no partial input buffered; queued output
    /// can still be drained, but <see cref="Process"/> and writes are no longer allowed.
    /// </summary>
    public TlsTrafficKeys TakeRecordProtection()
    {
        bool tls12 = NegotiatedVersion == TlsVersion.Tls12;
        if (_state != State.Connected || _read is null || _write is null || (!tls12 && (_clientAppSecret is null || _serverAppSecret is null)))
            throw new InvalidOperationException($"record protection is available only after the handshake (state {_state})");
        if (_recordFill > 0 || _appLength > 0 || _handshakeFill > 0)
            throw new InvalidOperationException("input is buffered inside the connection; hand over at a record boundary");
        var keys = new TlsTrafficKeys(NegotiatedVersion, CipherSuite, _read.Suite.Aead, _read.Suite.ExplicitNonceLength,
            _read.Key.ToArray(), _read.Iv.ToArray(), _read.Sequence, tls12 ? [] : _clientAppSecret!.ToArray(),
            _write.Key.ToArray(), _write.Iv.ToArray(), _write.Sequence, tls12 ? [] : _serverAppSecret!.ToArray());
        _state = State.Detached;
        DisposeKeys();
        ReleaseRecordBuffer();
        ReleaseHandshakeBuffer();
        return keys;
    }

    public void Dispose()
    {
        DisposeKeys();
        ReleaseRecordBuffer();
        ReleaseHandshakeBuffer();
        _output.Dispose();
        _transcript?.Dispose();
        _transcript = null;
    }

    // ---------------- record layer ----------------

    /// <summary>Copies bytes of the next record into the record buffer; checks the header once it is whole.</summary>
    private int FillRecord(ReadOnlySpan<byte> input, out bool complete)
    {
        complete = false;
        int taken = 0;
        if (_recordFill < TlsRecordHeader.Size)
        {
            if (input.IsEmpty)
                return 0;
            _record ??= ArrayPool<byte>.Shared.Rent(TlsRecordLimits.MaxRecord);
            int n = Math.Min(TlsRecordHeader.Size - _recordFill, input.Length);
            input[..n].CopyTo(_record.AsSpan(_recordFill));
            _recordFill += n;
            _recordHighWater = Math.Max(_recordHighWater, _recordFill);
            taken = n;
            if (_recordFill < TlsRecordHeader.Size)
                return taken;
            if (!CheckHeader())
                return taken;
        }
        TlsRecordHeader.TryCreate(_record, out var header);
        int total = TlsRecordHeader.Size + header.Length;
        int want = Math.Min(total - _recordFill, input.Length - taken);
        input.Slice(taken, want).CopyTo(_record.AsSpan(_recordFill));
        _recordFill += want;
        taken += want;
        _recordHighWater = Math.Max(_recordHighWater, _recordFill);
        complete = _recordFill == total;
        return taken;
    }

    private bool CheckHeader()
    {
        TlsRecordHeader.TryCreate(_record, out var header);
        switch (header.ContentType)
        {
            case TlsContentType.ApplicationData:
                // RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256.
                if (header.Length > TlsRecordLimits.MaxCiphertext)
                    return Fail(TlsAlertDescription.RecordOverflow, "ciphertext record over 2^14+256");
                return true;
            case TlsContentType.Handshake or TlsContentType.Alert or TlsContentType.ChangeCipherSpec:
                // RFC 8446 §5.1: TLSPlaintext.length MUST NOT exceed 2^14.
                if (header.Length > TlsRecordLimits.MaxPlaintext)
                    return Fail(TlsAlertDescription.RecordOverflow, "plaintext record over 2^14");
                // RFC 8446 §5.1: zero-length fragments of Handshake or Alert MUST NOT be sent.
                if (header.Length == 0 && header.ContentType != TlsContentType.ChangeCipherSpec)
                    return Fail(TlsAlertDescription.UnexpectedMessage, "empty handshake or alert record");
                return true;
            default:
                // RFC 8446 §5: an unexpected record type MUST be answered with unexpected_message.
                return Fail(TlsAlertDescription.UnexpectedMessage, "unknown record type");
        }
    }

    /// <summary>Handles the complete record in the record buffer; returns a pause status or null to go on.</summary>
    private TlsStatus? HandleRecord()
    {
        TlsRecordHeader.TryCreate(_record, out var header);
        Span<byte> body = _record.AsSpan(TlsRecordHeader.Size, header.Length);
        // RFC 5246 §6.2.3: after the client's ChangeCipherSpec every TLS 1.2 record is protected under its own outer type.
        if (_read is { IsTls12: true } && header.ContentType != TlsContentType.ChangeCipherSpec)
            return HandleProtectedRecord(header, body);
        switch (header.ContentType)
        {
            case TlsContentType.ChangeCipherSpec:
                return HandleChangeCipherSpec(body);
            case TlsContentType.Alert:
                // Before the peer has handshake keys it can only send plaintext alerts (e.g. when it rejects our ServerHello).
                if (_read is not null && _state is not (State.ExpectFinished or State.ExpectClientCertificate or State.ExpectCertificateVerify))
                    return FailStatus(TlsAlertDescription.UnexpectedMessage, "plaintext alert after handshake");
                return HandleAlert(body);
            case TlsContentType.Handshake:
                // RFC 8446 §5: once keys are in use, plaintext handshake records are unexpected.
                if (_read is not null)
                    return FailStatus(TlsAlertDescription.UnexpectedMessage, "plaintext handshake record under protection");
                return HandleHandshakeBytes(body);
            default:
                return HandleProtectedRecord(header, body);
        }
    }

    private TlsStatus? HandleChangeCipherSpec(ReadOnlySpan<byte> body)
    {
        if (NegotiatedVersion == TlsVersion.Tls12)
            return HandleChangeCipherSpec12(body);
        // RFC 8446 §5: a change_cipher_spec of the single byte 0x01 between the first ClientHello and the peer's
        // Finished is dropped; any other value, or one outside that window, is unexpected_message.
        if (!_ccsAllowed || body.Length != 1 || body[0] != 1)
            return FailStatus(TlsAlertDescription.UnexpectedMessage, "change_cipher_spec not allowed here");
        return null;
    }

    private TlsStatus? HandleProtectedRecord(TlsRecordHeader header, Span<byte> body)
    {
        if (_read is null)
        {
            if (_earlySkip == EarlyDataSkip.UntilClientHello && SkipEarly(body.Length))
                return null;
            return FailStatus(TlsAlertDescription.UnexpectedMessage, "application_data record before keys");
        }
        Span<byte> headerBytes = _record.AsSpan(0, TlsRecordHeader.Size);
        if (!_read.TryOpen(headerBytes, body, out TlsContentType type, out int offset, out int length))
        {
            if (_earlySkip == EarlyDataSkip.Undecryptable && SkipEarly(body.Length))
                return null;
            // RFC 8446 §5.2: deprotection failure MUST be answered with bad_record_mac.
            return FailStatus(TlsAlertDescription.BadRecordMac, "record failed authentication");
        }
        _earlySkip = EarlyDataSkip.None;
        // RFC 8446 §5.4: a plaintext without a non-zero byte is unexpected_message.
        if (type == TlsContentType.Invalid)
            return FailStatus(TlsAlertDescription.UnexpectedMessage, "record without content type");
        // RFC 8446 §5.2 / RFC 8449 §4: inner plaintext over the limit is record_overflow.
        // RFC 5246 §6.2.3: a TLS 1.2 plaintext over 2^14 is record_overflow too.
        if (length > TlsRecordLimits.MaxPlaintext || length + 1 > ReceiveLimit)
            return FailStatus(TlsAlertDescription.RecordOverflow, "inner plaintext over the record limit");
        Span<byte> content = body.Slice(offset, length);
        switch (type)
        {
            case TlsContentType.Handshake:
                if (length == 0)
                    return FailStatus(TlsAlertDescription.UnexpectedMessage, "empty handshake record");
                return HandleHandshakeBytes(content);
            case TlsContentType.Alert:
                return HandleAlert(content);
            case TlsContentType.ApplicationData:
                if (_state != State.Connected)
                    return FailStatus(TlsAlertDescription.UnexpectedMessage, "application data before the handshake completed");
                if (length == 0)
                    return null;
                _appOffset = TlsRecordHeader.Size + offset;
                _appLength = length;
                return TlsStatus.ApplicationDataAvailable;
            default:
                // A protected change_cipher_spec is unexpected_message too (RFC 8446 §5).
                return FailStatus(TlsAlertDescription.UnexpectedMessage, "unexpected inner content type");
        }
    }

    // record_size_limit is negotiated in TLS 1.3 only here (not echoed in TLS 1.2), so it binds only there.
    private int ReceiveLimit => NegotiatedVersion != TlsVersion.Tls12 && _config?.RecordSizeLimit is int limit && _clientOfferedRecordSizeLimit
        ? limit : TlsRecordLimits.MaxPlaintext + 1;

    private bool SkipEarly(int bytes)
    {
        _earlySkipped += bytes;
        return _earlySkipped <= (_config?.MaxEarlyDataSkip ?? 0);
    }

    private TlsStatus? HandleAlert(ReadOnlySpan<byte> body)
    {
        // RFC 8446 §6: an alert is two bytes, level and description.
        if (body.Length != 2)
            return FailStatus(TlsAlertDescription.DecodeError, "alert record is not two bytes");
        var description = (TlsAlertDescription)body[1];
        PeerAlert = description;
        if (description == TlsAlertDescription.CloseNotify && _state == State.Connected)
        {
            // RFC 8446 §6.1: close_notify closes the sender's write side and "does not have any effect on its read
            // side": the server may still send (a half-closed TCP connection carries the response). Our own
            // close_notify goes out when the caller calls Close().
            _readClosed = true;
            return TlsStatus.Closed;
        }
        if (description == TlsAlertDescription.CloseNotify)
        {
            if (!_closeSent && _state is not (State.Failed or State.Detached))
                SendAlert(TlsAlertDescription.CloseNotify);
            _state = State.Closed;
            FailureReason ??= _handshakeDone ? null : "peer closed during the handshake";
            return TlsStatus.Closed;
        }
        // RFC 5246 §7.2: TLS 1.2 warning alerts other than close_notify do not end the connection.
        if (NegotiatedVersion == TlsVersion.Tls12 && body[0] == 1)
            return null;
        // RFC 8446 §6.1: user_canceled is followed by close_notify; nothing to do yet.
        if (description == TlsAlertDescription.UserCanceled)
            return null;
        // RFC 8446 §6.2: every other alert is fatal; the connection closes without sending an alert.
        _state = State.Failed;
        FailureReason = "peer sent alert " + description;
        ReleaseSecrets();
        return TlsStatus.Failed;
    }

    /// <summary>Writes content as protected records of at most the peer's limit, each sealed in place in the output queue.</summary>
    private void WriteProtected(TlsContentType type, ReadOnlySpan<byte> content)
    {
        do
        {
            int chunk = Math.Min(content.Length, _maxSendFragment);
            // TLS 1.2 has no KeyUpdate and renegotiation is refused: its AES-GCM record limit is the caller's to watch.
            if (type == TlsContentType.ApplicationData && !_write!.IsTls12 && _write.Sequence >= _config!.KeyUpdateThreshold)
                SendKeyUpdate(false);
            RecordProtection write = _write!;
            Span<byte> record = _output.GetWriteSpan(chunk + write.Overhead);
            content[..chunk].CopyTo(record[write.ContentOffset..]);
            _output.Advance(write.SealInPlace(type, record, chunk));
            content = content[chunk..];
        }
        while (!content.IsEmpty);
    }

    private void WritePlaintext(TlsContentType type, ReadOnlySpan<byte> content)
    {
        do
        {
            int chunk = Math.Min(content.Length, TlsRecordLimits.MaxPlaintext);
            Span<byte> record = _output.GetWriteSpan(TlsRecordHeader.Size + chunk);
            TlsRecordHeader.Write(record, type, TlsVersion.Tls12, chunk);
            content[..chunk].CopyTo(record[TlsRecordHeader.Size..]);
            _output.Advance(TlsRecordHeader.Size + chunk);
            content = content[chunk..];
        }
        while (!content.IsEmpty);
    }

    private void SendAlert(TlsAlertDescription description)
    {
        // RFC 8446 §6: close_notify is a warning (1); every error alert is fatal (2). RFC 5246 §7.2.2: no_renegotiation is always a warning.
        bool warning = description is TlsAlertDescription.CloseNotify or TlsAlertDescription.NoRenegotiation;
        ReadOnlySpan<byte> alert = [warning ? (byte)1 : (byte)2, (byte)description];
        if (_write is not null)
            WriteProtected(TlsContentType.Alert, alert);
        else
            WritePlaintext(TlsContentType.Alert, alert);
        if (description == TlsAlertDescription.CloseNotify)
            _closeSent = true;
    }

    private bool Fail(TlsAlertDescription alert, string reason)
    {
        if (_state is State.Failed)
            return false;
        LocalAlert = alert;
        FailureReason = reason;
        if (!_closeSent)
            SendAlert(alert);
        _state = State.Failed;
        ReleaseSecrets();
        return false;
    }

    private TlsStatus FailStatus(TlsAlertDescription alert, string reason)
    {
        Fail(alert, reason);
        return TlsStatus.Failed;
    }

    /// <summary>Returns the record buffer to the pool when it holds nothing live (rent only when data is ready).</summary>
    private void ReleaseRecordBuffer()
    {
        if (_record is null)
            return;
        bool terminal = _state is State.Failed or State.Closed or State.Detached || _readClosed;
        if (!terminal && (_recordFill > 0 || _appLength > 0))
            return;
        CryptographicOperations.ZeroMemory(_record.AsSpan(0, _recordHighWater));
        ArrayPool<byte>.Shared.Return(_record);
        _record = null;
        _recordHighWater = 0;
        _recordFill = 0;
        _appLength = 0;
    }

    private void ReleaseHandshakeBuffer()
    {
        if (_handshake is null)
            return;
        CryptographicOperations.ZeroMemory(_handshake);
        ArrayPool<byte>.Shared.Return(_handshake);
        _handshake = null;
        _handshakeFill = 0;
    }

    private void ReleaseSecrets()
    {
        DisposeKeys();
        ReleaseHandshakeBuffer();
        _appLength = 0;
    }

    private void DisposeKeys()
    {
        _read?.Dispose();
        _read = null;
        _write?.Dispose();
        _write = null;
        DisposeSchedule();
        DisposeSchedule12();
    }
}

/// <summary>
/// The record protection of an established connection, handed to the packet engine. Read = client to server,
/// write = server to client. Zeroes everything on Dispose.
/// <list type="bullet">
/// <item>TLS 1.3 (<see cref="Version"/> 0x0304): 12-byte IVs, nonce = IV XOR record number, inner content type,
/// header as AAD. Traffic secrets are included so the new owner can follow KeyUpdates (RFC 8446 §7.2).</item>
/// <item>TLS 1.2 (0x0303): no traffic secrets (empty arrays) and no KeyUpdate. AES-GCM (RFC 5288 §3): the IV is the
/// 4-byte salt and each record carries an 8-byte explicit nonce after the header (<see cref="ExplicitNonceLength"/>
/// = 8; this server sends its record number there); nonce = salt || explicit. ChaCha20-Poly1305 (RFC 7905 §2): the IV
/// is 12 bytes, nonce = IV XOR record number, nothing explicit. AAD = seq_num(8) || type(1) || 0x0303 || plaintext length(2).</item>
/// </list>
/// </summary>
public sealed class TlsTrafficKeys : IDisposable
{
    public TlsTrafficKeys(
        TlsCipherSuite cipherSuite, AeadAlgorithm aead,
        byte[] readKey, byte[] readIv, ulong nextReadSequence, byte[] readTrafficSecret,
        byte[] writeKey, byte[] writeIv, ulong nextWriteSequence, byte[] writeTrafficSecret)
        : this(TlsVersion.Tls13, cipherSuite, aead, 0, readKey, readIv, nextReadSequence, readTrafficSecret,
            writeKey, writeIv, nextWriteSequence, writeTrafficSecret)
    {
    }

    public TlsTrafficKeys(
        ushort version, TlsCipherSuite cipherSuite, AeadAlgorithm aead, int explicitNonceLength,
        byte[] readKey, byte[] readIv, ulong nextReadSequence, byte[] readTrafficSecret,
        byte[] writeKey, byte[] writeIv, ulong nextWriteSequence, byte[] writeTrafficSecret)
    {
        Version = version;
        CipherSuite = cipherSuite;
        Aead = aead;
        ExplicitNonceLength = explicitNonceLength;
        ReadKey = readKey;
        ReadIv = readIv;
        NextReadSequence = nextReadSequence;
        ReadTrafficSecret = readTrafficSecret;
        WriteKey = writeKey;
        WriteIv = writeIv;
        NextWriteSequence = nextWriteSequence;
        WriteTrafficSecret = writeTrafficSecret;
    }

    /// <summary>0x0304 (TLS 1.3) or 0x0303 (TLS 1.2).</summary>
    public ushort Version { get; }
    public TlsCipherSuite CipherSuite { get; }
    public AeadAlgorithm Aead { get; }
    /// <summary>Bytes of explicit nonce after each record header: 8 for TLS 1.2 AES-GCM, else 0.</summary>
    public int ExplicitNonceLength { get; }
    public byte[] ReadKey { get; }
    /// <summary>TLS 1.3 / 1.2 ChaCha20: the 12-byte IV. TLS 1.2 AES-GCM: the 4-byte salt.</summary>
    public byte[] ReadIv { get; }
    public ulong NextReadSequence { get; }
    public byte[] ReadTrafficSecret { get; }
    public byte[] WriteKey { get; }
    public byte[] WriteIv { get; }
    public ulong NextWriteSequence { get; }
    public byte[] WriteTrafficSecret { get; }

    /// <summary>Bytes a record adds to its content: 22 for TLS 1.3, 29 for TLS 1.2 AES-GCM, 21 for TLS 1.2 ChaCha20-Poly1305.</summary>
    public int RecordOverhead => Version == TlsVersion.Tls12 ? 5 + ExplicitNonceLength + 16 : 5 + 1 + 16;

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(ReadKey);
        CryptographicOperations.ZeroMemory(ReadIv);
        CryptographicOperations.ZeroMemory(ReadTrafficSecret);
        CryptographicOperations.ZeroMemory(WriteKey);
        CryptographicOperations.ZeroMemory(WriteIv);
        CryptographicOperations.ZeroMemory(WriteTrafficSecret);
    }
}
