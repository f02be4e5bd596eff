using System.Security.Cryptography;
using Bufferless.Tls.Messages;

namespace Bufferless.Tls.Resumption;

/// <summary>
/// What a ticket carries, sealed by <see cref="TlsTicketKeys"/>: version, suite, issue time, the TLS 1.3 age_add,
/// the resumption secret (TLS 1.3 PSK or TLS 1.2 master secret) and the verified client certificate, if any.
/// <code>
/// format(1)=1 | version(2) | suite(2) | issued_unix_ms(8) | age_add(4) | secret&lt;1..255&gt; | client_cert&lt;0..2^16-1&gt;
/// </code>
/// </summary>
internal sealed class TicketState
{
    private const byte Format = 1;

    public ushort Version { get; init; }
    public TlsCipherSuite Suite { get; init; }
    public long IssuedUnixMilliseconds { get; init; }
    public uint AgeAdd { get; init; }
    public byte[] Secret { get; init; } = [];
    public byte[]? ClientCertificate { get; init; }

    public byte[] Encode()
    {
        byte[] buffer = new byte[1 + 2 + 2 + 8 + 4 + 1 + Secret.Length + 2 + (ClientCertificate?.Length ?? 0)];
        var w = new TlsWriter(buffer);
        w.WriteUInt8(Format);
        w.WriteUInt16(Version);
        w.WriteUInt16((ushort)Suite);
        w.WriteUInt32((uint)(IssuedUnixMilliseconds >> 32));
        w.WriteUInt32((uint)IssuedUnixMilliseconds);
        w.WriteUInt32(AgeAdd);
        w.WriteVector8(Secret);
        w.WriteVector16(ClientCertificate ?? []);
        return buffer;
    }

    public static TicketState? Decode(byte[] state)
    {
        try
        {
            var r = new TlsReader(state);
            if (!r.TryReadUInt8(out byte format) || format != Format
                || !r.TryReadUInt16(out ushort version)
                || !r.TryReadUInt16(out ushort suite)
                || !r.TryReadUInt32(out uint high) || !r.TryReadUInt32(out uint low)
                || !r.TryReadUInt32(out uint ageAdd)
                || !r.TryReadVector8(out ReadOnlySpan<byte> secret) || secret.IsEmpty
                || !r.TryReadVector16(out ReadOnlySpan<byte> cert) || !r.ExpectEmpty())
                return null;
            return new TicketState
            {
                Version = version,
                Suite = (TlsCipherSuite)suite,
                IssuedUnixMilliseconds = (long)(((ulong)high << 32) | low),
                AgeAdd = ageAdd,
                Secret = secret.ToArray(),
                ClientCertificate = cert.IsEmpty ? null : cert.ToArray(),
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(state);
        }
    }
}
