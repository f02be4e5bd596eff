using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Resumption;

public class ResumptionTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static TlsServerConfig Config(TlsTicketKeys keys, ManualClock clock, bool inFlight = false) => new()
    {
        Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256), TestCertificates.Create(TlsCertificateKeyType.Rsa)],
        TicketKeys = keys,
        TimeProvider = clock,
        TicketWithServerFlight = inFlight,
    };

    /// <summary>A full TLS 1.3 handshake that leaves one ticket with the client.</summary>
    private static TlsTestTicket FirstTicket13(TlsServerConfig config, TlsTestClientOptions? options = null)
    {
        var (client, server) = Pump.Handshake(config, options);
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.False(server.Connection.IsResumed);
        Assert.Equal(1, server.Connection.TicketsIssued);
        return Assert.Single(client.Tickets);
    }

    private static (TlsTestClient, ServerDriver) Resume13(TlsServerConfig config, TlsTestTicket ticket, TlsTestClientOptions? options = null)
    {
        options ??= new TlsTestClientOptions();
        return Pump.Handshake(config, options with { Resume = ticket });
    }

    [Fact]
    public void Resume13_SecondConnectionSameKeys_PskHandshakeWithoutCertificate()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        var config = Config(keys, clock);
        TlsTestTicket ticket = FirstTicket13(config);
        clock.Advance(TimeSpan.FromMinutes(5));
        var (client, server) = Resume13(config, ticket, new TlsTestClientOptions { TicketAgeMilliseconds = 300_000 });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.True(client.PskAccepted);
        Assert.True(server.Connection.IsResumed);
        Assert.Empty(client.Certificates); // RFC 8446 §2.2: no Certificate/CertificateVerify with a PSK
        Assert.Null(server.Connection.ServerCertificate);
        Assert.Single(client.Tickets); // a fresh ticket for the next time
        client.SendApplicationData("resumed"u8);
        Pump.Run(client, server);
        Assert.Equal("resumed"u8.ToArray(), server.Received);
    }

    [Fact]
    public void Resume13_TicketWithServerFlight_TicketArrivesBeforeClientSpeaksAgain()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        var config = Config(keys, clock, inFlight: true);
        using var client = new TlsTestClient();
        using var server = new ServerDriver(config);
        client.Start();
        byte[] flight = server.Feed(client.TakeOutput());
        client.Feed(flight); // only the server's first flight
        Assert.True(client.HandshakeComplete, client.Error);
        TlsTestTicket ticket = Assert.Single(client.Tickets);
        Assert.Equal(1, server.Connection.TicketsIssued);
        Pump.Run(client, server);
        Assert.Contains(TlsStatus.HandshakeComplete, server.Statuses);
        Assert.Equal(1, server.Connection.TicketsIssued); // not issued twice

        var (client2, server2) = Resume13(config, ticket);
        using var _c2 = client2; using var _s2 = server2;
        Assert.True(client2.HandshakeComplete, client2.Error);
        Assert.True(server2.Connection.IsResumed);
    }

    [Fact]
    public void Resume13_TwoKeyObjectsFromOneFile_ResumeAcrossInstances()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "# shared ticket keys\n" + TlsTicketKeys.GenerateKeyFileText(2));
            using var keysA = TlsTicketKeys.LoadFile(path, Start);
            using var keysB = TlsTicketKeys.LoadFile(path, Start);
            Assert.Equal(2, keysA.KeyCount);
            Assert.Equal(keysA.CurrentKeyName, keysB.CurrentKeyName);
            var clock = new ManualClock(Start);
            TlsTestTicket ticket = FirstTicket13(Config(keysA, clock));
            var (client, server) = Resume13(Config(keysB, clock), ticket);
            using var _c = client; using var _s = server;
            Assert.True(client.HandshakeComplete, client.Error);
            Assert.True(server.Connection.IsResumed);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TicketKeys_Base64WrappedOverTwoLines_RefusedWithHowToWriteIt()
    {
        string path = Path.GetTempFileName();
        try
        {
            // `openssl rand -base64 80` wraps at 64 characters: two lines of 48 and 32 bytes.
            string b64 = Convert.ToBase64String(Enumerable.Range(0, 80).Select(i => (byte)i).ToArray());
            File.WriteAllText(path, b64[..64] + "\n" + b64[64..] + "\n");
            var e = Assert.Throws<ArgumentException>(() => TlsTicketKeys.LoadFile(path, Start));
            Assert.Contains("each key must be 80 bytes (got 48)", e.Message);
            Assert.Contains("openssl base64 -A", e.Message);
            File.WriteAllText(path, b64 + "\n");
            using var keys = TlsTicketKeys.LoadFile(path, Start);
            Assert.Equal(1, keys.KeyCount);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TicketKeys_BinaryFile80BytesPerKey_Loads()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, [.. Enumerable.Range(0, 160).Select(i => (byte)(i * 7 + 1))]);
            using var keys = TlsTicketKeys.LoadFile(path, Start);
            Assert.Equal(2, keys.KeyCount);
            Assert.Equal(Enumerable.Range(0, 16).Select(i => (byte)(i * 7 + 1)).ToArray(), keys.CurrentKeyName);
            File.WriteAllBytes(path, new byte[81]);
            Assert.Throws<ArgumentException>(() => TlsTicketKeys.LoadFile(path, Start));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Resume13_TicketExpired_FullHandshake()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        var config = Config(keys, clock);
        TlsTestTicket ticket = FirstTicket13(config);
        clock.Advance(config.TicketLifetime + TimeSpan.FromSeconds(1));
        var (client, server) = Resume13(config, ticket, new TlsTestClientOptions { TicketAgeMilliseconds = (long)(config.TicketLifetime.TotalMilliseconds + 1000) });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.False(client.PskAccepted);
        Assert.False(server.Connection.IsResumed);
        Assert.Equal(2, client.Certificates.Length);
    }

    [Fact]
    public void Resume13_UnknownTicketKey_FullHandshake()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        using var otherKeys = TlsTicketKeys.CreateRandom(Start);
        TlsTestTicket ticket = FirstTicket13(Config(keys, clock));
        var (client, server) = Resume13(Config(otherKeys, clock), ticket);
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.False(server.Connection.IsResumed);
    }

    [Fact]
    public void Resume13_TicketAgeFarFromServerView_FullHandshake()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        var config = Config(keys, clock);
        TlsTestTicket ticket = FirstTicket13(config);
        var (client, server) = Resume13(config, ticket, new TlsTestClientOptions { TicketAgeSkewMilliseconds = 3_600_000 });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.False(server.Connection.IsResumed);
    }

    [Fact]
    public void Resume13_PskKeOnlyMode_FullHandshake()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        var config = Config(keys, clock);
        TlsTestTicket ticket = FirstTicket13(config);
        var (client, server) = Resume13(config, ticket, new TlsTestClientOptions { PskModes = [0] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.False(server.Connection.IsResumed);
    }

    [Fact]
    public void Resume13_BadBinder_DecryptError()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        var config = Config(keys, clock);
        TlsTestTicket ticket = FirstTicket13(config);
        var (client, server) = Resume13(config, ticket, new TlsTestClientOptions { CorruptBinder = true });
        using var _c = client; using var _s = server;
        Assert.Equal(TlsStatus.Failed, server.Last);
        // RFC 8446 §6.2: a PSK binder that does not validate is decrypt_error.
        Assert.Equal(TlsAlertDescription.DecryptError, server.Connection.LocalAlert);
        Assert.Equal(TlsAlertDescription.DecryptError, client.ReceivedAlert);
    }

    [Fact]
    public void Resume13_AfterHelloRetryRequest_BinderOverPrefixedTranscript()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        var config = new TlsServerConfig
        {
            Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], TicketKeys = keys, TimeProvider = clock,
            Groups = [Crypto.KeyExchange.NamedGroup.Secp256r1],
        };
        TlsTestTicket ticket = FirstTicket13(config);
        var (client, server) = Resume13(config, ticket, new TlsTestClientOptions { KeyShareGroups = [Crypto.KeyExchange.NamedGroup.X25519] });
        using var _c = client; using var _s = server;
        Assert.True(client.SawHelloRetryRequest);
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.True(server.Connection.IsResumed);
    }

    [Fact]
    public void Resume13_Sha384TicketWithSha256Suite_FullHandshake()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        var config = Config(keys, clock);
        TlsTestTicket ticket = FirstTicket13(config, new TlsTestClientOptions { Suites = [TlsCipherSuite.Aes256GcmSha384] });
        // The client offers only a SHA-256 suite: RFC 8446 §4.2.11, the PSK's hash must match.
        var (client, server) = Resume13(config, ticket with { Suite = TlsCipherSuite.Aes256GcmSha384 }, new TlsTestClientOptions { Suites = [TlsCipherSuite.Aes128GcmSha256] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.False(server.Connection.IsResumed);
    }

    [Fact]
    public void TicketKeys_RotationSchedule_OldKeysAcceptedUntilDropped()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start, rotationInterval: TimeSpan.FromHours(1), previousKeys: 1);
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], TicketKeys = keys, TimeProvider = clock, TicketLifetime = TimeSpan.FromDays(1) };
        TlsTestTicket ticket = FirstTicket13(config);
        byte[] firstName = keys.CurrentKeyName;

        clock.Advance(TimeSpan.FromMinutes(61));
        var (client, server) = Resume13(config, ticket, new TlsTestClientOptions { TicketAgeMilliseconds = 61 * 60_000 });
        Assert.True(server.Connection.IsResumed); // the issuing key rotated when the new ticket was sealed; the old one still opens
        Assert.NotEqual(firstName, keys.CurrentKeyName);
        Assert.Equal(2, keys.KeyCount);
        client.Dispose(); server.Dispose();

        clock.Advance(TimeSpan.FromMinutes(61));
        var (client2, server2) = Resume13(config, ticket, new TlsTestClientOptions { TicketAgeMilliseconds = 122 * 60_000 });
        using var _c2 = client2; using var _s2 = server2;
        Assert.True(client2.HandshakeComplete, client2.Error);
        Assert.False(server2.Connection.IsResumed); // two rotations later the first key is gone
    }

    // ---------------- TLS 1.2 session tickets (RFC 5077) ----------------

    private static (byte[] Ticket, byte[] Master) FirstTicket12(TlsServerConfig config)
    {
        var (client, server) = Pump12.Handshake(config, new Tls12TestClientOptions { SessionTicket = [] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Contains((ushort)35, client.ServerHelloExtensions);
        Assert.Equal(32, client.ServerSessionId.Length);
        return (client.Ticket!, client.MasterSecret!);
    }

    private static (Tls12TestClient, ServerDriver) Resume12(TlsServerConfig config, byte[] ticket, byte[] master, int inChunk = int.MaxValue) =>
        Pump12.Handshake(config, new Tls12TestClientOptions { SessionTicket = ticket, SessionId = [.. Enumerable.Repeat((byte)7, 32)] }, inChunk, resumeMaster: master);

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1)]
    public void Resume12_SecondConnectionSameKeys_AbbreviatedHandshake(int inChunk)
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        var config = Config(keys, clock);
        var (ticket, master) = FirstTicket12(config);
        var (client, server) = Resume12(config, ticket, master, inChunk);
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.True(client.Resumed);
        Assert.True(server.Connection.IsResumed);
        Assert.Empty(client.Certificates);
        Assert.NotNull(client.Ticket); // renewed
        client.SendApplicationData("resumed 1.2"u8);
        Pump12.Run(client, server);
        Assert.Equal("resumed 1.2"u8.ToArray(), server.Received);
        server.Connection.WriteApplicationData("ok"u8);
        Pump12.Run(client, server);
        Assert.Equal("ok"u8.ToArray(), client.ApplicationData);
    }

    [Fact]
    public void Resume12_TwoKeyObjectsFromOneFile_ResumeAcrossInstances()
    {
        byte[] material = System.Security.Cryptography.RandomNumberGenerator.GetBytes(80);
        using var keysA = TlsTicketKeys.FromBytes(material, Start);
        using var keysB = TlsTicketKeys.FromBytes(material, Start);
        var clock = new ManualClock(Start);
        var (ticket, master) = FirstTicket12(Config(keysA, clock));
        var (client, server) = Resume12(Config(keysB, clock), ticket, master);
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.True(server.Connection.IsResumed);
    }

    [Fact]
    public void Resume12_Expired_FullHandshake()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        var config = Config(keys, clock);
        var (ticket, master) = FirstTicket12(config);
        clock.Advance(TimeSpan.FromHours(3));
        var (client, server) = Resume12(config, ticket, master);
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.False(client.Resumed);
        Assert.False(server.Connection.IsResumed);
        Assert.Equal(2, client.Certificates.Length);
    }

    [Fact]
    public void Resume12_AlteredTicket_FullHandshake()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        var config = Config(keys, clock);
        var (ticket, master) = FirstTicket12(config);
        ticket[^1] ^= 1;
        var (client, server) = Resume12(config, ticket, master);
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.False(server.Connection.IsResumed);
    }

    [Fact]
    public void Resume12_Tls13TicketOffered_FullHandshake()
    {
        var clock = new ManualClock(Start);
        using var keys = TlsTicketKeys.CreateRandom(Start);
        var config = Config(keys, clock);
        TlsTestTicket ticket13 = FirstTicket13(config);
        var (client, server) = Resume12(config, ticket13.Ticket, new byte[48]);
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.False(server.Connection.IsResumed);
    }

    [Fact]
    public void Tickets_NoTicketKeys_NoneIssued()
    {
        var (client, server) = Pump12.Handshake(Handshake.HandshakeTests.Config(), new Tls12TestClientOptions { SessionTicket = [] });
        using var _c = client; using var _s = server;
        Assert.True(client.HandshakeComplete, client.Error);
        Assert.Null(client.Ticket);
        Assert.DoesNotContain((ushort)35, client.ServerHelloExtensions);
        var (client13, server13) = Pump.Handshake(Handshake.HandshakeTests.Config());
        using var _c13 = client13; using var _s13 = server13;
        Assert.Empty(client13.Tickets);
    }
}
