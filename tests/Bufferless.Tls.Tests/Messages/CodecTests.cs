using Bufferless.Crypto.KeyExchange;
using Bufferless.Tls.Messages;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Messages;

public class CodecTests
{
    [Fact]
    public void TlsReader_Vectors_ReadAndRejectTruncated()
    {
        byte[] data = [0x01, 0x00, 0x02, 0xAA, 0xBB, 0x00, 0x00, 0x01, 0xCC, 0x02, 0xDD];
        var r = new TlsReader(data);
        Assert.True(r.TryReadUInt8(out byte b) && b == 1);
        Assert.True(r.TryReadVector16(out ReadOnlySpan<byte> v16) && v16.SequenceEqual(new byte[] { 0xAA, 0xBB }));
        Assert.True(r.TryReadVector24(out ReadOnlySpan<byte> v24) && v24.SequenceEqual(new byte[] { 0xCC }));
        Assert.False(r.TryReadVector8(out ReadOnlySpan<byte> _)); // claims 2 bytes, 1 left
        var t = new TlsReader([0x00]);
        Assert.False(t.TryReadUInt16(out _));
        Assert.False(new TlsReader([0, 0]).TryReadUInt24(out _));
    }

    [Fact]
    public void TlsWriter_LengthScopes_WriteBackLengths()
    {
        byte[] buffer = new byte[32];
        var w = new TlsWriter(buffer);
        int m = w.BeginHandshake(TlsHandshakeType.KeyUpdate);
        int v = w.BeginVector16();
        w.WriteUInt8(7);
        w.EndVector16(v);
        int v8 = w.BeginVector8();
        w.WriteUInt16(0x0102);
        w.EndVector8(v8);
        w.EndVector24(m);
        Assert.Equal(new byte[] { 24, 0, 0, 6, 0, 1, 7, 2, 1, 2 }, w.Written.ToArray());
        Assert.Throws<InvalidOperationException>(() => { var small = new TlsWriter(new byte[1]); small.WriteUInt16(1); });
    }

    [Fact]
    public void ClientHello_Rfc8448_Deconstructs()
    {
        Assert.True(ClientHello.TryParse(Rfc8448.ClientHello.AsSpan(4), out ClientHello? hello, out _));
        Assert.Equal([0x1301, 0x1303, 0x1302], hello!.CipherSuites);
        Assert.Equal("server", hello.ServerName);
        Assert.Equal([(ushort)0x0304], hello.SupportedVersions);
        Assert.Equal(NamedGroup.X25519, hello.KeyShares!.Single().Group);
        Assert.Equal(0x4001, hello.RecordSizeLimit);
        Assert.Equal(15, hello.SignatureAlgorithms.Count);
        Assert.Empty(hello.LegacySessionId.ToArray());
        Assert.Contains((ushort)0xff01, hello.ExtensionTypes); // renegotiation_info: unknown, kept as a number
    }

    [Fact]
    public void ClientHello_Rfc8448TruncatedAnywhere_DecodeErrorNeverThrows()
    {
        for (int cut = 0; cut < Rfc8448.ClientHello.Length - 4; cut++)
        {
            // Cut right after the compression methods, it is a well-formed hello without extensions (pre-TLS 1.3 shape).
            if (ClientHello.TryParse(Rfc8448.ClientHello.AsSpan(4, cut), out ClientHello? hello, out var alert))
            {
                Assert.Equal(45, cut);
                Assert.False(hello!.OffersTls13);
                continue;
            }
            Assert.Equal(TlsAlertDescription.DecodeError, alert);
        }
    }

    [Fact]
    public void ServerMessages_Rfc8448ServerHello_ConstructsSameBytes()
    {
        byte[] buffer = new byte[256];
        var w = new TlsWriter(buffer);
        ServerMessages.WriteServerHello(ref w, Rfc8448.ServerRandom, [], TlsCipherSuite.Aes128GcmSha256, NamedGroup.X25519,
            Rfc8448.ServerHello.AsSpan(Rfc8448.ServerHello.Length - 38, 32));
        Assert.Equal(Rfc8448.ServerHello, w.Written.ToArray());
    }
}
