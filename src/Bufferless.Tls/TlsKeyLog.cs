namespace Bufferless.Tls;

/// <summary>
/// The NSS key log format (SSLKEYLOGFILE, as read by Wireshark/tshark): one line per secret,
/// <c>&lt;label&gt; &lt;client_random hex&gt; &lt;secret hex&gt;</c>. TLS 1.3 labels: CLIENT_HANDSHAKE_TRAFFIC_SECRET,
/// SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0, EXPORTER_SECRET; TLS 1.2:
/// CLIENT_RANDOM with the 48-byte master secret. Feed it from <see cref="TlsServerConfig.KeyLog"/>.
/// </summary>
public static class TlsKeyLog
{
    /// <summary>One key log line, lower-case hex, without the trailing newline.</summary>
    public static string FormatLine(string label, ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        return label + " " + Convert.ToHexStringLower(clientRandom) + " " + Convert.ToHexStringLower(secret);
    }
}
