using Bufferless.Crypto.KeyExchange;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Handshake;

public class HybridAndKeyLogTests
{
    [Theory]
    [InlineData(int.MaxValue, 1)]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(700, 2)]
    public void X25519MLKEM768_ClientOffersIt_PreferredByDefault(int inChunk, int helloRecords)
    {
        var options = new TlsTestClientOptions
        {
            SupportedGroups = [NamedGroup.X25519, NamedGroup.X25519MLKEM768, NamedGroup.Secp256r1],
            KeyShareGroups = [NamedGroup.X25519, NamedGroup.X25519MLKEM768],
            HelloRecords = helloRecords,
        };
        var (client, server) = Pump.Handshake(HandshakeTests.Config(), options, inChunk);
        using var _c = client; using var _s = server;
        Assert.True(client.FirstClientHello.Length > 1216); // the hybrid share alone is 1216 bytes
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(NamedGroup.X25519MLKEM768, server.Connection.Group);
        Assert.Equal(NamedGroup.X25519MLKEM768, client.Group);
        Assert.False(server.Connection.UsedHelloRetryRequest);
        client.SendApplicationData("pq"u8);
        Pump.Run(client, server);
        Assert.Equal("pq"u8.ToArray(), server.Received);
    }

    [Fact]
    public void X25519MLKEM768_SupportedWithoutShare_ExistingShareUsedNoRetry()
    {
        var options = new TlsTestClientOptions { SupportedGroups = [NamedGroup.X25519MLKEM768, NamedGroup.X25519], KeyShareGroups = [NamedGroup.X25519] };
        var (client, server) = Pump.Handshake(HandshakeTests.Config(), options);
        using var _c = client; using var _s = server;
        // A share the client already sent beats a round trip: X25519 is used, no HRR.
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(NamedGroup.X25519, server.Connection.Group);
        Assert.Equal(NamedGroup.X25519MLKEM768, new TlsServerConfig().Groups[0]);
    }

    [Fact]
    public void X25519MLKEM768_WrongShareLength_IllegalParameter()
    {
        var b = new HelloBuilder().Set(10, [0, 2, 0x11, 0xEC]).Set(51, [0, 104, 0x11, 0xEC, 0, 100, .. new byte[100]]);
        using var server = new TlsServerConnection(HandshakeTests.Config());
        Assert.Equal(TlsStatus.Failed, server.Process(b.Record(), out _));
        Assert.Equal(TlsAlertDescription.IllegalParameter, server.LocalAlert);
    }

    [Fact]
    public void KeyLog13_Lines_NssFormat()
    {
        var lines = new List<string>();
        var config = new TlsServerConfig
        {
            Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)],
            KeyLog = (label, random, secret) => lines.Add(TlsKeyLog.FormatLine(label, random, secret)),
        };
        var (client, server) = Pump.Handshake(config, new TlsTestClientOptions { Suites = [TlsCipherSuite.Aes256GcmSha384] });
        using var _c = client; using var _s = server;
        Assert.Equal(5, lines.Count);
        string random = Convert.ToHexStringLower(client.ClientRandom);
        Assert.Null(server.Connection.ClientHello); // released once the handshake completed
        Assert.All(lines, line =>
        {
            string[] parts = line.Split(' ');
            Assert.Equal(3, parts.Length);
            Assert.Equal(random, parts[1]);
            Assert.Equal(96, parts[2].Length); // SHA-384 secrets
            Assert.Matches("^[0-9a-f]+$", parts[2]);
        });
        Assert.StartsWith("CLIENT_HANDSHAKE_TRAFFIC_SECRET ", lines[0]);
        Assert.Equal("CLIENT_RANDOM 0102 aabb", TlsKeyLog.FormatLine("CLIENT_RANDOM", [1, 2], [0xAA, 0xBB]));
    }
}
