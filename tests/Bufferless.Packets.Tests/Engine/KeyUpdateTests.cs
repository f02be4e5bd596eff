using Bufferless.Packets.Engine;
using Bufferless.Packets.Tests.Simulation;
using Bufferless.Tls;
using Bufferless.Tls.KeySchedule;

namespace Bufferless.Packets.Tests.Engine;

public class KeyUpdateTests
{
    [Theory]
    [InlineData(TlsCipherSuite.Aes128GcmSha256)]
    [InlineData(TlsCipherSuite.Aes256GcmSha384)]
    [InlineData(TlsCipherSuite.ChaCha20Poly1305Sha256)]
    public void TrafficKeyUpdate_MatchesTheTlsKeySchedule(TlsCipherSuite suite)
    {
        // The engine's own HKDF-Expand-Label (RFC 8446 §7.1-§7.3) against the TLS core's key schedule.
        CipherSuiteInfo info = CipherSuiteInfo.Get(suite);
        byte[] secret = new byte[info.HashLength];
        new Random((int)suite).NextBytes(secret);
        using var expected = new TrafficSecret(info, (byte[])secret.Clone());
        using TrafficSecret next = expected.Next();
        byte[] ours = new byte[info.HashLength];
        TrafficKeyUpdate.NextSecret(secret, ours);
        Assert.Equal(next.ToArray(), ours);
        byte[] key = new byte[info.KeyLength], iv = new byte[12], theirKey = new byte[info.KeyLength], theirIv = new byte[12];
        TrafficKeyUpdate.DeriveKeyAndIv(ours, key, iv);
        next.DeriveKeyAndIv(theirKey, theirIv);
        Assert.Equal(theirKey, key);
        Assert.Equal(theirIv, iv);
    }

    [Theory]
    [InlineData(CutThroughMode.Verified)]
    [InlineData(CutThroughMode.Bufferless)]
    public void ClientKeyUpdate_ThenData_ServerGetsOnlyTheData(CutThroughMode mode)
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(mode));
        harness.Establish();
        harness.Tls.SendApplicationData("before"u8);
        harness.Tls.SendKeyUpdate(request: false);
        harness.Tls.SendApplicationData("after the update"u8);
        harness.ClientWrite(harness.Tls.TakeOutput());
        Assert.Equal("beforeafter the update"u8.ToArray(), harness.TakeServerBytes());
        Assert.Equal(1, harness.Engine.Counters.KeyUpdatesReceived);
        Assert.Equal(0, harness.Engine.Counters.KeyUpdatesSent);
    }

    [Fact]
    public void ClientKeyUpdate_Requested_EngineUpdatesBeforeItsNextRecord()
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(CutThroughMode.Verified));
        harness.Establish();
        harness.Tls.SendKeyUpdate(request: true);
        harness.ClientWrite(harness.Tls.TakeOutput());
        Assert.Equal(1, harness.Engine.Counters.KeyUpdatesSent);
        harness.Feed(harness.BuildServerBatch(4, size: 100));
        harness.DeliverToClient();
        Assert.Null(harness.Tls.Error);
        Assert.Equal(1, harness.Tls.KeyUpdatesReceived);
        Assert.Equal(400, harness.Tls.ApplicationData.Count);
    }

    [Theory]
    [InlineData(new byte[] { 24, 0, 0, 1, 2 }, TlsAlertDescription.IllegalParameter)]
    [InlineData(new byte[] { 24, 0, 0, 2, 0, 0 }, TlsAlertDescription.DecodeError)]
    [InlineData(new byte[] { 24, 0, 0, 1, 0, 23 }, TlsAlertDescription.DecodeError)]
    [InlineData(new byte[] { 4, 0, 0, 1, 0 }, TlsAlertDescription.UnexpectedMessage)]
    public void ClientHandshakeRecord_NotAWholeKeyUpdate_FlowEndsWithAlert(byte[] message, TlsAlertDescription alert)
    {
        // RFC 8446 §4.6.3 (request_update 0 or 1: illegal_parameter), §5.1 (KeyUpdate alone at its record's end),
        // and no other post-handshake message is accepted.
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(CutThroughMode.Bufferless));
        harness.Establish();
        harness.Tls.WriteEncrypted(TlsContentType.Handshake, message);
        harness.ClientWrite(harness.Tls.TakeOutput());
        harness.DeliverToClient();
        Assert.Equal(alert, harness.Tls.ReceivedAlert);
        Assert.Equal(1, harness.Engine.Counters.ProtocolErrors);
        Assert.Empty(harness.TakeServerBytes());
    }
}
