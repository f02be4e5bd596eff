using System.Security.Cryptography;
using Bufferless.Crypto.KeyExchange;
using Bufferless.Tls.Messages;

namespace Bufferless.Tls.Tests.TestSupport;

/// <summary>Builds ClientHello records with full control over each field and extension, for malformed-input tests.</summary>
internal sealed class HelloBuilder
{
    public static readonly byte[] X25519Share = KeyAgreement.Get(NamedGroup.X25519).CreateClientShare().PublicShare.ToArray();

    public ushort LegacyVersion { get; set; } = 0x0303;
    public byte[] SessionId { get; set; } = RandomNumberGenerator.GetBytes(32);
    public ushort[] Suites { get; set; } = [0x1301];
    public byte[] Compression { get; set; } = [0];
    public List<(ushort Type, byte[] Data)> Extensions { get; } =
    [
        (43, [2, 0x03, 0x04]),
        (10, [0, 2, 0x00, 0x1d]),
        (13, [0, 4, 0x04, 0x03, 0x08, 0x04]),
        (51, [0, 36, 0x00, 0x1d, 0, 32, .. X25519Share]),
    ];

    public HelloBuilder Set(ushort type, byte[] data)
    {
        int i = Extensions.FindIndex(e => e.Type == type);
        if (i >= 0) Extensions[i] = (type, data); else Extensions.Add((type, data));
        return this;
    }

    public HelloBuilder Remove(ushort type)
    {
        Extensions.RemoveAll(e => e.Type == type);
        return this;
    }

    public byte[] Message()
    {
        byte[] buffer = new byte[1 << 17];
        var w = new TlsWriter(buffer);
        int msg = w.BeginHandshake(TlsHandshakeType.ClientHello);
        w.WriteUInt16(LegacyVersion);
        w.WriteBytes(new byte[32]);
        w.WriteVector8(SessionId);
        int s = w.BeginVector16();
        foreach (ushort suite in Suites) w.WriteUInt16(suite);
        w.EndVector16(s);
        w.WriteVector8(Compression);
        int e = w.BeginVector16();
        foreach (var (type, data) in Extensions)
        {
            w.WriteUInt16(type);
            w.WriteVector16(data);
        }
        w.EndVector16(e);
        w.EndVector24(msg);
        return w.Written.ToArray();
    }

    public byte[] Record() => Records(Message());

    /// <summary>Wraps a handshake byte string into plaintext handshake records of at most 2^14 bytes.</summary>
    public static byte[] Records(byte[] handshake)
    {
        var output = new List<byte>();
        for (int offset = 0; offset < handshake.Length; offset += 16384)
        {
            int n = Math.Min(16384, handshake.Length - offset);
            output.AddRange([22, 3, 1, (byte)(n >> 8), (byte)n]);
            output.AddRange(handshake.AsSpan(offset, n));
        }
        return [.. output];
    }
}
