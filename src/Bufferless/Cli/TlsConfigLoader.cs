using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Bufferless.Tls;

namespace Bufferless.Cli;

/// <summary>The TLS flags shared by the commands that terminate TLS (proxy, cut-through).</summary>
internal sealed class TlsOptions
{
    public Option<FileInfo[]> Cert { get; } = new("--cert") { Description = "PEM certificate chain, leaf first (repeatable: one per --key; chosen by SNI from the certificate's names, ECDSA before RSA).", Required = true };
    public Option<FileInfo[]> Key { get; } = new("--key") { Description = "PEM private key for the --cert at the same position (PKCS#8, SEC1 EC or PKCS#1 RSA).", Required = true };
    public Option<string?> Alpn { get; } = new("--alpn") { Description = "ALPN protocols to offer, in preference order, comma separated (e.g. http/1.1). Default: none." };
    public Option<string> MinVersion { get; } = new("--min-tls") { Description = "Oldest TLS version accepted: 1.2 or 1.3.", DefaultValueFactory = _ => "1.2" };
    public Option<bool> NoTickets { get; } = new("--no-tickets") { Description = "Issue and accept no session tickets (every handshake is a full one)." };
    public Option<FileInfo?> TicketKeys { get; } = new("--ticket-keys") { Description = "Session-ticket key file shared by several instances (80-byte keys, raw or one base64 line each; the first issues). Reloaded on SIGHUP. Default: random keys that rotate every 12 hours." };
    public Option<FileInfo?> ClientCa { get; } = new("--client-ca") { Description = "PEM bundle of CAs that client certificates must chain to (mTLS)." };
    public Option<string> ClientAuth { get; } = new("--client-auth") { Description = "none, request or require a client certificate (needs --client-ca).", DefaultValueFactory = _ => "none" };
    public Option<bool> RejectUnknownSni { get; } = new("--reject-unknown-sni") { Description = "Refuse (unrecognized_name) a client whose SNI matches no certificate, instead of using the first one." };
    public Option<FileInfo?> KeyLogFile { get; } = new("--keylog-file") { Description = "Append TLS secrets in NSS SSLKEYLOGFILE format (for Wireshark). Debugging only: anyone with the file can decrypt the traffic." };

    public TlsOptions()
    {
        MinVersion.AcceptOnlyFromAmong("1.2", "1.3");
        ClientAuth.AcceptOnlyFromAmong("none", "request", "require");
    }

    public void AddTo(Command cmd)
    {
        foreach (Option o in new Option[] { Cert, Key, Alpn, MinVersion, NoTickets, TicketKeys, ClientCa, ClientAuth, RejectUnknownSni, KeyLogFile })
            cmd.Options.Add(o);
    }

    public TlsConfigLoader CreateLoader(ParseResult parse) => new(
        parse.GetValue(Cert) ?? [], parse.GetValue(Key) ?? [], parse.GetValue(Alpn), parse.GetValue(MinVersion) == "1.3",
        !parse.GetValue(NoTickets), parse.GetValue(TicketKeys), parse.GetValue(ClientCa), parse.GetValue(ClientAuth) ?? "none",
        parse.GetValue(RejectUnknownSni), parse.GetValue(KeyLogFile));
}

/// <summary>
/// Builds the TLS configuration from the files named on the command line, at start-up and again on every SIGHUP.
/// A failed load leaves the caller's running configuration untouched.
/// </summary>
internal sealed class TlsConfigLoader
{
    private static readonly TimeSpan RandomTicketKeyRotation = TimeSpan.FromHours(12);
    private readonly FileInfo[] _certs;
    private readonly FileInfo[] _keys;
    private readonly string[]? _alpn;
    private readonly bool _tls13Only;
    private readonly bool _tickets;
    private readonly FileInfo? _ticketKeyFile;
    private readonly FileInfo? _clientCa;
    private readonly string _clientAuth;
    private readonly bool _rejectUnknownSni;
    private readonly KeyLogWriter? _keyLog;
    private TlsTicketKeys? _randomTicketKeys; // kept across reloads: a reload must not invalidate tickets in flight

