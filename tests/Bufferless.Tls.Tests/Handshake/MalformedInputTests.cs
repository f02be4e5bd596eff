using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Handshake;

/// <summary>Every malformed or out-of-order input ends the connection with the alert the RFC names, never an exception.</summary>
public class MalformedInputTests
{
    private static TlsServerConfig Config() => HandshakeTests.Config(TlsCertificateKeyType.EcdsaP256);

    /// <summary>Feeds bytes before any keys exist; asserts Failed, the alert, and that the alert is drained as a plaintext record.</summary>
    private static void AssertPlaintextAlert(byte[] input, TlsAlertDescription expected)
    {
        using var server = new TlsServerConnection(Config());
        TlsStatus status = server.Process(input, out _);
        Assert.Equal(TlsStatus.Failed, status);
        Assert.Equal(expected, server.LocalAlert);
        byte[] output = Rfc8448HandshakeTests.Drain(server);
        Assert.Equal(new byte[] { 21, 3, 3, 0, 2, 2, (byte)expected }, output[^7..]);
        // Sticky: further input changes nothing and queues nothing.
        Assert.Equal(TlsStatus.Failed, server.Process([22, 3, 3, 0, 1, 1], out int consumed));
        Assert.Equal(0, consumed);
        Assert.Equal(0, server.PendingOutput);
    }

    [Fact] public void ClientHello_Valid_BuilderBaselineCompletes()
    {
        using var server = new TlsServerConnection(Config());
        Assert.Equal(TlsStatus.WantRead, server.Process(new HelloBuilder().Record(), out _));
        Assert.Null(server.LocalAlert);
        Assert.True(server.PendingOutput > 0);
    }

    [Fact] public void ClientHello_Truncated_DecodeError()
    {
        byte[] message = new HelloBuilder().Message();
        for (int cut = 5; cut < message.Length; cut += 13)
        {
            byte[] truncated = message[..cut];
            int bodyLength = cut - 4;
            truncated[1] = (byte)(bodyLength >> 16); truncated[2] = (byte)(bodyLength >> 8); truncated[3] = (byte)bodyLength;
            AssertPlaintextAlert(HelloBuilder.Records(truncated), TlsAlertDescription.DecodeError);
        }
    }

    [Fact] public void ClientHello_TrailingGarbage_DecodeError()
    {
        byte[] message = [.. new HelloBuilder().Message(), 0xFF];
        int len = message.Length - 4;
        message[1] = (byte)(len >> 16); message[2] = (byte)(len >> 8); message[3] = (byte)len;
        AssertPlaintextAlert(HelloBuilder.Records(message), TlsAlertDescription.DecodeError);
    }

    [Fact] public void ClientHello_OversizedMessage_DecodeError() =>
        AssertPlaintextAlert([22, 3, 1, 0, 4, 1, 0x01, 0x00, 0x01], TlsAlertDescription.DecodeError);

    [Fact] public void ClientHello_DuplicateExtension_IllegalParameter()
    {
        var b = new HelloBuilder();
        b.Extensions.Add((10, [0, 2, 0x00, 0x1d]));
        AssertPlaintextAlert(b.Record(), TlsAlertDescription.IllegalParameter);
    }

    [Theory]
    [InlineData(new byte[] { 2, 0x7f, 0x1c })]
    [InlineData(new byte[] { 4, 0x03, 0x02, 0x03, 0x01 })]
    public void ClientHello_UnknownOrOldVersions_ProtocolVersion(byte[] versions) =>
        AssertPlaintextAlert(new HelloBuilder().Set(43, versions).Record(), TlsAlertDescription.ProtocolVersion);

    [Fact] public void ClientHello_NoSupportedVersionsLegacyTls11_ProtocolVersion() =>
        AssertPlaintextAlert(new HelloBuilder { LegacyVersion = 0x0302 }.Remove(43).Record(), TlsAlertDescription.ProtocolVersion);

    [Fact] public void ClientHello_Tls12OnlyWithoutExtendedMasterSecret_HandshakeFailure() =>
        AssertPlaintextAlert(new HelloBuilder().Set(43, [2, 0x03, 0x03]).Record(), TlsAlertDescription.HandshakeFailure);

    [Fact] public void ClientHello_NoSupportedVersionsTls13SuitesOnly_HandshakeFailure() =>
        AssertPlaintextAlert(new HelloBuilder().Remove(43).Set(23, []).Record(), TlsAlertDescription.HandshakeFailure);

