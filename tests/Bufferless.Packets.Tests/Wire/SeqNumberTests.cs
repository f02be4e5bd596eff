using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Wire;

public class SeqNumberTests
{
    [Fact]
    public void Compare_AcrossWrap_UsesSignedDistance()
    {
        var high = new SeqNumber(0xFFFF_FFF0);
        var low = new SeqNumber(0x0000_0010);
        Assert.True(high < low);
        Assert.True(low > high);
        Assert.Equal(0x20, low - high);
        Assert.Equal(-0x20, high - low);
        var same = new SeqNumber(0xFFFF_FFF0);
        Assert.True(high <= same && high >= same);
    }

    [Fact]
    public void Add_PastMax_Wraps()
    {
        Assert.Equal(5u, (new SeqNumber(uint.MaxValue) + 6).Value);
        Assert.Equal(uint.MaxValue, (new SeqNumber(0) - 1).Value);
        Assert.Equal(new SeqNumber(7), new SeqNumber(7) + 100 - 100);
    }

    [Fact]
    public void Compare_HalfRingApart_FollowsRfc1982Edge()
    {
        var a = new SeqNumber(0);
        Assert.True(a < a + int.MaxValue);
        // Exactly 2^31 apart the order is undefined (RFC 1982 §3.2): with (int)(a - b) < 0 each is "less" than the other.
        var b = a + int.MinValue;
        Assert.True(a < b);
        Assert.True(b < a);
    }

    [Fact]
    public void MaxMin_AcrossWrap_PickByRingOrder()
    {
        var x = new SeqNumber(0xFFFF_FF00);
        var y = new SeqNumber(0x100);
        Assert.Equal(y, SeqNumber.Max(x, y));
        Assert.Equal(x, SeqNumber.Min(x, y));
    }

    [Fact]
    public void IsInRange_WindowAcrossWrap_IncludesStartExcludesEnd()
    {
        var start = new SeqNumber(0xFFFF_FFFE);
        Assert.True(start.IsInRange(start, 4));
        Assert.True(new SeqNumber(1).IsInRange(start, 4));
        Assert.False(new SeqNumber(2).IsInRange(start, 4));
        Assert.False(new SeqNumber(0xFFFF_FFFD).IsInRange(start, 4));
    }
}
