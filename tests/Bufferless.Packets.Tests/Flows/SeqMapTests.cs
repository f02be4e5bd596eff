using Bufferless.Packets.Flows;

namespace Bufferless.Packets.Tests.Flows;

public class SeqMapTests
{
    // Server segments of 100 bytes at S=1000.. become records of 122 bytes at C=5000..
    private static SeqMap Build(int records, uint s0 = 1000, uint c0 = 5000, ulong firstRecord = 7)
    {
        var map = new SeqMap(16);
        map.Reset(firstRecord);
        for (int i = 0; i < records; i++)
            map.Append(s0 + (uint)(i * 100), c0 + (uint)(i * 122), 100, 122, SeqMapKind.Data, (uint)i);
        return map;
    }

    [Fact]
    public void Acknowledge_PartOfARecord_TranslatesToLastWholeRecord()
    {
        var map = Build(3);
        int dropped = map.Acknowledge(5000 + 122 + 50, out uint sAck);
        Assert.Equal(1, dropped);
        Assert.Equal(1100u, sAck);
        Assert.Equal(2, map.Count);
        Assert.Equal(8ul, map.FirstRecordNumber);
    }

    [Fact]
    public void Acknowledge_NothingWhole_DropsNothing()
    {
        var map = Build(3);
        Assert.Equal(0, map.Acknowledge(5000 + 121, out _));
        Assert.Equal(3, map.Count);
    }

    [Fact]
    public void IndexOfA_CoalescedRetransmission_CutsAtOriginalBoundaries()
    {
        var map = Build(4);
        // A retransmission of S=[1100, 1400) covers records 1, 2, 3 exactly.
        int first = map.IndexOfA(1100);
        Assert.Equal(1, first);
        Assert.Equal(8ul, map.RecordNumber(first));
        Assert.Equal(1200u, map[first].AEnd);
        Assert.Equal(3, map.IndexOfA(1399));
        Assert.Equal(-1, map.IndexOfA(1400));
        Assert.Equal(-1, map.IndexOfA(999));
    }

    [Fact]
    public void IndexOfA_SplitRetransmission_FindsRecordHoldingTheMiddle()
    {
        var map = Build(2);
        // A retransmission of S=[1050, 1100) starts inside record 0: it cannot be sealed alone.
        int i = map.IndexOfA(1050);
        Assert.Equal(0, i);
        Assert.NotEqual(1050u, map[i].A);
        Assert.Equal(1, map.IndexOfStartAtOrAfter(1050));
    }

    [Fact]
    public void Append_AcrossSequenceWrap_ComparesModulo32()
    {
        var map = Build(3, s0: uint.MaxValue - 150, c0: uint.MaxValue - 10);
        Assert.Equal(2, map.IndexOfA(unchecked(uint.MaxValue - 150 + 250)));
        Assert.Equal(2, map.Acknowledge(unchecked(uint.MaxValue - 10 + 244), out uint sAck));
        Assert.Equal(unchecked(uint.MaxValue - 150 + 200), sAck);
    }

    [Fact]
    public void Append_WhenFull_Throws_AndRingReusesSlots()
    {
        var map = new SeqMap(4);
        map.Reset(0);
        for (int i = 0; i < 4; i++)
            map.Append((uint)i * 10, (uint)i * 20, 10, 20, SeqMapKind.Data, 0);
        Assert.True(map.IsFull);
        Assert.Throws<InvalidOperationException>(() => map.Append(40, 80, 10, 20, SeqMapKind.Data, 0));
        map.Acknowledge(40, out _);
        map.Append(40, 80, 10, 20, SeqMapKind.Data, 0xABCD);
        Assert.Equal(3, map.Count);
        Assert.Equal(0xABCDu, map[2].Tag);
        Assert.Equal(4ul, map.RecordNumber(2));
    }

    [Fact]
    public void Acknowledge_ConsumedRecordWithoutPlaintext_DroppedOnceTheServerReachesIt()
    {
        // Client to server: A = client ciphertext, B = plaintext; an alert record has no plaintext.
        var map = new SeqMap(8);
        map.Reset(0);
        map.Append(100, 10, 40, 18, SeqMapKind.Data, 0);
        map.Append(140, 28, 24, 0, SeqMapKind.Consumed, 0);
        Assert.Equal(0, map.Acknowledge(27, out _));
        // Once the data before it is acknowledged, the consumed record goes too: the engine owns those bytes.
        Assert.Equal(2, map.Acknowledge(28, out uint a2));
        Assert.Equal(164u, a2);
    }

    [Fact]
    public void TruncateFrom_Rewind_RemovesLaterRecords()
    {
        var map = Build(4);
        map.TruncateFrom(2);
        Assert.Equal(2, map.Count);
        map.Append(1200, 5244, 100, 122, SeqMapKind.Data, 9);
        Assert.Equal(9ul, map.RecordNumber(2));
    }