    public TlsConfigLoader(FileInfo[] certs, FileInfo[] keys, string? alpn = null, bool tls13Only = false, bool tickets = true,
        FileInfo? ticketKeyFile = null, FileInfo? clientCa = null, string clientAuth = "none", bool rejectUnknownSni = false, FileInfo? keyLogFile = null)
    {
        _certs = certs;
        _keys = keys;
        _alpn = string.IsNullOrWhiteSpace(alpn) ? null : alpn.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        _tls13Only = tls13Only;
        _tickets = tickets;
        _ticketKeyFile = ticketKeyFile;
        _clientCa = clientCa;
        _clientAuth = clientAuth;
        _rejectUnknownSni = rejectUnknownSni;
        _keyLog = keyLogFile is null ? null : new KeyLogWriter(keyLogFile.FullName);
    }

    public bool TryLoad(out TlsServerConfig? config, out string error)
    {
        config = null;
        if (_certs.Length == 0 || _certs.Length != _keys.Length)
        {
            error = $"give one --key for each --cert ({_certs.Length} certificates, {_keys.Length} keys)";
            return false;
        }
        var certificates = new List<TlsCertificate>();
        for (int i = 0; i < _certs.Length; i++)
        {
            if (!ProxyCommand.TryLoadCertificate(_certs[i], _keys[i], out var certificate, out error))
                return false;
            certificates.Add(certificate!);
        }
        if (_alpn is not null && _alpn.Any(p => p.Length is 0 or > 255 || Encoding.ASCII.GetByteCount(p) != p.Length))
        {
            error = "--alpn: each protocol name is 1..255 ASCII characters";
            return false;
        }

        TlsTicketKeys? ticketKeys = null;
        if (_tickets && _ticketKeyFile is not null)
        {
            try
            {
                ticketKeys = TlsTicketKeys.LoadFile(_ticketKeyFile.FullName, DateTimeOffset.UtcNow);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                error = $"cannot load ticket keys: {ProxyCommand.Reason(e)}";
                return false;
            }
        }
        else if (_tickets)
        {
            ticketKeys = _randomTicketKeys ??= TlsTicketKeys.CreateRandom(DateTimeOffset.UtcNow, RandomTicketKeyRotation);
        }

        TlsClientAuth clientAuth = _clientAuth switch
        {
            "request" => TlsClientAuth.Request,
            "require" => TlsClientAuth.Require,
            _ => TlsClientAuth.None,
        };
        X509Certificate2Collection? cas = null;
        if (clientAuth != TlsClientAuth.None && _clientCa is null)
        {
            error = "--client-auth request|require needs --client-ca";
            return false;
        }
        if (_clientCa is not null)
        {
            try
            {
                cas = [];
                cas.ImportFromPemFile(_clientCa.FullName);
                if (cas.Count == 0)
                {
                    error = $"--client-ca {_clientCa.Name}: no certificate in the file";
                    return false;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                error = $"cannot load --client-ca: {e.Message}";
                return false;
            }
        }

        config = new TlsServerConfig
        {
            Certificates = certificates,
            ApplicationProtocols = _alpn,
            AllowTls12 = !_tls13Only,
            TicketKeys = ticketKeys,
            ClientAuth = clientAuth,
            ClientCertificateAuthorities = cas,
            RejectUnknownServerName = _rejectUnknownSni,
            KeyLog = _keyLog is null ? null : _keyLog.Write,
            TicketWithServerFlight = TicketWithServerFlight,
        };
        error = "";
        return true;
    }

    /// <summary>
    /// Send the session ticket with the server's handshake flight (RFC 8446 §4.6.1 allows it when no client certificate
    /// is requested) rather than after the client's Finished: one write and one segment fewer per full handshake.
    /// </summary>
    public bool TicketWithServerFlight { get; init; } = true;

    public string Describe() => $"{_certs.Length} certificate(s): {string.Join(", ", _certs.Select(c => c.Name))}"
        + (_ticketKeyFile is not null ? $"; ticket keys {_ticketKeyFile.Name}" : "");
}

/// <summary>Appends NSS key-log lines ("LABEL client_random secret", hex) to a file, one writer for all connections.</summary>
internal sealed class KeyLogWriter(string path)
{
    private readonly Lock _lock = new();

    public void Write(string label, ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> secret)
    {
        string line = $"{label} {Convert.ToHexStringLower(clientRandom)} {Convert.ToHexStringLower(secret)}\n";
        lock (_lock)
            File.AppendAllText(path, line);
    }
}
