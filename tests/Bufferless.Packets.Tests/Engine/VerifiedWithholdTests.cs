using Bufferless.Packets.Flows;
using Bufferless.Packets.Tests.Flows;

namespace Bufferless.Packets.Tests.Engine;

/// <summary>
/// Verified mode cannot acknowledge a client stuck on its head inside a record (DESIGN.md invariants 1 and 3), so once
/// the client resends its head the engine keeps the client's newest segments out of its SACK blocks and names one per
/// resent head, leaving one for a timeout (tests/e2e/known-issues/README.md). These pin the hold's side of that.
/// </summary>
public class VerifiedWithholdTests
{
    private static byte[] Bytes(int n) => CipherHoldTests.Bytes(n, 7);

    private static List<(uint, uint)> Blocks(CipherHold hold, uint ack) => CipherHoldTests.Blocks(hold, ack);

    [Fact]
    public void Reveal_KeepOne_LeavesTheLastWithheldForATimeout()
    {
        var hold = new CipherHold();
        hold.TryAdd(1000, Bytes(100), withhold: false); // the resent head, at the ACK
        hold.TryAdd(1100, Bytes(100), withhold: true);
        hold.TryAdd(1200, Bytes(100), withhold: true);
        Assert.Equal([(1001u, 1100u)], Blocks(hold, 1000));

        hold.Reveal(1000, keep: 1); // two withheld: the lower is named
        Assert.Equal([(1001u, 1200u)], Blocks(hold, 1000));

        hold.Reveal(1000, keep: 1); // one left: it stays for a timeout
        Assert.Equal([(1001u, 1200u)], Blocks(hold, 1000));

        hold.Reveal(1000); // the timeout's resent head
        Assert.Equal([(1001u, 1300u)], Blocks(hold, 1000));
        hold.Release();
    }

    [Fact]
    public void TryAdd_MoreThanMaxWithheld_NamesTheOldest()
    {
        var hold = new CipherHold();
        for (uint i = 0; i <= CipherHold.MaxWithheld; i++)
            Assert.True(hold.TryAdd(2000 + i * 100, Bytes(100), withhold: true));
        Assert.Equal([(2000u, 2100u)], Blocks(hold, 1000));
        hold.Release();
    }

    [Fact]
    public void HeadResentAt_HoldsForThatAckOnly_AndReleaseForgetsIt()
    {
        var hold = new CipherHold();
        Assert.False(hold.HeadResentAt(1000));
        hold.NoteHeadResent(1000);
        Assert.True(hold.HeadResentAt(1000));
        Assert.False(hold.HeadResentAt(17400)); // the ACK moved on: the episode is over
        hold.Release();
        Assert.False(hold.HeadResentAt(1000));
    }
}
