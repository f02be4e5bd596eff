using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Bufferless.Crypto.KeyExchange;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Interop;

/// <summary>
/// .NET SslStream (OpenSSL on Linux) as the client, over an in-memory duplex pipe, against the sans-IO server
/// driven by a small async loop: independent proof of the key schedule, transcript, signatures and records.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // CipherSuitesPolicy needs OpenSSL
public class SslStreamInteropTests
{
    private sealed class DuplexStream(PipeReader reader, PipeWriter writer) : Stream
    {
        private readonly Stream _read = reader.AsStream();
        private readonly Stream _write = writer.AsStream();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => _write.Flush();
        public override Task FlushAsync(CancellationToken ct) => _write.FlushAsync(ct);
        public override int Read(byte[] buffer, int offset, int count) => _read.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => _read.ReadAsync(buffer, ct);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => _read.ReadAsync(buffer, offset, count, ct);
        public override void Write(byte[] buffer, int offset, int count) => _write.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => _write.WriteAsync(buffer, ct);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => _write.WriteAsync(buffer, offset, count, ct);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) { _read.Dispose(); _write.Dispose(); }
            base.Dispose(disposing);
        }
    }

    private static (Stream Client, Stream Server) CreatePair()
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        return (new DuplexStream(toClient.Reader, toServer.Writer), new DuplexStream(toServer.Reader, toClient.Writer));
    }

    /// <summary>Echo server: reads bytes, processes, echoes application data, writes output. Optionally updates keys after the handshake.</summary>
    private static async Task<TlsServerConnection> RunServerAsync(Stream stream, TlsServerConfig config, bool updateKeysAfterHandshake, CancellationToken ct)
    {
        var connection = new TlsServerConnection(config);
        byte[] buffer = new byte[16384];
        byte[] output = new byte[32768];
        while (true)
        {
            int n = await stream.ReadAsync(buffer, ct);
            if (n == 0)
                return connection;
            bool done = Step(connection, buffer.AsSpan(0, n), updateKeysAfterHandshake);
            int m;
            while ((m = connection.DrainOutput(output)) > 0)
                await stream.WriteAsync(output.AsMemory(0, m), ct);
            await stream.FlushAsync(ct);
            if (done)
                return connection;
        }
    }

    private static bool Step(TlsServerConnection connection, ReadOnlySpan<byte> input, bool updateKeys)
    {
        Span<byte> data = stackalloc byte[4096];
        while (true)
        {
            TlsStatus status = connection.Process(input, out int consumed);
            input = input[consumed..];
            switch (status)
            {
                case TlsStatus.ApplicationDataAvailable:
                    int n;
                    while ((n = connection.ReadApplicationData(data)) > 0)
                        connection.WriteApplicationData(data[..n]);
                    continue;
                case TlsStatus.HandshakeComplete:
                    if (updateKeys)
                        connection.UpdateKeys(requestPeerUpdate: true);
                    continue;
                case TlsStatus.WantRead when input.IsEmpty:
                    return false;
                case TlsStatus.WantRead or TlsStatus.WantWrite:
                    continue;
                default:
                    return true; // Closed or Failed
            }
        }
    }

    public static TheoryData<TlsCipherSuite, TlsCertificateKeyType> Cases()
    {
        var data = new TheoryData<TlsCipherSuite, TlsCertificateKeyType>();
        foreach (var suite in new[] { TlsCipherSuite.Aes128GcmSha256, TlsCipherSuite.Aes256GcmSha384, TlsCipherSuite.ChaCha20Poly1305Sha256 })
            foreach (var cert in new[] { TlsCertificateKeyType.Rsa, TlsCertificateKeyType.EcdsaP256, TlsCertificateKeyType.EcdsaP384 })
                data.Add(suite, cert);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public Task SslStreamClient_SuiteAndCertificate_HandshakeAndEcho(TlsCipherSuite suite, TlsCertificateKeyType certType) =>
        RunAsync(new TlsServerConfig { Certificates = [TestCertificates.Create(certType)] }, suite, certType, updateKeys: false, expectHrr: false);

    [Fact]
    public Task SslStreamClient_ServerPrefersP384_HelloRetryRequest() =>
        RunAsync(new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], Groups = [NamedGroup.Secp384r1] },
            TlsCipherSuite.Aes128GcmSha256, TlsCertificateKeyType.EcdsaP256, updateKeys: false, expectHrr: true);

    [Fact]
    public Task SslStreamClient_ServerKeyUpdateWithRequest_DataStillFlows() =>
        RunAsync(new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.Rsa)] },
            TlsCipherSuite.Aes256GcmSha384, TlsCertificateKeyType.Rsa, updateKeys: true, expectHrr: false);

    public static TheoryData<TlsCipherSuite, TlsCertificateKeyType> Tls12Cases() => new()
    {
        { TlsCipherSuite.EcdheEcdsaAes128GcmSha256, TlsCertificateKeyType.EcdsaP256 },
        { TlsCipherSuite.EcdheEcdsaAes256GcmSha384, TlsCertificateKeyType.EcdsaP384 },
        { TlsCipherSuite.EcdheEcdsaChaCha20Poly1305Sha256, TlsCertificateKeyType.EcdsaP256 },
        { TlsCipherSuite.EcdheRsaAes128GcmSha256, TlsCertificateKeyType.Rsa },
        { TlsCipherSuite.EcdheRsaAes256GcmSha384, TlsCertificateKeyType.Rsa },
        { TlsCipherSuite.EcdheRsaChaCha20Poly1305Sha256, TlsCertificateKeyType.Rsa },
    };

    [Theory]
    [MemberData(nameof(Tls12Cases))]
    public Task SslStreamClientTls12_EverySuite_HandshakeAndEcho(TlsCipherSuite suite, TlsCertificateKeyType certType) =>
        // The other key type is configured too: the suite alone decides which certificate fits.
        RunAsync(new TlsServerConfig { Certificates = [TestCertificates.Create(certType == TlsCertificateKeyType.Rsa ? TlsCertificateKeyType.EcdsaP256 : TlsCertificateKeyType.Rsa), TestCertificates.Create(certType)] },
            suite, certType, updateKeys: false, expectHrr: false, SslProtocols.Tls12);

    [Theory]
    [InlineData(SslProtocols.Tls13)]
    [InlineData(SslProtocols.Tls12)]
    public async Task SslStreamClient_ClientCertificate_VerifiedSubjectExposed(SslProtocols protocol)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using X509Certificate2 clientCert = TestCertificates.Client(TlsCertificateKeyType.EcdsaP256);
        var config = new TlsServerConfig
        {
            Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)],
            ClientAuth = TlsClientAuth.Require,
            ClientCertificateAuthorities = [TestCertificates.Ca],
        };
        var (clientStream, serverStream) = CreatePair();
        Task<TlsServerConnection> serverTask = Task.Run(() => RunServerAsync(serverStream, config, false, cts.Token));
        using var ssl = new SslStream(clientStream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "example.test",
            EnabledSslProtocols = protocol,
            ClientCertificates = [clientCert],
            LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCert,
        }, cts.Token);
        await ssl.WriteAsync("hello"u8.ToArray(), cts.Token);
        byte[] echo = new byte[5];
        await ssl.ReadExactlyAsync(echo, cts.Token);
        Assert.Equal("hello"u8.ToArray(), echo);
        await ssl.ShutdownAsync();
        using TlsServerConnection server = await serverTask;
        Assert.Null(server.LocalAlert);
        Assert.Equal(clientCert.RawData, server.ClientCertificateDer);
        Assert.Equal(clientCert.Subject, server.ClientCertificateSubject);
    }

    private static async Task RunAsync(TlsServerConfig config, TlsCipherSuite suite, TlsCertificateKeyType certType, bool updateKeys, bool expectHrr,
        SslProtocols protocol = SslProtocols.Tls13)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var (clientStream, serverStream) = CreatePair();
        Task<TlsServerConnection> serverTask = Task.Run(() => RunServerAsync(serverStream, config, updateKeys, cts.Token));
        X509Certificate? seen = null;
        using var ssl = new SslStream(clientStream, leaveInnerStreamOpen: false, (_, cert, _, _) => { seen = cert; return true; });
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "example.test",
            EnabledSslProtocols = protocol,
            // Both enums carry the IANA code point, so the cast names the same suite.
            CipherSuitesPolicy = new CipherSuitesPolicy([(System.Net.Security.TlsCipherSuite)(ushort)suite]),
        }, cts.Token);
        Assert.Equal(protocol, ssl.SslProtocol);
        Assert.Equal((int)suite, (int)ssl.NegotiatedCipherSuite);
        Assert.Equal(TestCertificates.LeafFor(certType).Thumbprint, seen!.GetCertHashString());

        byte[] message = new byte[40000];
        Random.Shared.NextBytes(message);
        for (int round = 0; round < 2; round++)
        {
            await ssl.WriteAsync(message, cts.Token);
            await ssl.FlushAsync(cts.Token);
            byte[] echo = new byte[message.Length];
            await ssl.ReadExactlyAsync(echo, cts.Token);
            Assert.Equal(message, echo);
        }
        await ssl.ShutdownAsync();
        TlsServerConnection server = await serverTask;
        using var _ = server;
        Assert.Equal(TlsAlertDescription.CloseNotify, server.PeerAlert);
        Assert.Null(server.LocalAlert);
        Assert.Equal(suite, server.CipherSuite);
        Assert.Equal(expectHrr, server.UsedHelloRetryRequest);
        Assert.Equal("example.test", server.ServerName);
    }
}
