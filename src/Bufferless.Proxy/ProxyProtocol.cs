using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Bufferless.Proxy;

public enum ProxyProtocolVersion
{
    None,
    V1,
    V2,
}

/// <summary>What the PROXY v2 header tells the backend about the TLS side (absent values are left out).</summary>
public readonly record struct ProxyTlsInfo(string? ServerName, string? Alpn, string? Version, string? Cipher, string? ClientSubject, bool ClientCertVerified);

/// <summary>
/// The PROXY protocol header (HAProxy's spec, "The PROXY protocol, versions 1 and 2") written once at the start of
/// each backend connection, so the backend sees the real client address and, in v2, the TLS details.
/// </summary>
public static class ProxyProtocol
{
    public const int MaxV1Length = 107;

    // v2 §2.2: the 12-byte signature.
    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private const byte Pp2TypeAlpn = 0x01;
    private const byte Pp2TypeAuthority = 0x02;
    private const byte Pp2TypeSsl = 0x20;
    private const byte Pp2SubtypeSslVersion = 0x21;
    private const byte Pp2SubtypeSslCn = 0x22;
    private const byte Pp2SubtypeSslCipher = 0x23;
    private const byte Pp2ClientSsl = 0x01;
    private const byte Pp2ClientCertConn = 0x02;

    /// <summary>Builds the header for one backend connection.</summary>
    public static byte[] Build(ProxyProtocolVersion version, IPEndPoint source, IPEndPoint destination, in ProxyTlsInfo tls) => version switch
    {
        ProxyProtocolVersion.V1 => BuildV1(source, destination),
        ProxyProtocolVersion.V2 => BuildV2(source, destination, tls),
        _ => [],
    };

    /// <summary>v1 §2.1: "PROXY TCP4|TCP6 src dst sport dport\r\n"; mixed families are given as UNKNOWN.</summary>
    public static byte[] BuildV1(IPEndPoint source, IPEndPoint destination)
    {
        (source, destination) = Normalize(source, destination);
        string line = source.AddressFamily != destination.AddressFamily
            ? "PROXY UNKNOWN\r\n"
            : $"PROXY {(source.AddressFamily == AddressFamily.InterNetwork ? "TCP4" : "TCP6")} {source.Address} {destination.Address} {source.Port} {destination.Port}\r\n";
        return Encoding.ASCII.GetBytes(line);
    }

    /// <summary>v2 §2.2: binary header, PROXY command over TCP, with ALPN, authority (SNI) and SSL TLVs.</summary>
    public static byte[] BuildV2(IPEndPoint source, IPEndPoint destination, in ProxyTlsInfo tls)
    {
        (source, destination) = Normalize(source, destination);
        bool v4 = source.AddressFamily == AddressFamily.InterNetwork && destination.AddressFamily == AddressFamily.InterNetwork;
        int addressLength = v4 ? 12 : 36;
        var tlvs = new List<byte>();
        if (tls.Alpn is not null)
            AddTlv(tlvs, Pp2TypeAlpn, Encoding.ASCII.GetBytes(tls.Alpn));
        if (tls.ServerName is not null)
            AddTlv(tlvs, Pp2TypeAuthority, Encoding.UTF8.GetBytes(tls.ServerName));
        var ssl = new List<byte>
        {
            (byte)(Pp2ClientSsl | (tls.ClientSubject is not null ? Pp2ClientCertConn : 0)),
        };
        // verify: 0 when the client presented a certificate that verified (or none was asked for).
        ssl.AddRange(BitConverter.GetBytes(tls.ClientSubject is not null && !tls.ClientCertVerified ? 1u : 0u));
        if (tls.Version is not null)
            AddTlv(ssl, Pp2SubtypeSslVersion, Encoding.ASCII.GetBytes(tls.Version));
        if (tls.ClientSubject is not null)
            AddTlv(ssl, Pp2SubtypeSslCn, Encoding.UTF8.GetBytes(tls.ClientSubject));
        if (tls.Cipher is not null)
            AddTlv(ssl, Pp2SubtypeSslCipher, Encoding.ASCII.GetBytes(tls.Cipher));
        AddTlv(tlvs, Pp2TypeSsl, [.. ssl]);

        byte[] header = new byte[16 + addressLength + tlvs.Count];
        V2Signature.CopyTo(header);
        header[12] = 0x21; // version 2, command PROXY
        header[13] = (byte)(v4 ? 0x11 : 0x21); // TCP over IPv4 / IPv6
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)(addressLength + tlvs.Count));
        Span<byte> a = header.AsSpan(16, addressLength);
        int ipLength = v4 ? 4 : 16;
        WriteAddress(source.Address, v4, a[..ipLength]);
        WriteAddress(destination.Address, v4, a.Slice(ipLength, ipLength));
        BinaryPrimitives.WriteUInt16BigEndian(a[(2 * ipLength)..], (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(a[(2 * ipLength + 2)..], (ushort)destination.Port);
        tlvs.CopyTo(header, 16 + addressLength);
        return header;
    }

    private static void AddTlv(List<byte> to, byte type, byte[] value)
    {
        to.Add(type);
        to.Add((byte)(value.Length >> 8));
        to.Add((byte)value.Length);
        to.AddRange(value);
    }

    private static void WriteAddress(IPAddress address, bool v4, Span<byte> destination)
    {
        IPAddress a = v4 ? address : (address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : address);
        if (!a.TryWriteBytes(destination, out int written) || written != destination.Length)
            throw new ArgumentException($"address {address} does not fit the header family");
    }

    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; the header carries them as IPv4.
    private static (IPEndPoint, IPEndPoint) Normalize(IPEndPoint source, IPEndPoint destination)
    {
        static IPEndPoint Unmap(IPEndPoint e) => e.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(e.Address.MapToIPv4(), e.Port) : e;
        return (Unmap(source), Unmap(destination));
    }
}