    [Fact] public void ClientHello_NonNullCompression_IllegalParameter() =>
        AssertPlaintextAlert(new HelloBuilder { Compression = [1, 0] }.Record(), TlsAlertDescription.IllegalParameter);

    [Fact] public void ClientHello_NoCommonSuite_HandshakeFailure() =>
        AssertPlaintextAlert(new HelloBuilder { Suites = [0xc02f, 0x009c] }.Record(), TlsAlertDescription.HandshakeFailure);

    [Fact] public void ClientHello_OnlyPkcs1Signatures_HandshakeFailure() =>
        AssertPlaintextAlert(new HelloBuilder().Set(13, [0, 4, 0x04, 0x01, 0x02, 0x01]).Record(), TlsAlertDescription.HandshakeFailure);

    [Fact] public void ClientHello_MalformedSignatureList_DecodeError() =>
        AssertPlaintextAlert(new HelloBuilder().Set(13, [0, 3, 0x04, 0x03, 0x08]).Record(), TlsAlertDescription.DecodeError);

    [Fact] public void ClientHello_NoSignatureAlgorithms_MissingExtension() =>
        AssertPlaintextAlert(new HelloBuilder().Remove(13).Record(), TlsAlertDescription.MissingExtension);

    [Fact] public void ClientHello_NoKeyShare_MissingExtension() =>
        AssertPlaintextAlert(new HelloBuilder().Remove(51).Record(), TlsAlertDescription.MissingExtension);

    [Fact] public void ClientHello_ShareForUnlistedGroup_IllegalParameter() =>
        AssertPlaintextAlert(new HelloBuilder().Set(10, [0, 2, 0x00, 0x17]).Record(), TlsAlertDescription.IllegalParameter);

    [Fact] public void ClientHello_ZeroX25519Share_IllegalParameter() =>
        AssertPlaintextAlert(new HelloBuilder().Set(51, [0, 36, 0x00, 0x1d, 0, 32, .. new byte[32]]).Record(), TlsAlertDescription.IllegalParameter);

    [Fact] public void ClientHello_WrongLengthP256Share_IllegalParameter() =>
        AssertPlaintextAlert(new HelloBuilder().Set(10, [0, 2, 0x00, 0x17]).Set(51, [0, 8, 0x00, 0x17, 0, 4, 4, 1, 2, 3]).Record(), TlsAlertDescription.IllegalParameter);

    [Fact] public void ClientHello_DuplicateKeyShareGroup_IllegalParameter() =>
        AssertPlaintextAlert(new HelloBuilder().Set(51, [0, 72, 0x00, 0x1d, 0, 32, .. HelloBuilder.X25519Share, 0x00, 0x1d, 0, 32, .. HelloBuilder.X25519Share]).Record(), TlsAlertDescription.IllegalParameter);

    [Fact] public void ClientHello_PskWithoutModes_MissingExtension() =>
        AssertPlaintextAlert(new HelloBuilder().Set(41, [0, 7, 0, 1, 0xAA, 0, 0, 0, 0, 0, 33, 32, .. new byte[32]]).Record(), TlsAlertDescription.MissingExtension);

    [Fact] public void ClientHello_PskNotLast_IllegalParameter()
    {
        var b = new HelloBuilder().Set(41, [0, 7, 0, 1, 0xAA, 0, 0, 0, 0, 0, 33, 32, .. new byte[32]]);
        b.Extensions.Add((45, [1, 1]));
        AssertPlaintextAlert(b.Record(), TlsAlertDescription.IllegalParameter);
    }

    [Fact] public void ClientHello_RecordSizeLimitBelow64_IllegalParameter() =>
        AssertPlaintextAlert(new HelloBuilder().Set(28, [0, 63]).Record(), TlsAlertDescription.IllegalParameter);

