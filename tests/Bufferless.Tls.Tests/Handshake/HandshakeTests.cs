using Bufferless.Crypto.KeyExchange;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Handshake;

public class HandshakeTests
{
    internal static TlsServerConfig Config(params TlsCertificateKeyType[] types) => new()
    {
        Certificates = types.Length == 0
            ? [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)]
            : types.Select(TestCertificates.Create).ToList(),
    };

    public static TheoryData<TlsCipherSuite, NamedGroup, TlsCertificateKeyType> Matrix()
    {
        var data = new TheoryData<TlsCipherSuite, NamedGroup, TlsCertificateKeyType>();
        foreach (var suite in new[] { TlsCipherSuite.Aes128GcmSha256, TlsCipherSuite.Aes256GcmSha384, TlsCipherSuite.ChaCha20Poly1305Sha256 })
            foreach (var group in new[] { NamedGroup.X25519, NamedGroup.Secp256r1, NamedGroup.Secp384r1 })
                foreach (var cert in new[] { TlsCertificateKeyType.Rsa, TlsCertificateKeyType.EcdsaP256, TlsCertificateKeyType.EcdsaP384 })
                    data.Add(suite, group, cert);
        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Handshake_SuiteGroupCertificate_CompletesAndCarriesData(TlsCipherSuite suite, NamedGroup group, TlsCertificateKeyType certType)
    {
        var (client, server) = Pump.Handshake(Config(certType), new TlsTestClientOptions { Suites = [suite], KeyShareGroups = [group] });
        using var _c = client; using var _s = server;
        Assert.Null(client.Error);
        Assert.True(client.HandshakeComplete);
        Assert.Contains(TlsStatus.HandshakeComplete, server.Statuses);
        Assert.Equal(suite, server.Connection.CipherSuite);
        Assert.Equal(group, server.Connection.Group);
        Assert.False(server.Connection.UsedHelloRetryRequest);
        Assert.Equal(2, client.Certificates.Length); // full chain: leaf and CA
        Assert.Equal(certType == TlsCertificateKeyType.Rsa ? TlsSignatureScheme.RsaPssRsaeSha256
            : certType == TlsCertificateKeyType.EcdsaP256 ? TlsSignatureScheme.EcdsaSecp256r1Sha256 : TlsSignatureScheme.EcdsaSecp384r1Sha384,
            server.Connection.SignatureScheme);

        client.SendApplicationData("ping"u8);
        Pump.Run(client, server);
        Assert.Equal("ping"u8.ToArray(), server.Received);
        server.Connection.WriteApplicationData("pong"u8);
        Pump.Run(client, server);
        Assert.Equal("pong"u8.ToArray(), client.ApplicationData);
    }

    [Theory]
    [InlineData(TlsSignatureScheme.RsaPssRsaeSha384)]
    [InlineData(TlsSignatureScheme.RsaPssRsaeSha512)]
    public void Handshake_RsaPssSchemeOffered_UsesIt(TlsSignatureScheme scheme)
    {
        var (client, server) = Pump.Handshake(Config(TlsCertificateKeyType.Rsa), new TlsTestClientOptions { SignatureSchemes = [scheme] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(scheme, client.Scheme);
    }

    [Fact]
    public void Handshake_CertificateChoice_FollowsSignatureAlgorithms()
    {
        var config = Config(TlsCertificateKeyType.EcdsaP256, TlsCertificateKeyType.Rsa);
        var (client, server) = Pump.Handshake(config, new TlsTestClientOptions { SignatureSchemes = [TlsSignatureScheme.RsaPssRsaeSha256] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(TlsSignatureScheme.RsaPssRsaeSha256, server.Connection.SignatureScheme);
    }

    [Fact]
    public void Handshake_NoAcceptableKeyShare_HelloRetryRequestThenCompletes()
    {
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], Groups = [NamedGroup.Secp384r1, NamedGroup.X25519] };
        var (client, server) = Pump.Handshake(config, new TlsTestClientOptions { KeyShareGroups = [NamedGroup.Secp256r1] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.True(client.SawHelloRetryRequest);
        Assert.True(server.Connection.UsedHelloRetryRequest);
        Assert.Equal(NamedGroup.Secp384r1, server.Connection.Group);
        Assert.Equal(1, client.ChangeCipherSpecsSeen); // RFC 8446 §D.4: one CCS, after the HRR
    }

    [Fact]
    public void Handshake_CompatibilityMode_OneChangeCipherSpecEachWay()
    {
        var (client, server) = Pump.Handshake(Config(), new TlsTestClientOptions { CompatibilitySessionId = true });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(1, client.ChangeCipherSpecsSeen);

        var (client2, server2) = Pump.Handshake(Config(), new TlsTestClientOptions { CompatibilitySessionId = false });
        using var _c2 = client2; using var _s2 = server2;
        Assert.True(client2.HandshakeComplete, client2.Error);
        Assert.Equal(0, client2.ChangeCipherSpecsSeen);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 16384)]
    [InlineData(16384, 1)]
    [InlineData(7, 3)]
    public void Handshake_TinyInputAndOutputBuffers_EveryPausePointWorks(int inChunk, int outChunk)
    {
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.Rsa)], Groups = [NamedGroup.Secp256r1] };
        var (client, server) = Pump.Handshake(config, new TlsTestClientOptions { KeyShareGroups = [NamedGroup.X25519] }, inChunk, outChunk);
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.True(client.SawHelloRetryRequest);
        byte[] data = Enumerable.Range(0, 40000).Select(i => (byte)i).ToArray();
        client.SendApplicationData(data.AsSpan(0, 16384));
        client.SendApplicationData(data.AsSpan(16384, 16384));
        client.SendApplicationData(data.AsSpan(32768));
        client.SendKeyUpdate(request: true);
        client.SendApplicationData("after"u8);
        Pump.Run(client, server);
        Assert.Equal([.. data, .. "after"u8.ToArray()], server.Received);
        Assert.Equal(1, client.KeyUpdatesReceived);
        server.Connection.WriteApplicationData(data);
        server.Connection.Close();
        client.SendCloseNotify();
        Pump.Run(client, server);
        Assert.Equal(data, client.ApplicationData);
        Assert.Equal(TlsAlertDescription.CloseNotify, client.ReceivedAlert);
        Assert.Equal(TlsStatus.Closed, server.Last);
    }

    [Fact]
    public void NeedsServerConfig_PauseAfterClientHello_SniVisibleThenCompletes()
    {
        var client = new TlsTestClient(new TlsTestClientOptions { ServerName = "sni.example", Alpn = ["h2", "http/1.1"] });
        var late = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], ApplicationProtocols = ["http/1.1"] };
        using var server = new ServerDriver(null);
        client.Start();
        byte[] hello = client.TakeOutput();
        Assert.Equal(TlsStatus.NeedsServerConfig, server.Connection.Process(hello, out int consumed));
        Assert.Equal(hello.Length, consumed);
        Assert.Equal("sni.example", server.Connection.ServerName);
        Assert.Equal(["h2", "http/1.1"], server.Connection.ClientHello!.ApplicationProtocols);
        Assert.Equal(TlsStatus.NeedsServerConfig, server.Connection.Process([], out _));
        server.Connection.SetServerConfig(late);
        Assert.Equal(TlsStatus.WantRead, server.Connection.Process([], out _));
        client.Feed(server.Drain());
        Pump.Run(client, server);
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal("http/1.1", client.Alpn);
        Assert.True(client.ServerAcknowledgedName);
        client.Dispose();
    }

    [Fact]
    public void Alpn_NoOverlap_NoApplicationProtocolAlert()
    {
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], ApplicationProtocols = ["h2"] };
        var (client, server) = Pump.Handshake(config, new TlsTestClientOptions { Alpn = ["http/1.1"] });
        using var _c = client; using var _s = server;
        Assert.Equal(TlsAlertDescription.NoApplicationProtocol, client.ReceivedAlert);
        Assert.Equal(TlsStatus.Failed, server.Last);
    }

    [Fact]
    public void KeyUpdate_ServerInitiated_ClientFollows()
    {
        var (client, server) = Pump.Handshake(Config());
        using var _c = client; using var _s = server;
        server.Connection.WriteApplicationData("w"u8);
        Assert.Equal(1UL, server.Connection.WriteSequence);
        server.Connection.UpdateKeys(requestPeerUpdate: true);
        Assert.Equal(0UL, server.Connection.WriteSequence);
        server.Connection.WriteApplicationData("x"u8);
        Pump.Run(client, server);
        Assert.Equal(1, client.KeyUpdatesReceived);
        Assert.Equal("wx"u8.ToArray(), client.ApplicationData);
        client.SendApplicationData("y"u8); // under the client's updated key
        Pump.Run(client, server);
        Assert.Equal("y"u8.ToArray(), server.Received);
    }

    [Fact]
    public void KeyUpdate_WriteKeyReachesThreshold_EngineUpdatesItself()
    {
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], KeyUpdateThreshold = 3 };
        var (client, server) = Pump.Handshake(config);
        using var _c = client; using var _s = server;
        for (int i = 0; i < 10; i++)
            server.Connection.WriteApplicationData([(byte)i]);
        Pump.Run(client, server);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (byte)i), client.ApplicationData);
        Assert.True(client.KeyUpdatesReceived >= 3, $"key updates: {client.KeyUpdatesReceived}");
        Assert.True(server.Connection.WriteSequence <= 3);
    }

    [Fact]
    public void RecordSizeLimit_ClientLimit_ServerRecordsFitAndLimitEchoed()
    {
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.Rsa)], RecordSizeLimit = 2000 };
        var (client, server) = Pump.Handshake(config, new TlsTestClientOptions { RecordSizeLimit = 256 });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(2000, client.ServerRecordSizeLimit);
        server.Connection.WriteApplicationData(new byte[5000]);
        Pump.Run(client, server);
        Assert.Equal(5000, client.ApplicationData.Count);
        Assert.All(client.ReceivedRecordSizes, size => Assert.True(size <= 255));
        Assert.Contains(255, client.ReceivedRecordSizes);

        // Our own limit: a record of 2000 content bytes (plus type) is over the advertised 2000.
        client.SendApplicationData(new byte[2000]);
        Pump.Run(client, server);
        Assert.Equal(TlsAlertDescription.RecordOverflow, server.Connection.LocalAlert);
    }

    [Fact]
    public void EarlyData_Offered_RefusedAndSkipped()
    {
        var (client, server) = Pump.Handshake(Config(), new TlsTestClientOptions { OfferEarlyData = true, EarlyDataRecords = 3 });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.False(client.ServerAcceptedEarlyData);
        client.SendApplicationData("1-rtt"u8);
        Pump.Run(client, server);
        Assert.Equal("1-rtt"u8.ToArray(), server.Received);
    }

    [Fact]
    public void EarlyData_WithHelloRetryRequest_SkippedUntilSecondHello()
    {
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], Groups = [NamedGroup.Secp256r1] };
        var (client, server) = Pump.Handshake(config, new TlsTestClientOptions { OfferEarlyData = true, EarlyDataRecords = 2, KeyShareGroups = [NamedGroup.X25519] });
        using var _c = client; using var _s = server;
        Assert.True(client.SawHelloRetryRequest);
        Assert.True(client.HandshakeComplete, client.Error);
    }

    [Fact]
    public void EarlyData_OverSkipBudget_BadRecordMac()
    {
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], MaxEarlyDataSkip = 150 };
        var (client, server) = Pump.Handshake(config, new TlsTestClientOptions { OfferEarlyData = true, EarlyDataRecords = 2 });
        using var _c = client; using var _s = server;
        Assert.Equal(TlsAlertDescription.BadRecordMac, server.Connection.LocalAlert);
    }

    [Fact]
    public void Close_ClientCloseNotifyFirst_ServerStillWritesThenCloses()
    {
        var (client, server) = Pump.Handshake(Config());
        using var _c = client; using var _s = server;
        client.SendApplicationData("request"u8);
        client.SendCloseNotify();
        Pump.Run(client, server);
        Assert.Equal(TlsStatus.Closed, server.Last);
        Assert.Equal("request"u8.ToArray(), server.Received);
        Assert.Null(client.ReceivedAlert);

        // Half-close: the response still flows after the client's close_notify.
        server.Connection.WriteApplicationData("response"u8);
        server.Connection.Close();
        Pump.Run(client, server);
        Assert.Equal("response"u8.ToArray(), client.ApplicationData);
        Assert.Equal(TlsAlertDescription.CloseNotify, client.ReceivedAlert);
        Assert.Equal(TlsStatus.Closed, server.Connection.Process([1, 2, 3], out int consumed));
        Assert.Equal(0, consumed);
    }

    [Fact]
    public void Close_BothSides_ClosedStatusAndAlertDrained()
    {
        var (client, server) = Pump.Handshake(Config());
        using var _c = client; using var _s = server;
        server.Connection.Close();
        Pump.Run(client, server);
        Assert.Equal(TlsAlertDescription.CloseNotify, client.ReceivedAlert);
        Assert.Throws<InvalidOperationException>(() => server.Connection.WriteApplicationData("late"u8));
        client.SendCloseNotify();
        Pump.Run(client, server);
        Assert.Equal(TlsStatus.Closed, server.Last);
        Assert.Equal(TlsStatus.Closed, server.Connection.Process([1, 2, 3], out int consumed));
        Assert.Equal(0, consumed);
    }

    [Fact]
    public void KeyLog_FullHandshake_ReceivesFiveSecrets()
    {
        var labels = new List<string>();
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], KeyLog = (l, r, s) => labels.Add(l) };
        var (client, server) = Pump.Handshake(config);
        using var _c = client; using var _s = server;
        Assert.Equal(["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"], labels);
    }
}
