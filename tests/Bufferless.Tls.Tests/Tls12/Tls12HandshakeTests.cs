using Bufferless.Crypto.KeyExchange;
using Bufferless.Tls.Records;
using Bufferless.Tls.Tests.Handshake;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Tls12;

public class Tls12HandshakeTests
{
    internal static TlsServerConfig Config() => HandshakeTests.Config(TlsCertificateKeyType.EcdsaP256, TlsCertificateKeyType.Rsa);

    public static TheoryData<TlsCipherSuite, NamedGroup> Matrix()
    {
        var data = new TheoryData<TlsCipherSuite, NamedGroup>();
        foreach (var suite in new[] { TlsCipherSuite.EcdheEcdsaAes128GcmSha256, TlsCipherSuite.EcdheEcdsaAes256GcmSha384, TlsCipherSuite.EcdheEcdsaChaCha20Poly1305Sha256,
                     TlsCipherSuite.EcdheRsaAes128GcmSha256, TlsCipherSuite.EcdheRsaAes256GcmSha384, TlsCipherSuite.EcdheRsaChaCha20Poly1305Sha256 })
            foreach (var group in new[] { NamedGroup.X25519, NamedGroup.Secp256r1, NamedGroup.Secp384r1 })
                data.Add(suite, group);
        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Handshake12_SuiteAndGroup_CompletesAndCarriesData(TlsCipherSuite suite, NamedGroup group)
    {
        var (client, server) = Pump12.Handshake(Config(), new Tls12TestClientOptions { Suites = [suite], Groups = [group] });
        using var _c = client; using var _s = server;
        Assert.Null(client.Error);
        Assert.True(client.HandshakeComplete);
        Assert.Contains(TlsStatus.HandshakeComplete, server.Statuses);
        Assert.Equal(TlsVersion.Tls12, server.Connection.NegotiatedVersion);
        Assert.Equal(suite, server.Connection.CipherSuite);
        Assert.Equal(group, server.Connection.Group);
        Assert.Equal(2, client.Certificates.Length);
        bool rsa = suite is TlsCipherSuite.EcdheRsaAes128GcmSha256 or TlsCipherSuite.EcdheRsaAes256GcmSha384 or TlsCipherSuite.EcdheRsaChaCha20Poly1305Sha256;
        Assert.Equal(rsa ? TlsCertificateKeyType.Rsa : TlsCertificateKeyType.EcdsaP256, server.Connection.ServerCertificate!.KeyType);

        client.SendApplicationData("ping"u8);
        client.SendApplicationData(new byte[16384]);
        Pump12.Run(client, server);
        Assert.Equal([.. "ping"u8.ToArray(), .. new byte[16384]], server.Received);
        server.Connection.WriteApplicationData(new byte[20000]);
        server.Connection.WriteApplicationData("pong"u8);
        Pump12.Run(client, server);
        Assert.Equal([.. new byte[20000], .. "pong"u8.ToArray()], client.ApplicationData);
        Assert.Null(client.Error);
    }

    [Fact]
    public void ServerHello12_Random_EndsWithDowngradeSentinel()
    {
        var (client, server) = Pump12.Handshake(Config());
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        // RFC 8446 §4.1.3: 44 4F 57 4E 47 52 44 01
        Assert.Equal(new byte[] { 0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44, 0x01 }, client.ServerRandom[24..]);
        Assert.Contains((ushort)23, client.ServerHelloExtensions); // extended_master_secret echoed
        Assert.Contains((ushort)0xff01, client.ServerHelloExtensions); // renegotiation_info echoed
    }

    [Fact]
    public void ClientHello12_PreferEcdsaCertificate_WhenClientAcceptsBoth()
    {
        var config = HandshakeTests.Config(TlsCertificateKeyType.Rsa, TlsCertificateKeyType.EcdsaP256);
        var (client, server) = Pump12.Handshake(config);
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(TlsCipherSuite.EcdheEcdsaAes128GcmSha256, client.Suite);
    }

    [Fact]
    public void ClientHello12_NoEcdsaInSignatureAlgorithms_RsaCertificateChosen()
    {
        var (client, server) = Pump12.Handshake(Config(), new Tls12TestClientOptions { SignatureSchemes = [TlsSignatureScheme.RsaPkcs1Sha384] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(TlsCertificateKeyType.Rsa, server.Connection.ServerCertificate!.KeyType);
        Assert.Equal(TlsSignatureScheme.RsaPkcs1Sha384, client.ServerKeyExchangeScheme);
    }

    [Fact]
    public void ClientHello12_SupportedVersionsWithout13_Tls12()
    {
        var (client, server) = Pump12.Handshake(Config(), new Tls12TestClientOptions { SupportedVersions = [0x0303], LegacyVersion = 0x0303 });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(TlsVersion.Tls12, server.Connection.NegotiatedVersion);
    }

    [Fact]
    public void ClientHello_Offers13And12_Tls13Chosen()
    {
        var (client, server) = Pump.Handshake(Config());
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal(TlsVersion.Tls13, server.Connection.NegotiatedVersion);
    }

    private static void AssertAlert(Tls12TestClientOptions options, TlsAlertDescription expected, TlsServerConfig? config = null)
    {
        var (client, server) = Pump12.Handshake(config ?? Config(), options);
        using var _c = client; using var _s = server;
        Assert.Equal(TlsStatus.Failed, server.Last);
        Assert.Equal(expected, server.Connection.LocalAlert);
        Assert.Equal(expected, client.ReceivedAlert);
        Assert.False(client.HandshakeComplete);
    }

    [Fact] public void ClientHello12_NoExtendedMasterSecret_HandshakeFailure() =>
        AssertAlert(new Tls12TestClientOptions { ExtendedMasterSecret = false }, TlsAlertDescription.HandshakeFailure);

    [Fact] public void ClientHello12_NonEmptyRenegotiationInfo_HandshakeFailure() =>
        AssertAlert(new Tls12TestClientOptions { RenegotiationInfo = [1, 2, 3] }, TlsAlertDescription.HandshakeFailure);

    [Fact] public void ClientHello12_FallbackScsv_InappropriateFallback() =>
        AssertAlert(new Tls12TestClientOptions { ExtraSuites = [0x5600] }, TlsAlertDescription.InappropriateFallback);

    [Fact] public void ClientHello12_Tls11_ProtocolVersion() =>
        AssertAlert(new Tls12TestClientOptions { LegacyVersion = 0x0302 }, TlsAlertDescription.ProtocolVersion);

    [Fact] public void ClientHello12_SupportedVersionsOnlyOld_ProtocolVersion() =>
        AssertAlert(new Tls12TestClientOptions { SupportedVersions = [0x0302, 0x0301] }, TlsAlertDescription.ProtocolVersion);

    [Fact] public void ClientHello12_Tls12Disabled_ProtocolVersion() =>
        AssertAlert(new Tls12TestClientOptions(), TlsAlertDescription.ProtocolVersion,
            new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], AllowTls12 = false });

    [Fact] public void ClientHello12_OnlyCbcSuites_HandshakeFailure() =>
        AssertAlert(new Tls12TestClientOptions { Suites = [], ExtraSuites = [0xC013, 0xC009, 0x002F, 0x009C] }, TlsAlertDescription.HandshakeFailure);

    [Fact] public void ClientHello12_NoSignatureAlgorithms_HandshakeFailure() =>
        AssertAlert(new Tls12TestClientOptions { SignatureSchemes = [] }, TlsAlertDescription.HandshakeFailure);

    [Fact] public void ClientHello12_NoCommonGroup_HandshakeFailure() =>
        AssertAlert(new Tls12TestClientOptions { Groups = [(NamedGroup)0x0019] }, TlsAlertDescription.HandshakeFailure);

    [Fact] public void ClientHello12_OnlyHybridGroup_HandshakeFailure() =>
        AssertAlert(new Tls12TestClientOptions { Groups = [NamedGroup.X25519MLKEM768] }, TlsAlertDescription.HandshakeFailure);

    [Fact]
    public void Renegotiation12_ClientHelloAfterHandshake_NoRenegotiationWarningAndConnectionContinues()
    {
        var (client, server) = Pump12.Handshake(Config());
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        client.WriteEncrypted(TlsContentType.Handshake, client.BuildClientHello());
        client.SendApplicationData("still here"u8);
        Pump12.Run(client, server);
        Assert.Equal((byte)1, client.Alerts[^1].Level); // RFC 5246 §7.2.2: a warning
        Assert.Equal(TlsAlertDescription.NoRenegotiation, client.Alerts[^1].Description);
        Assert.Equal(1, server.Connection.RenegotiationsRefused);
        Assert.Equal("still here"u8.ToArray(), server.Received);
        Assert.Null(server.Connection.LocalAlert);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    public void Handshake12_TinyBuffers_EveryPausePointWorks(int inChunk, int outChunk)
    {
        var (client, server) = Pump12.Handshake(Config(), new Tls12TestClientOptions(), inChunk, outChunk);
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        byte[] data = Enumerable.Range(0, 30000).Select(i => (byte)i).ToArray();
        client.SendApplicationData(data.AsSpan(0, 16384));
        client.SendApplicationData(data.AsSpan(16384));
        Pump12.Run(client, server);
        Assert.Equal(data, server.Received);
        server.Connection.WriteApplicationData(data);
        server.Connection.Close();
        client.SendCloseNotify();
        Pump12.Run(client, server);
        Assert.Equal(data, client.ApplicationData);
        Assert.Equal(TlsAlertDescription.CloseNotify, client.ReceivedAlert);
        Assert.Equal(TlsStatus.Closed, server.Last);
    }

    [Fact]
    public void Close12_ClientCloseNotifyFirst_HalfClosedServerStillWrites()
    {
        var (client, server) = Pump12.Handshake(Config());
        using var _c = client; using var _s = server;
        client.SendApplicationData("request"u8);
        client.SendCloseNotify();
        Pump12.Run(client, server);
        Assert.Equal(TlsStatus.Closed, server.Last);
        server.Connection.WriteApplicationData("response"u8);
        server.Connection.Close();
        Pump12.Run(client, server);
        Assert.Equal("response"u8.ToArray(), client.ApplicationData);
        Assert.True(server.Connection.IsHandshakeComplete);
    }

    [Fact]
    public void UpdateKeys12_Throws()
    {
        var (client, server) = Pump12.Handshake(Config());
        using var _c = client; using var _s = server;
        Assert.Throws<InvalidOperationException>(() => server.Connection.UpdateKeys(false));
    }

    [Theory]
    [InlineData(TlsCipherSuite.EcdheEcdsaAes128GcmSha256, 8, 4)]
    [InlineData(TlsCipherSuite.EcdheRsaAes256GcmSha384, 8, 4)]
    [InlineData(TlsCipherSuite.EcdheEcdsaChaCha20Poly1305Sha256, 0, 12)]
    public void TakeRecordProtection12_KeysOpenAndSealRecordsOfTheClient(TlsCipherSuite suite, int explicitNonce, int ivLength)
    {
        var (client, server) = Pump12.Handshake(Config(), new Tls12TestClientOptions { Suites = [suite] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        client.SendApplicationData("one"u8);
        Pump12.Run(client, server);
        Assert.Equal("one"u8.ToArray(), server.Received);
        server.Connection.WriteApplicationData("two"u8);
        byte[] pendingToClient = server.Drain();

        using TlsTrafficKeys keys = server.Connection.TakeRecordProtection();
        Assert.Equal(TlsVersion.Tls12, keys.Version);
        Assert.Equal(explicitNonce, keys.ExplicitNonceLength);
        Assert.Equal(ivLength, keys.ReadIv.Length);
        Assert.Equal(ivLength, keys.WriteIv.Length);
        Assert.Equal(2UL, keys.NextReadSequence); // the client Finished, then "one"
        Assert.Equal(2UL, keys.NextWriteSequence); // server Finished, then "two"
        Assert.Empty(keys.ReadTrafficSecret);
        Assert.Equal(5 + explicitNonce + 16, keys.RecordOverhead);

        // The packet engine's view: open the client's next record and seal one the client accepts.
        var info = Bufferless.Tls.KeySchedule.CipherSuiteInfo.Get(suite);
        using var read = RecordProtection.CreateTls12(info, keys.ReadKey, keys.ReadIv);
        using var write = RecordProtection.CreateTls12(info, keys.WriteKey, keys.WriteIv);
        Advance(read, keys.NextReadSequence);
        Advance(write, keys.NextWriteSequence);
        client.SendApplicationData("three"u8);
        byte[] record = client.TakeOutput();
        Assert.Equal(5 + explicitNonce + 5 + 16, record.Length);
        Assert.True(read.TryOpen(record.AsSpan(0, 5), record.AsSpan(5), out var type, out int offset, out int length));
        Assert.Equal(TlsContentType.ApplicationData, type);
        Assert.Equal("three"u8.ToArray(), record.AsSpan(5 + offset, length).ToArray());

        byte[] outRecord = new byte[4 + write.Overhead];
        "four"u8.CopyTo(outRecord.AsSpan(write.ContentOffset));
        int n = write.SealInPlace(TlsContentType.ApplicationData, outRecord, 4);
        client.Feed([.. pendingToClient, .. outRecord.AsSpan(0, n)]);
        Assert.Null(client.Error);
        Assert.Equal("twofour"u8.ToArray(), client.ApplicationData);
    }

    /// <summary>Moves a fresh protection to the given record number by sealing throwaway records (test-only).</summary>
    private static void Advance(RecordProtection protection, ulong sequence)
    {
        byte[] scratch = new byte[1 + protection.Overhead];
        while (protection.Sequence < sequence)
            protection.SealInPlace(TlsContentType.ApplicationData, scratch, 1);
    }

    [Fact]
    public void ApplicationRecords12_SteadyState_NoAllocation()
    {
        var (client, server) = Pump12.Handshake(Config(), new Tls12TestClientOptions { Suites = [TlsCipherSuite.EcdheEcdsaAes128GcmSha256] });
        using var _c = client; using var _s = server;
        TlsServerConnection connection = server.Connection;
        const int records = 200;
        byte[] chunk = new byte[1400];
        for (int i = 0; i < records; i++)
            client.SendApplicationData(chunk);
        byte[] incoming = client.TakeOutput();
        byte[] output = new byte[2048];
        byte[] plain = new byte[2048];
        void RoundTrip(ReadOnlySpan<byte> input)
        {
            while (!input.IsEmpty)
            {
                TlsStatus status = connection.Process(input, out int consumed);
                input = input[consumed..];
                if (status != TlsStatus.ApplicationDataAvailable)
                    continue;
                int n;
                while ((n = connection.ReadApplicationData(plain)) > 0)
                {
                    connection.WriteApplicationData(plain.AsSpan(0, n));
                    while (connection.DrainOutput(output) > 0) { }
                }
            }
        }
        // A quarter warms up; the other three are measured one by one. The runtime's tiering can allocate a little on
        // the calling thread the moment a method's call count trips, once; an allocation per record shows in every round.
        int recordSize = 1400 + 29;
        int quarter = incoming.Length / 4 / recordSize * recordSize;
        RoundTrip(incoming.AsSpan(0, quarter));
        long fewest = long.MaxValue;
        for (int round = 1; round <= 3; round++)
        {
            int end = round == 3 ? incoming.Length : (round + 1) * quarter;
            long before = GC.GetAllocatedBytesForCurrentThread();
            RoundTrip(incoming.AsSpan(round * quarter, end - round * quarter));
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, fewest);
        Assert.Equal((ulong)records + 1, connection.ReadSequence);
    }

    [Fact]
    public void KeyLog12_FullHandshake_ClientRandomAndMasterSecret()
    {
        var lines = new List<string>();
        var config = new TlsServerConfig
        {
            Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)],
            KeyLog = (label, random, secret) => lines.Add(TlsKeyLog.FormatLine(label, random, secret)),
        };
        var (client, server) = Pump12.Handshake(config);
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Equal([$"CLIENT_RANDOM {Convert.ToHexStringLower(client.ClientRandom)} {Convert.ToHexStringLower(client.MasterSecret!)}"], lines);
    }
}
