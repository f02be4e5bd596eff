using Bufferless.Packets.Engine;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Engine;

/// <summary>What a test checks of a segment the engine emitted (<see cref="Segment"/> is a ref struct: it cannot be kept in a list).</summary>
internal readonly record struct SeenSegment(TcpFlags Flags, uint SequenceNumber, uint AcknowledgementNumber, int PayloadLength)
{
    public bool Has(TcpFlags flag) => (Flags & flag) != 0;

    /// <summary>Every captured packet parsed (each must parse).</summary>
    public static List<SeenSegment> Parse(List<byte[]> packets)
    {
        var segments = new List<SeenSegment>();
        foreach (byte[] p in packets)
        {
            Assert.True(SegmentCodec.TryParse(p, out Segment s));
            segments.Add(new SeenSegment(s.Flags, s.SequenceNumber, s.AcknowledgementNumber, s.Payload.Length));
        }
        return segments;
    }
}