    [Fact]
    public void Append_EqualRecords_StoredAsOneRun_TagsPerRecord()
    {
        // DESIGN.md §6: a bulk transfer of full segments is one run whatever its length; only tags are per record.
        var map = new SeqMap(2048);
        map.Reset(100);
        for (int i = 0; i < 1000; i++)
            map.Append(1000 + (uint)(i * 1426), 9000 + (uint)(i * 1448), 1426, 1448, SeqMapKind.Data, (uint)i * 3);
        Assert.Equal(1, map.RunCount);
        Assert.Equal(1000, map.Count);
        Assert.True(map.FootprintBytes <= 4 * 1024 + 256, $"{map.FootprintBytes} bytes for 1000 records");
        SeqMapEntry e = map[777];
        Assert.Equal(1000 + 777u * 1426, e.A);
        Assert.Equal(9000 + 777u * 1448, e.B);
        Assert.Equal(777u * 3, e.Tag);
        Assert.Equal(777, map.IndexOfA(1000 + 777u * 1426 + 1425));
        // An ACK inside record 500 drops records 0..499 and leaves the run's front at record 500.
        Assert.Equal(500, map.Acknowledge(9000 + 500u * 1448 + 1000, out uint aAck));
        Assert.Equal(1000 + 500u * 1426, aAck);
        Assert.Equal(600ul, map.FirstRecordNumber);
        Assert.Equal(1000 + 500u * 1426, map[0].A);
        Assert.Equal(500u * 3, map[0].Tag);
        Assert.Equal(1, map.RunCount);
    }

    [Fact]
    public void Append_MixedSizesAndKinds_NewRunEachChange_LookupsCrossRuns()
    {
        var map = new SeqMap(64);
        map.Reset(0);
        map.Append(0, 0, 100, 122, SeqMapKind.Data, 1);
        map.Append(100, 122, 100, 122, SeqMapKind.Data, 2);
        map.Append(200, 244, 50, 72, SeqMapKind.Data, 3);
        map.Append(250, 316, 1, 25, SeqMapKind.Fin, 4);
        Assert.Equal(3, map.RunCount);
        Assert.Equal(2, map.IndexOfA(220));
        Assert.Equal(3, map.IndexOfA(250));
        Assert.Equal(-1, map.IndexOfA(251));
        Assert.Equal(2, map.IndexOfStartAtOrAfter(101));
        Assert.Equal(SeqMapKind.Fin, map[3].Kind);
        Assert.Equal(4u, map[3].Tag);
        // Rewind into the first run, then a record that follows it joins the run again.
        map.TruncateFrom(1);
        Assert.Equal(1, map.RunCount);
        map.Append(100, 122, 100, 122, SeqMapKind.Data, 9);
        Assert.Equal(1, map.RunCount);
        Assert.Equal(9u, map[1].Tag);
        Assert.Equal(2, map.Acknowledge(244, out uint a));
        Assert.Equal(200u, a);
        Assert.Equal(0, map.Count);
    }

    [Fact]
    public void Trim_AfterABurst_ShrinksBackToTheInitialRings()
    {
        var map = new SeqMap(4096);
        map.Reset(0);
        for (int i = 0; i < 3000; i++)
            map.Append((uint)i * 10, (uint)i * 20, 10, 20, SeqMapKind.Data, (uint)i);
        int grown = map.FootprintBytes;
        map.Trim();
        Assert.True(map.FootprintBytes < 256 && grown > 10_000, $"{grown} -> {map.FootprintBytes}");
        Assert.Equal(0, map.Count);
    }

    [Fact]
    public void Reset_WithoutTags_EntriesReadZeroTag()
    {
        var map = new SeqMap(8);
        map.Reset(5, storeTags: false);
        map.Append(0, 0, 10, 10, SeqMapKind.Data, 0xDEAD);
        Assert.Equal(0u, map[0].Tag);
        Assert.Equal(5ul, map.RecordNumber(0));
    }

    [Fact]
    public void Indexer_ManyRuns_WalksAgreeWithTheRecordsAppended()
    {
        // Records of varying size make one run each; lookups by index (forwards, backwards, after ACKs and a
        // rewind) must still find the right record, number and tag.
        var map = new SeqMap(1024);
        map.Reset(40);
        var starts = new List<(uint A, uint B, int Size)>();
        uint a = 7, b = 9;
        for (int i = 0; i < 500; i++)
        {
            int size = 100 + i % 3;
            starts.Add((a, b, size));
            map.Append(a, b, size, size + 22, SeqMapKind.Data, (uint)i);
            a += (uint)size;
            b += (uint)(size + 22);
        }
        Assert.True(map.RunCount > 300);
        void CheckFrom(int first)
        {
            for (int i = 0; i < map.Count; i++)
                Assert.Equal(starts[first + i].A, map[i].A);
            for (int i = map.Count - 1; i >= 0; i -= 7)
            {
                Assert.Equal(starts[first + i].B, map[i].B);
                Assert.Equal((uint)(first + i), map[i].Tag);
                Assert.Equal(40ul + (ulong)(first + i), map.RecordNumber(i));
            }
        }
        CheckFrom(0);
        map.Acknowledge(starts[123].B + 5, out _);
        CheckFrom(123);
        map.TruncateFrom(200);
        Assert.Equal(200, map.Count);
        CheckFrom(123);
    }
}
