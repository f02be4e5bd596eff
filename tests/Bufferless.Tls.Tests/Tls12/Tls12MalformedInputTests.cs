using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Tls12;

/// <summary>Malformed or misplaced TLS 1.2 client messages, each answered with the alert the RFCs name.</summary>
public class Tls12MalformedInputTests
{
    /// <summary>A client that has seen ServerHelloDone and holds its own flight back.</summary>
    private static (Tls12TestClient, ServerDriver) AfterServerHelloDone(Tls12TestClientOptions? options = null, TlsServerConfig? config = null)
    {
        var client = new Tls12TestClient(options) { HoldClientFlight = true };
        var server = new ServerDriver(config ?? Tls12HandshakeTests.Config());
        client.Start();
        client.Feed(server.Feed(client.TakeOutput()));
        Assert.True(client.ServerHelloDoneSeen, client.Error);
        return (client, server);
    }

    private static void AssertAlert(Tls12TestClient client, ServerDriver server, TlsAlertDescription expected)
    {
        client.Feed(server.Feed(client.TakeOutput()));
        Assert.Equal(TlsStatus.Failed, server.Last);
        Assert.Equal(expected, server.Connection.LocalAlert);
        Assert.Equal(expected, client.ReceivedAlert);
        Assert.Equal(TlsStatus.Failed, server.Connection.Process([22, 3, 3, 0, 1, 1], out int consumed));
        Assert.Equal(0, consumed);
        client.Dispose();
        server.Dispose();
    }

    [Fact] public void ClientKeyExchange12_EmptyPoint_DecodeError()
    {
        var (client, server) = AfterServerHelloDone();
        client.SendHandshake([16, 0, 0, 1, 0]);
        AssertAlert(client, server, TlsAlertDescription.DecodeError);
    }

    [Fact] public void ClientKeyExchange12_LengthMismatch_DecodeError()
    {
        var (client, server) = AfterServerHelloDone();
        client.SendHandshake([16, 0, 0, 5, 32, 1, 2, 3, 4]);
        AssertAlert(client, server, TlsAlertDescription.DecodeError);
    }

    [Fact] public void ClientKeyExchange12_TrailingBytes_DecodeError()
    {
        var (client, server) = AfterServerHelloDone(new Tls12TestClientOptions { Groups = [Crypto.KeyExchange.NamedGroup.X25519] });
        client.SendHandshake([16, 0, 0, 35, 32, .. HelloBuilder.X25519Share, 0, 0]);
        AssertAlert(client, server, TlsAlertDescription.DecodeError);
    }

    [Fact] public void ClientKeyExchange12_ZeroX25519Point_IllegalParameter()
    {
        var (client, server) = AfterServerHelloDone(new Tls12TestClientOptions { Groups = [Crypto.KeyExchange.NamedGroup.X25519] });
        client.SendHandshake([16, 0, 0, 33, 32, .. new byte[32]]);
        AssertAlert(client, server, TlsAlertDescription.IllegalParameter);
    }

    [Fact] public void ClientKeyExchange12_OffCurveP256Point_IllegalParameter()
    {
        var (client, server) = AfterServerHelloDone(new Tls12TestClientOptions { Groups = [Crypto.KeyExchange.NamedGroup.Secp256r1] });
        byte[] point = new byte[65];
        point[0] = 4;
        point[64] = 1;
        client.SendHandshake([16, 0, 0, 66, 65, .. point]);
        AssertAlert(client, server, TlsAlertDescription.IllegalParameter);
    }

