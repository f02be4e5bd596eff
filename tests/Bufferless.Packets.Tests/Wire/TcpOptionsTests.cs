using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Wire;

public class TcpOptionsTests
{
    [Theory]
    [InlineData(new byte[] { 2, 4, 5 }, "MSS runs past the end")]
    [InlineData(new byte[] { 2, 3, 5, 0 }, "MSS with length 3")]
    [InlineData(new byte[] { 3, 4, 7, 0 }, "window scale with length 4")]
    [InlineData(new byte[] { 4, 3, 0, 0 }, "SACK-permitted with length 3")]
    [InlineData(new byte[] { 8, 9, 0, 0, 0, 0, 0, 0, 0, 0 }, "timestamps with length 9")]
    [InlineData(new byte[] { 5, 6, 0, 0, 0, 0 }, "SACK with half a block")]
    [InlineData(new byte[] { 99, 0 }, "unknown kind with length 0")]
    [InlineData(new byte[] { 99, 1, 1, 1 }, "unknown kind with length 1")]
    [InlineData(new byte[] { 1, 1, 1, 99 }, "kind without a length byte")]
    public void Summarize_MalformedOption_ReportedNotThrown(byte[] options, string why)
    {
        Assert.True(TcpOptions.Summarize(options).Malformed, why);
        Assert.Equal(-1, TcpOptions.Find(options, TcpOptionKind.Mss));
    }

    [Fact]
    public void Summarize_UnknownKind_SkippedByLength()
    {
        byte[] options = [30, 6, 0xAA, 0xBB, 0xCC, 0xDD, 2, 4, 0x05, 0xb4];
        var s = TcpOptions.Summarize(options);
        Assert.False(s.Malformed);
        Assert.True(s.HasMss);
        Assert.Equal(1460, s.Mss);
        Assert.Equal(6, TcpOptions.Find(options, TcpOptionKind.Mss));
    }

    [Fact]
    public void Summarize_AfterEndOfList_Ignored()
    {
        byte[] options = [1, 0, 2, 4, 0x05, 0xb4, 0, 0];
        var s = TcpOptions.Summarize(options);
        Assert.False(s.HasMss);
        Assert.False(s.Malformed);
    }

    [Fact]
    public void Reader_GoodOptionsThenMalformed_YieldsGoodOnesFirst()
    {
        byte[] options = [4, 2, 3, 3, 7, 2, 9];
        var r = new TcpOptionReader(options);
        Assert.True(r.MoveNext());
        Assert.Equal(TcpOptionKind.SackPermitted, r.Kind);
        Assert.True(r.MoveNext());
        Assert.Equal(TcpOptionKind.WindowScale, r.Kind);
        Assert.Equal(7, r.Data[0]);
        Assert.Equal(2, r.Offset);
        Assert.False(r.MoveNext());
        Assert.True(r.IsMalformed);
    }

    [Fact]
    public void Writer_AllKinds_RoundTripThroughSummary()
    {
        var buf = new byte[40];
        var w = new TcpOptionWriter(buf);
        Assert.True(w.WriteMss(1200));
        Assert.True(w.WriteWindowScale(20)); // capped at 14 (RFC 7323 §2.3)
        Assert.True(w.WriteSackPermitted());
        Assert.True(w.WriteTimestamps(7, 8));
        Assert.True(w.WriteNop());
        Assert.True(w.PadToWord());
        Assert.Equal(0, w.Written % 4);
        var s = TcpOptions.Summarize(w.WrittenSpan);
        Assert.Equal(new TcpOptionSummary(true, 1200, true, 14, true, 0, true, 7, 8, false), s);
    }

    [Fact]
    public void Writer_Overflow_ReturnsFalseAndWritesNothing()
    {
        var w = new TcpOptionWriter(new byte[12]);
        Assert.True(w.WriteTimestamps(1, 2));
        Assert.False(w.WriteMss(1));
        Assert.Equal(10, w.Written);
        Assert.True(w.WriteSackPermitted());
        Assert.False(w.WriteNop());
        var big = new TcpOptionWriter(new byte[64]); // 40 bytes is the header's limit whatever the buffer
        Assert.True(big.WriteSack(new SeqNumber[8])); // 34 bytes
        Assert.False(big.WriteTimestamps(1, 2));
        Assert.False(new TcpOptionWriter(new byte[40]).WriteSack(new SeqNumber[3]));
    }
}
