using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Handshake;

/// <summary>
/// RFC 8448 §3 reproduced through <see cref="TlsServerConnection"/> with the RFC's server random and X25519 key.
/// RSA-PSS signatures are randomized, so the certificate's signer checks the RFC's CertificateVerify signature
/// against the certificate's public key over the content our transcript produced (which proves the transcript
/// through Certificate is the RFC's) and then returns that signature; everything after it, server Finished,
/// application keys and records, must then match byte for byte.
/// </summary>
public class Rfc8448HandshakeTests
{
    internal static TlsServerConfig Config(List<string>? keyLog = null) => new()
    {
        Certificates = { TlsCertificate.FromSigner([Rfc8448.CertificateDer], TlsCertificateKeyType.Rsa, VerifyAndReturnRfcSignature) },
        Random = r => Rfc8448.ServerRandom.CopyTo(r),
        FixedServerPrivateKey = _ => Rfc8448.ServerPrivateKey,
        AdvertisedGroups = [0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104],
        KeyLog = keyLog is null ? null : (label, random, secret) => keyLog.Add(label + " " + Convert.ToHexStringLower(secret)),
    };

    private static byte[] VerifyAndReturnRfcSignature(TlsSignatureScheme scheme, byte[] content)
    {
        Assert.Equal(TlsSignatureScheme.RsaPssRsaeSha256, scheme);
        using var cert = X509CertificateLoader.LoadCertificate(Rfc8448.CertificateDer);
        using RSA rsa = cert.GetRSAPublicKey()!;
        Assert.True(rsa.VerifyData(content, Rfc8448.Signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
            "the RFC's signature does not cover our CertificateVerify content: transcript differs");
        return Rfc8448.Signature;
    }

    [Fact]
    public void Handshake_Rfc8448Simple1Rtt_ReproducesTraceByteForByte()
    {
        var keyLog = new List<string>();
        using var server = new TlsServerConnection(Config(keyLog));
        Assert.Equal(TlsStatus.WantRead, server.Process(Rfc8448.ClientHelloRecord, out int consumed));
        Assert.Equal(Rfc8448.ClientHelloRecord.Length, consumed);
        byte[] output = Drain(server);
        Assert.Equal(Convert.ToHexString([.. Rfc8448.ServerHelloRecord, .. Rfc8448.ServerFlightRecord]), Convert.ToHexString(output));

        Assert.Equal(TlsStatus.HandshakeComplete, server.Process(Rfc8448.ClientFinishedRecord, out consumed));
        Assert.Equal(Rfc8448.ClientFinishedRecord.Length, consumed);
        Assert.Equal(TlsCipherSuite.Aes128GcmSha256, server.CipherSuite);
        Assert.Equal(Crypto.KeyExchange.NamedGroup.X25519, server.Group);
        Assert.Equal(TlsSignatureScheme.RsaPssRsaeSha256, server.SignatureScheme);
        Assert.Equal("server", server.ServerName);
        Assert.Contains("CLIENT_TRAFFIC_SECRET_0 " + Convert.ToHexStringLower(Rfc8448.ClientApplicationSecret), keyLog);
        Assert.Contains("SERVER_HANDSHAKE_TRAFFIC_SECRET " + Convert.ToHexStringLower(Rfc8448.ServerHandshakeSecret), keyLog);
        Assert.Contains("EXPORTER_SECRET " + Convert.ToHexStringLower(Rfc8448.ExporterSecret), keyLog);

        Assert.Equal(TlsStatus.ApplicationDataAvailable, server.Process(Rfc8448.ClientDataRecord, out consumed));
        byte[] data = new byte[100];
        Assert.Equal(50, server.ReadApplicationData(data));
        Assert.Equal(Rfc8448.AppPayload, data[..50]);

        // The RFC's server sent a NewSessionTicket as record 0; this server sends no tickets, so record 0 is a stand-in.
        server.WriteApplicationData([0xAA]);
        Drain(server);
        server.WriteApplicationData(Rfc8448.AppPayload);
        Assert.Equal(Rfc8448.ServerDataRecord, Drain(server));

        Assert.Equal(TlsStatus.Closed, server.Process(Rfc8448.ClientAlertRecord, out _));
        Assert.Equal(TlsAlertDescription.CloseNotify, server.PeerAlert);
        // The peer's close_notify closes only our read side (RFC 8446 §6.1); our own goes out on Close().
        Assert.Empty(Drain(server));
        server.Close();
        Assert.Equal(Rfc8448.ServerAlertRecord, Drain(server));
    }

    [Fact]
    public void Handshake_Rfc8448OneByteInputAndOutput_SameBytes()
    {
        using var server = new TlsServerConnection(Config());
        var output = new List<byte>();
        Span<byte> one = stackalloc byte[1];
        foreach (byte b in Rfc8448.ClientHelloRecord)
        {
            Assert.Equal(TlsStatus.WantRead, server.Process([b], out int c));
            Assert.Equal(1, c);
            while (server.DrainOutput(one) == 1) output.Add(one[0]);
        }
        Assert.Equal([.. Rfc8448.ServerHelloRecord, .. Rfc8448.ServerFlightRecord], output);
        for (int i = 0; i < Rfc8448.ClientFinishedRecord.Length; i++)
        {
            var status = server.Process(Rfc8448.ClientFinishedRecord.AsSpan(i, 1), out int c);
            Assert.Equal(1, c);
            Assert.Equal(i == Rfc8448.ClientFinishedRecord.Length - 1 ? TlsStatus.HandshakeComplete : TlsStatus.WantRead, status);
        }
        var received = new List<byte>();
        for (int i = 0; i < Rfc8448.ClientDataRecord.Length; i++)
        {
            var status = server.Process(Rfc8448.ClientDataRecord.AsSpan(i, 1), out _);
            if (status == TlsStatus.ApplicationDataAvailable)
                while (server.ReadApplicationData(one) == 1) received.Add(one[0]);
        }
        Assert.Equal(Rfc8448.AppPayload, received);
    }

    [Fact]
    public void TakeRecordProtection_AfterRfc8448Handshake_ReturnsRfcApplicationKeys()
    {
        using var server = new TlsServerConnection(Config());
        server.Process(Rfc8448.ClientHelloRecord, out _);
        Drain(server);
        byte[] finishedAndData = [.. Rfc8448.ClientFinishedRecord, .. Rfc8448.ClientDataRecord];
        Assert.Equal(TlsStatus.HandshakeComplete, server.Process(finishedAndData, out int consumed));
        Assert.Equal(Rfc8448.ClientFinishedRecord.Length, consumed); // the data record stays with the caller
        using TlsTrafficKeys keys = server.TakeRecordProtection();
        Assert.Equal(TlsCipherSuite.Aes128GcmSha256, keys.CipherSuite);
        Assert.Equal(Rfc8448.ClientApplicationKey, keys.ReadKey);
        Assert.Equal(Rfc8448.ClientApplicationIv, keys.ReadIv);
        Assert.Equal(Rfc8448.ServerApplicationKey, keys.WriteKey);
        Assert.Equal(Rfc8448.ServerApplicationIv, keys.WriteIv);
        Assert.Equal(Rfc8448.ClientApplicationSecret, keys.ReadTrafficSecret);
        Assert.Equal(0UL, keys.NextReadSequence);
        Assert.Equal(0UL, keys.NextWriteSequence);
        Assert.Throws<InvalidOperationException>(() => server.Process(Rfc8448.ClientDataRecord, out _));
    }

    internal static byte[] Drain(TlsServerConnection server)
    {
        var all = new List<byte>();
        byte[] buffer = new byte[4096];
        int n;
        while ((n = server.DrainOutput(buffer)) > 0) all.AddRange(buffer.AsSpan(0, n));
        return [.. all];
    }
}
