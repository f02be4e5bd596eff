using Bufferless.Tls.KeySchedule;
using Bufferless.Tls.Records;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Records;

public class RecordProtectionTests
{
    private static readonly CipherSuiteInfo Suite = CipherSuiteInfo.Get(TlsCipherSuite.Aes128GcmSha256);

    private static RecordProtection Protection(byte[] secret) => RecordProtection.Create(new TrafficSecret(Suite, (byte[])secret.Clone()));

    [Fact]
    public void SealInPlace_Rfc8448ServerFlight_MatchesRecordBytes()
    {
        using var p = Protection(Rfc8448.ServerHandshakeSecret);
        byte[] record = new byte[Rfc8448.ServerFlight.Length + TlsRecordLimits.ProtectedOverhead];
        Rfc8448.ServerFlight.CopyTo(record, 5);
        int n = p.SealInPlace(TlsContentType.Handshake, record, Rfc8448.ServerFlight.Length);
        Assert.Equal(Rfc8448.ServerFlightRecord, record[..n]);
        Assert.Equal(1UL, p.Sequence);
    }

    [Fact]
    public void TryOpen_Rfc8448ClientRecords_YieldFinishedDataAndAlert()
    {
        using var hs = Protection(Rfc8448.ClientHandshakeSecret);
        byte[] rec = (byte[])Rfc8448.ClientFinishedRecord.Clone();
        Assert.True(hs.TryOpen(rec.AsSpan(0, 5), rec.AsSpan(5), out var type, out int len));
        Assert.Equal(TlsContentType.Handshake, type);
        Assert.Equal(Rfc8448.ClientVerifyData, rec.AsSpan(5 + 4, len - 4).ToArray());

        using var ap = Protection(Rfc8448.ClientApplicationSecret);
        rec = (byte[])Rfc8448.ClientDataRecord.Clone();
        Assert.True(ap.TryOpen(rec.AsSpan(0, 5), rec.AsSpan(5), out type, out len));
        Assert.Equal(TlsContentType.ApplicationData, type);
        Assert.Equal(Rfc8448.AppPayload, rec.AsSpan(5, len).ToArray());
        rec = (byte[])Rfc8448.ClientAlertRecord.Clone();
        Assert.True(ap.TryOpen(rec.AsSpan(0, 5), rec.AsSpan(5), out type, out len));
        Assert.Equal(TlsContentType.Alert, type);
        Assert.Equal(new byte[] { 1, 0 }, rec.AsSpan(5, len).ToArray());
    }

    [Fact]
    public void TryOpen_FlippedBit_FailsWithoutAdvancing()
    {
        using var hs = Protection(Rfc8448.ClientHandshakeSecret);
        byte[] rec = (byte[])Rfc8448.ClientFinishedRecord.Clone();
        rec[10] ^= 1;
        Assert.False(hs.TryOpen(rec.AsSpan(0, 5), rec.AsSpan(5), out _, out _));
        Assert.Equal(0UL, hs.Sequence);
    }

    [Fact]
    public void TryOpen_AllZeroPlaintext_ReportsInvalidType()
    {
        using var sealer = Protection(Rfc8448.ClientApplicationSecret);
        using var opener = Protection(Rfc8448.ClientApplicationSecret);
        byte[] record = new byte[4 + TlsRecordLimits.ProtectedOverhead];
        int n = sealer.SealInPlace(TlsContentType.Invalid, record, 4); // content 0,0,0,0 and type 0
        Assert.True(opener.TryOpen(record.AsSpan(0, 5), record.AsSpan(5, n - 5), out var type, out _));
        Assert.Equal(TlsContentType.Invalid, type);
    }

    [Fact]
    public void RecordHeader_TryCreate_Truncated_ReturnsFalse()
    {
        Assert.False(TlsRecordHeader.TryCreate(new byte[] { 22, 3, 3, 0 }, out _));
        Assert.True(TlsRecordHeader.TryCreate(Rfc8448.ServerHelloRecord, out var h));
        Assert.Equal(TlsContentType.Handshake, h.ContentType);
        Assert.Equal(0x0303, h.LegacyVersion);
        Assert.Equal(0x5a, h.Length);
    }
}