    [Fact] public void ChangeCipherSpec12_BeforeClientKeyExchange_UnexpectedMessage()
    {
        var (client, server) = AfterServerHelloDone();
        client.WritePlain(TlsContentType.ChangeCipherSpec, [1]);
        AssertAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void ChangeCipherSpec12_InsidePartialHandshakeMessage_UnexpectedMessage()
    {
        var (client, server) = AfterServerHelloDone();
        client.SendClientFlight(changeCipherSpec: false);
        client.WritePlain(TlsContentType.Handshake, [20, 0, 0, 12, 1, 2]); // half a Finished
        client.WritePlain(TlsContentType.ChangeCipherSpec, [1]);
        AssertAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void ChangeCipherSpec12_WrongValue_UnexpectedMessage()
    {
        var (client, server) = AfterServerHelloDone();
        client.SendClientFlight(changeCipherSpec: false);
        client.WritePlain(TlsContentType.ChangeCipherSpec, [2]);
        AssertAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void ChangeCipherSpec12_Twice_UnexpectedMessage()
    {
        var (client, server) = AfterServerHelloDone();
        client.SendClientFlight(changeCipherSpec: true, finished: false);
        client.WritePlain(TlsContentType.ChangeCipherSpec, [1]);
        AssertAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void Finished12_WithoutChangeCipherSpec_UnexpectedMessage()
    {
        var (client, server) = AfterServerHelloDone();
        client.SendClientFlight(changeCipherSpec: false);
        client.WritePlain(TlsContentType.Handshake, [20, 0, 0, 12, .. new byte[12]]);
        AssertAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void Finished12_WrongVerifyData_DecryptError()
    {
        var (client, server) = AfterServerHelloDone();
        client.SendClientFlight(changeCipherSpec: true, finished: false);
        client.WriteEncrypted(TlsContentType.Handshake, [20, 0, 0, 12, .. new byte[12]]);
        AssertAlert(client, server, TlsAlertDescription.DecryptError);
    }

    [Fact] public void Finished12_WrongLength_DecodeError()
    {
        var (client, server) = AfterServerHelloDone();
        client.SendClientFlight(changeCipherSpec: true, finished: false);
        client.WriteEncrypted(TlsContentType.Handshake, [20, 0, 0, 32, .. new byte[32]]);
        AssertAlert(client, server, TlsAlertDescription.DecodeError);
    }

    [Fact] public void Finished12_TamperedRecord_BadRecordMac()
    {
        var (client, server) = AfterServerHelloDone();
        client.SendClientFlight(changeCipherSpec: true, finished: true);
        byte[] bytes = client.TakeOutput();
        bytes[^3] ^= 0x20;
        server.Feed(bytes);
        Assert.Equal(TlsAlertDescription.BadRecordMac, server.Connection.LocalAlert);
        client.Dispose(); server.Dispose();
    }

    [Fact] public void ApplicationData12_BeforeFinished_UnexpectedMessage()
    {
        var (client, server) = AfterServerHelloDone();
        client.SendClientFlight(changeCipherSpec: true, finished: false);
        client.SendApplicationData("early"u8);
        AssertAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void CertificateVerify12_Unrequested_UnexpectedMessage()
    {
        var (client, server) = AfterServerHelloDone();
        client.SendClientFlight(changeCipherSpec: false);
        client.SendHandshake([15, 0, 0, 4, 4, 3, 0, 0]);
        AssertAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void Certificate12_Unrequested_UnexpectedMessage()
    {
        var (client, server) = AfterServerHelloDone();
        client.SendHandshake([11, 0, 0, 3, 0, 0, 0]);
        AssertAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void PlaintextApplicationData12_BeforeKeys_UnexpectedMessage()
    {
        var (client, server) = AfterServerHelloDone();
        client.WritePlain(TlsContentType.ApplicationData, "x"u8);
        AssertAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void KeyUpdate12_AfterHandshake_UnexpectedMessage()
    {
        var (client, server) = Pump12.Handshake(Tls12HandshakeTests.Config());
        Assert.True(client.HandshakeComplete, client.Error);
        client.WriteEncrypted(TlsContentType.Handshake, [24, 0, 0, 1, 0]);
        AssertAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void WarningAlert12_AfterHandshake_Ignored()
    {
        var (client, server) = Pump12.Handshake(Tls12HandshakeTests.Config());
        using var _c = client; using var _s = server;
        client.WriteEncrypted(TlsContentType.Alert, [1, (byte)TlsAlertDescription.NoRenegotiation]);
        client.SendApplicationData("after"u8);
        Pump12.Run(client, server);
        Assert.Equal("after"u8.ToArray(), server.Received);
        Assert.Null(server.Connection.LocalAlert);
    }
}