    [Fact] public void ClientHello_FollowedByDataInSameRecord_UnexpectedMessage()
    {
        byte[] message = [.. new HelloBuilder().Message(), 20, 0, 0, 0];
        AssertPlaintextAlert(HelloBuilder.Records(message), TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void Record_UnknownContentType_UnexpectedMessage() =>
        AssertPlaintextAlert([99, 3, 3, 0, 1, 0], TlsAlertDescription.UnexpectedMessage);

    [Fact] public void Record_PlaintextOver2To14_RecordOverflow() =>
        AssertPlaintextAlert([22, 3, 1, 0x40, 0x01], TlsAlertDescription.RecordOverflow);

    [Fact] public void Record_CiphertextOver2To14Plus256_RecordOverflow() =>
        AssertPlaintextAlert([23, 3, 3, 0x41, 0x01], TlsAlertDescription.RecordOverflow);

    [Fact] public void Record_ApplicationDataBeforeHello_UnexpectedMessage() =>
        AssertPlaintextAlert([23, 3, 3, 0, 20, .. new byte[20]], TlsAlertDescription.UnexpectedMessage);

    [Fact] public void Record_ChangeCipherSpecBeforeHello_UnexpectedMessage() =>
        AssertPlaintextAlert([20, 3, 3, 0, 1, 1], TlsAlertDescription.UnexpectedMessage);

    [Fact] public void Record_EmptyHandshake_UnexpectedMessage() =>
        AssertPlaintextAlert([22, 3, 1, 0, 0], TlsAlertDescription.UnexpectedMessage);

    [Fact] public void Record_FinishedBeforeHello_UnexpectedMessage() =>
        AssertPlaintextAlert([22, 3, 1, 0, 8, 20, 0, 0, 4, 1, 2, 3, 4], TlsAlertDescription.UnexpectedMessage);

    [Fact] public void Record_AlertOfThreeBytes_DecodeError() =>
        AssertPlaintextAlert([21, 3, 3, 0, 3, 2, 40, 0], TlsAlertDescription.DecodeError);

    [Fact] public void ChangeCipherSpec_WrongValue_UnexpectedMessage()
    {
        var (client, server) = AfterServerFlight();
        client.WritePlain(TlsContentType.ChangeCipherSpec, [2]);
        AssertEncryptedAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void ChangeCipherSpec_DuringHandshake_Ignored()
    {
        var (client, server) = AfterServerFlight();
        client.WritePlain(TlsContentType.ChangeCipherSpec, [1]);
        client.Feed(server.Feed(client.TakeOutput()));
        Assert.Equal(TlsStatus.WantRead, server.Last);
        Assert.Null(server.Connection.LocalAlert);
        client.Dispose(); server.Dispose();
    }

    [Fact] public void PeerFatalAlert_FailedWithoutAnswer()
    {
        using var server = new TlsServerConnection(Config());
        Assert.Equal(TlsStatus.Failed, server.Process([21, 3, 3, 0, 2, 2, 40], out _));
        Assert.Equal(TlsAlertDescription.HandshakeFailure, server.PeerAlert);
        Assert.Null(server.LocalAlert);
        Assert.Equal(0, server.PendingOutput);
    }

    // ---- after the ServerHello: the client is encrypting ----

    private static (TlsTestClient, ServerDriver) AfterServerFlight()
    {
        var client = new TlsTestClient(new TlsTestClientOptions { CompatibilitySessionId = false }) { HoldFinished = true };
        var server = new ServerDriver(Config());
        client.Start();
        client.Feed(server.Feed(client.TakeOutput()));
        Assert.Null(client.Error);
        Assert.Empty(client.TakeOutput()); // the client's Finished is held back
        return (client, server);
    }

    private static void AssertEncryptedAlert(TlsTestClient client, ServerDriver server, TlsAlertDescription expected)
    {
        client.Feed(server.Feed(client.TakeOutput()));
        Assert.Equal(TlsStatus.Failed, server.Last);
        Assert.Equal(expected, server.Connection.LocalAlert);
        Assert.Equal(expected, client.ReceivedAlert); // the alert was protected and still drained
        client.Dispose();
        server.Dispose();
    }

    [Fact] public void Finished_WrongVerifyData_DecryptError()
    {
        var (client, server) = AfterServerFlight();
        client.WriteEncrypted(TlsContentType.Handshake, [20, 0, 0, 32, .. new byte[32]]);
        AssertEncryptedAlert(client, server, TlsAlertDescription.DecryptError);
    }

    [Fact] public void Finished_WrongLength_DecodeError()
    {
        var (client, server) = AfterServerFlight();
        client.WriteEncrypted(TlsContentType.Handshake, [20, 0, 0, 12, .. new byte[12]]);
        AssertEncryptedAlert(client, server, TlsAlertDescription.DecodeError);
    }

    [Fact] public void KeyUpdateBeforeFinished_UnexpectedMessage()
    {
        var (client, server) = AfterServerFlight();
        client.WriteEncrypted(TlsContentType.Handshake, [24, 0, 0, 1, 0]);
        AssertEncryptedAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void ApplicationDataBeforeFinished_UnexpectedMessage()
    {
        var (client, server) = AfterServerFlight();
        client.WriteEncrypted(TlsContentType.ApplicationData, "early"u8);
        AssertEncryptedAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void PlaintextHandshakeUnderProtection_UnexpectedMessage()
    {
        var (client, server) = AfterServerFlight();
        client.WritePlain(TlsContentType.Handshake, [20, 0, 0, 32, .. new byte[32]]);
        AssertEncryptedAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void TamperedRecord_BadRecordMac()
    {
        var (client, server) = AfterServerFlight();
        client.WriteEncrypted(TlsContentType.Handshake, [20, 0, 0, 32, .. new byte[32]]);
        byte[] bytes = client.TakeOutput();
        bytes[^3] ^= 0x40;
        client.Feed(server.Feed(bytes));
        Assert.Equal(TlsAlertDescription.BadRecordMac, server.Connection.LocalAlert);
        Assert.Equal(TlsAlertDescription.BadRecordMac, client.ReceivedAlert);
    }

    [Fact] public void InnerPlaintextOver2To14_RecordOverflow()
    {
        var (client, server) = AfterServerFlight();
        client.WriteEncrypted(TlsContentType.Handshake, new byte[16385]);
        AssertEncryptedAlert(client, server, TlsAlertDescription.RecordOverflow);
    }

    [Fact] public void ProtectedChangeCipherSpec_UnexpectedMessage()
    {
        var (client, server) = AfterServerFlight();
        client.WriteEncrypted(TlsContentType.ChangeCipherSpec, [1]);
        AssertEncryptedAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void AllZeroInnerPlaintext_UnexpectedMessage()
    {
        var (client, server) = AfterServerFlight();
        client.WriteEncrypted(TlsContentType.Invalid, new byte[8]);
        AssertEncryptedAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    // ---- after the handshake ----

    private static (TlsTestClient, ServerDriver) Connected()
    {
        var (client, server) = Pump.Handshake(Config());
        Assert.True(client.HandshakeComplete, client.Error);
        return (client, server);
    }

    [Fact] public void KeyUpdate_InvalidRequestValue_IllegalParameter()
    {
        var (client, server) = Connected();
        client.WriteEncrypted(TlsContentType.Handshake, [24, 0, 0, 1, 2]);
        AssertEncryptedAlert(client, server, TlsAlertDescription.IllegalParameter);
    }

    [Fact] public void KeyUpdate_NotAtRecordEnd_UnexpectedMessage()
    {
        var (client, server) = Connected();
        client.WriteEncrypted(TlsContentType.Handshake, [24, 0, 0, 1, 0, 24, 0]);
        AssertEncryptedAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void ClientHelloAfterHandshake_UnexpectedMessage()
    {
        var (client, server) = Connected();
        client.WriteEncrypted(TlsContentType.Handshake, new HelloBuilder().Message());
        AssertEncryptedAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void ChangeCipherSpecAfterFinished_UnexpectedMessage()
    {
        var (client, server) = Connected();
        client.WritePlain(TlsContentType.ChangeCipherSpec, [1]);
        AssertEncryptedAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact] public void PlaintextAlertAfterHandshake_UnexpectedMessage()
    {
        var (client, server) = Connected();
        client.WritePlain(TlsContentType.Alert, [1, 0]);
        AssertEncryptedAlert(client, server, TlsAlertDescription.UnexpectedMessage);
    }

    // ---- HelloRetryRequest follow-up ----

    [Fact] public void SecondClientHello_WrongGroup_IllegalParameter()
    {
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], Groups = [Crypto.KeyExchange.NamedGroup.Secp256r1] };
        using var server = new TlsServerConnection(config);
        var b = new HelloBuilder().Set(10, [0, 4, 0x00, 0x1d, 0x00, 0x17]);
        Assert.Equal(TlsStatus.WantRead, server.Process(b.Record(), out _));
        Assert.True(server.UsedHelloRetryRequest);
        Assert.Equal(TlsStatus.Failed, server.Process(b.Record(), out _)); // still only the X25519 share
        Assert.Equal(TlsAlertDescription.IllegalParameter, server.LocalAlert);
    }

    [Fact] public void SecondClientHello_EarlyData_IllegalParameter()
    {
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], Groups = [Crypto.KeyExchange.NamedGroup.Secp256r1] };
        using var server = new TlsServerConnection(config);
        var b = new HelloBuilder().Set(10, [0, 4, 0x00, 0x1d, 0x00, 0x17]);
        server.Process(b.Record(), out _);
        b.Set(42, []);
        Assert.Equal(TlsStatus.Failed, server.Process(b.Record(), out _));
        Assert.Equal(TlsAlertDescription.IllegalParameter, server.LocalAlert);
    }

    [Fact] public void HelloRetry_NoCommonGroup_HandshakeFailure() =>
        AssertPlaintextAlert(new HelloBuilder().Set(10, [0, 4, 0x00, 0x1d, 0x01, 0x00]).Set(51, [0, 0]).Set(10, [0, 2, 0x01, 0x00]).Record(), TlsAlertDescription.HandshakeFailure);

    // ---- pre_shared_key and TLS 1.2 extensions ----

    [Fact] public void ClientHello_PskBindersCountMismatch_IllegalParameter() =>
        AssertPlaintextAlert(new HelloBuilder().Set(45, [1, 1]).Set(41, [0, 14, 0, 1, 0xAA, 0, 0, 0, 0, 0, 1, 0xBB, 0, 0, 0, 0, 0, 33, 32, .. new byte[32]]).Record(), TlsAlertDescription.IllegalParameter);

    [Fact] public void ClientHello_PskEmptyIdentity_DecodeError() =>
        AssertPlaintextAlert(new HelloBuilder().Set(45, [1, 1]).Set(41, [0, 6, 0, 0, 0, 0, 0, 0, 0, 33, 32, .. new byte[32]]).Record(), TlsAlertDescription.DecodeError);

    [Fact] public void ClientHello_PskShortBinder_DecodeError() =>
        AssertPlaintextAlert(new HelloBuilder().Set(45, [1, 1]).Set(41, [0, 7, 0, 1, 0xAA, 0, 0, 0, 0, 0, 17, 16, .. new byte[16]]).Record(), TlsAlertDescription.DecodeError);

    [Fact] public void ClientHello_PskTrailingBytes_DecodeError() =>
        AssertPlaintextAlert(new HelloBuilder().Set(45, [1, 1]).Set(41, [0, 7, 0, 1, 0xAA, 0, 0, 0, 0, 0, 33, 32, .. new byte[32], 0]).Record(), TlsAlertDescription.DecodeError);

    [Fact] public void ClientHello_PskUnknownTicket_FullHandshake()
    {
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], TicketKeys = TlsTicketKeys.CreateRandom(DateTimeOffset.UtcNow) };
        using var server = new TlsServerConnection(config);
        Assert.Equal(TlsStatus.WantRead, server.Process(new HelloBuilder().Set(45, [1, 1]).Set(41, [0, 7, 0, 1, 0xAA, 0, 0, 0, 0, 0, 33, 32, .. new byte[32]]).Record(), out _));
        Assert.False(server.IsResumed);
        Assert.Null(server.LocalAlert);
    }

    private static HelloBuilder Tls12Hello() => new HelloBuilder { Suites = [0xC02B] }.Set(43, [2, 0x03, 0x03]).Set(23, []);

    [Fact] public void ClientHello12_Baseline_ServerFlight()
    {
        using var server = new TlsServerConnection(Config());
        Assert.Equal(TlsStatus.WantRead, server.Process(Tls12Hello().Record(), out _));
        Assert.Equal(TlsVersion.Tls12, server.NegotiatedVersion);
        Assert.True(server.PendingOutput > 0);
    }

    [Fact] public void ClientHello12_ExtendedMasterSecretWithData_DecodeError() =>
        AssertPlaintextAlert(Tls12Hello().Set(23, [0]).Record(), TlsAlertDescription.DecodeError);

    [Fact] public void ClientHello12_RenegotiationInfoMalformed_DecodeError() =>
        AssertPlaintextAlert(Tls12Hello().Set(0xff01, [3, 1]).Record(), TlsAlertDescription.DecodeError);

    [Fact] public void ClientHello12_PointFormatsWithoutUncompressed_IllegalParameter() =>
        AssertPlaintextAlert(Tls12Hello().Set(11, [1, 1]).Record(), TlsAlertDescription.IllegalParameter);

    [Fact] public void ClientHello12_PointFormatsEmpty_DecodeError() =>
        AssertPlaintextAlert(Tls12Hello().Set(11, [0]).Record(), TlsAlertDescription.DecodeError);

    [Fact] public void ClientHello12_GarbageSessionTicket_FullHandshake()
    {
        var config = new TlsServerConfig { Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256)], TicketKeys = TlsTicketKeys.CreateRandom(DateTimeOffset.UtcNow) };
        using var server = new TlsServerConnection(config);
        Assert.Equal(TlsStatus.WantRead, server.Process(Tls12Hello().Set(35, new byte[200]).Record(), out _));
        Assert.False(server.IsResumed);
        Assert.Null(server.LocalAlert);
    }
}
