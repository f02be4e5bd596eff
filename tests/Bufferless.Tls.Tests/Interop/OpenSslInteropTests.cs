using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Interop;

/// <summary>
/// The openssl command-line client over loopback TCP against the sans-IO server: every TLS 1.2 suite, and session
/// resumption with -sess_out/-sess_in across two server configurations sharing ticket keys (two "instances").
/// </summary>
public class OpenSslInteropTests
{
    private static readonly string? OpenSsl = new[] { "/usr/bin/openssl", "/usr/local/bin/openssl" }.FirstOrDefault(File.Exists);

    /// <summary>Accepts connections, sends a greeting after the handshake, then close_notify. Returns the connections seen.</summary>
    private sealed class LoopbackServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _cts = new();
        private readonly Task _accept;
        public List<TlsServerConnection> Connections { get; } = [];
        public TlsServerConfig Config { get; set; }

        public LoopbackServer(TlsServerConfig config)
        {
            Config = config;
            _listener.Start();
            _accept = Task.Run(AcceptLoop);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        private async Task AcceptLoop()
        {
            while (!_cts.IsCancellationRequested)
            {
                Socket socket;
                try { socket = await _listener.AcceptSocketAsync(_cts.Token); }
                catch (OperationCanceledException) { return; }
                var connection = new TlsServerConnection(Config);
                lock (Connections) Connections.Add(connection);
                _ = Task.Run(() => Serve(socket, connection));
            }
        }

        private async Task Serve(Socket socket, TlsServerConnection connection)
        {
            using var _ = socket;
            byte[] input = new byte[16384], output = new byte[32768], plain = new byte[16384];
            try
            {
                while (true)
                {
                    int n = await socket.ReceiveAsync(input, _cts.Token);
                    if (n == 0) return;
                    int offset = 0;
                    bool done = false;
                    while (!done)
                    {
                        TlsStatus status = connection.Process(input.AsSpan(offset, n - offset), out int consumed);
                        offset += consumed;
                        switch (status)
                        {
                            case TlsStatus.HandshakeComplete:
                                connection.WriteApplicationData("hello from bufferless\n"u8);
                                connection.Close();
                                break;
                            case TlsStatus.ApplicationDataAvailable:
                                while (connection.ReadApplicationData(plain) > 0) { }
                                break;
                            case TlsStatus.WantRead when offset == n:
                                done = true;
                                break;
                            case TlsStatus.WantRead or TlsStatus.WantWrite:
                                break;
                            default:
                                done = true;
                                break;
                        }
                        int m;
                        while ((m = connection.DrainOutput(output)) > 0)
                            await socket.SendAsync(output.AsMemory(0, m), _cts.Token);
                        if (status is TlsStatus.Failed or TlsStatus.Closed) return;
                    }
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException) { }
        }

        public async ValueTask DisposeAsync()
        {
            _cts.Cancel();
            _listener.Stop();
            try { await _accept; } catch (OperationCanceledException) { }
            lock (Connections) foreach (var c in Connections) c.Dispose();
        }
    }

    private static async Task<string> SClientAsync(int port, params string[] args)
    {
        var psi = new ProcessStartInfo(OpenSsl!)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (string a in (string[])["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "example.test", "-ign_eof", .. args])
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(cts.Token);
        return await stdout + await stderr;
    }

    [Theory]
    [InlineData("ECDHE-ECDSA-AES128-GCM-SHA256", TlsCipherSuite.EcdheEcdsaAes128GcmSha256)]
    [InlineData("ECDHE-ECDSA-AES256-GCM-SHA384", TlsCipherSuite.EcdheEcdsaAes256GcmSha384)]
    [InlineData("ECDHE-ECDSA-CHACHA20-POLY1305", TlsCipherSuite.EcdheEcdsaChaCha20Poly1305Sha256)]
    [InlineData("ECDHE-RSA-AES128-GCM-SHA256", TlsCipherSuite.EcdheRsaAes128GcmSha256)]
    [InlineData("ECDHE-RSA-AES256-GCM-SHA384", TlsCipherSuite.EcdheRsaAes256GcmSha384)]
    [InlineData("ECDHE-RSA-CHACHA20-POLY1305", TlsCipherSuite.EcdheRsaChaCha20Poly1305Sha256)]
    public async Task OpenSslClientTls12_EverySuite_GreetingReceived(string opensslName, TlsCipherSuite suite)
    {
        Assert.NotNull(OpenSsl);
        await using var server = new LoopbackServer(Tls12.Tls12HandshakeTests.Config());
        string output = await SClientAsync(server.Port, "-tls1_2", "-cipher", opensslName);
        Assert.Contains("hello from bufferless", output);
        Assert.Contains("Protocol  : TLSv1.2", output);
        Assert.Contains("Extended master secret: yes", output);
        Assert.Equal(suite, Assert.Single(server.Connections).CipherSuite);
    }

    [Theory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task OpenSslClient_SessOutSessIn_ResumedOnSecondInstance(string version)
    {
        Assert.NotNull(OpenSsl);
        string session = Path.GetTempFileName();
        try
        {
            byte[] material = System.Security.Cryptography.RandomNumberGenerator.GetBytes(80);
            using var keysA = TlsTicketKeys.FromBytes(material, DateTimeOffset.UtcNow);
            using var keysB = TlsTicketKeys.FromBytes(material, DateTimeOffset.UtcNow);
            await using var first = new LoopbackServer(new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], TicketKeys = keysA });
            await using var second = new LoopbackServer(new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], TicketKeys = keysB });
            string out1 = await SClientAsync(first.Port, version, "-sess_out", session);
            Assert.Contains("hello from bufferless", out1);
            Assert.Contains("New, TLSv1", out1);
            string out2 = await SClientAsync(second.Port, version, "-sess_in", session);
            Assert.Contains("hello from bufferless", out2);
            Assert.Contains("Reused, TLSv1", out2);
            Assert.True(Assert.Single(second.Connections).IsResumed);
        }
        finally
        {
            File.Delete(session);
        }
    }
}
