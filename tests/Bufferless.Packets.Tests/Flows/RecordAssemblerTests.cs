using Bufferless.Packets.Flows;

namespace Bufferless.Packets.Tests.Flows;

public class RecordAssemblerTests
{
    private static byte[] Record(int bodyLength, byte fill)
    {
        byte[] r = new byte[5 + bodyLength];
        r[0] = 23; r[1] = 3; r[2] = 3; r[3] = (byte)(bodyLength >> 8); r[4] = (byte)bodyLength;
        r.AsSpan(5).Fill(fill);
        return r;
    }

    /// <summary>Feeds segments; returns (record index, body bytes) per completed record.</summary>
    private static List<byte[]> Run(IEnumerable<byte[]> segments, out int malformed)
    {
        var asm = new RecordAssembler();
        var records = new List<byte[]>();
        var body = new List<byte>();
        malformed = 0;
        foreach (byte[] segment in segments)
        {
            ReadOnlySpan<byte> input = segment;
            while (!input.IsEmpty)
            {
                AssemblerStep step = asm.Feed(input, out int consumed, out int offset, out int n);
                if (step == AssemblerStep.Malformed) { malformed++; return records; }
                if (step == AssemblerStep.Body)
                {
                    Assert.Equal(body.Count, offset);
                    body.AddRange(input.Slice(consumed - n, n));
                }
                input = input[consumed..];
                if (asm.BodyComplete)
                {
                    Assert.Equal(asm.BodyLength, body.Count);
                    records.Add([.. body]);
                    body.Clear();
                    asm.NextRecord();
                }
            }
        }
        return records;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Feed_HeaderSplitAcrossSegments_ReassemblesHeader(int split)
    {
        byte[] r = Record(40, 0xAA);
        var records = Run([r[..split], r[split..]], out int bad);
        Assert.Equal(0, bad);
        Assert.Single(records);
        Assert.Equal(40, records[0].Length);
    }

    [Fact]
    public void Feed_TagSplitAcrossSegments_CompletesOnLastByte()
    {
        byte[] r = Record(100, 0x11);
        var asm = new RecordAssembler();
        int consumedTotal = 0;
        foreach (int cut in new[] { 5 + 90, 5 + 100 }) // the 16-byte tag starts at body offset 84: split inside it
        {
            ReadOnlySpan<byte> input = r.AsSpan(consumedTotal, cut - consumedTotal);
            while (!input.IsEmpty)
            {
                asm.Feed(input, out int consumed, out _, out _);
                input = input[consumed..];
                consumedTotal += consumed;
            }
            Assert.Equal(cut == 105, asm.BodyComplete);
        }
    }

    [Fact]
    public void Feed_ManyRecordsInOneSegment_FindsEveryBoundary()
    {
        byte[] segment = [.. Record(17, 1), .. Record(30, 2), .. Record(17, 3), .. Record(200, 4)];
        var records = Run([segment], out int bad);
        Assert.Equal(0, bad);
        Assert.Equal([17, 30, 17, 200], records.Select(r => r.Length));
        Assert.Equal(4, records[3][0]);
    }

    [Fact]
    public void Feed_RecordSpanningManySegments_OneByteAtATime()
    {
        byte[] both = [.. Record(300, 7), .. Record(17, 8)];
        var records = Run(both.Select(b => new[] { b }), out int bad);
        Assert.Equal(0, bad);
        Assert.Equal([300, 17], records.Select(r => r.Length));
    }

    [Theory]
    [InlineData(22, 3, 3, 40)]       // plaintext handshake record after the handshake
    [InlineData(23, 3, 1, 40)]       // wrong legacy version
    [InlineData(23, 3, 3, 16)]       // shorter than type byte + tag
    [InlineData(23, 3, 3, 16641)]    // over 2^14 + 256
    public void Feed_BadHeader_Malformed(byte type, byte major, byte minor, int length)
    {
        byte[] h = [type, major, minor, (byte)(length >> 8), (byte)length, 0, 0];
        Run([h], out int bad);
        Assert.Equal(1, bad);
    }
}
