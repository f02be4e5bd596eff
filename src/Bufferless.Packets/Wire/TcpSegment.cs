using System.Buffers.Binary;

namespace Bufferless.Packets.Wire;

/// <summary>
/// A view over a TCP segment (RFC 9293 §3.1): header, options and payload. <see cref="TryCreate"/> checks the
/// data offset once. Property setters write raw fields; the <c>Rewrite*</c> methods also update the checksum
/// incrementally (RFC 1624), which is what the engine uses on packets it forwards.
/// </summary>
/// <remarks>
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          Source Port          |       Destination Port        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        Sequence Number                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Acknowledgment Number                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Data |       |C|E|U|A|P|R|S|F|                               |
/// | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
/// |       |       |R|E|G|K|H|T|N|N|                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Checksum            |         Urgent Pointer        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           [Options]                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                             Data                              :
/// </code>
/// The view spans exactly the segment: pass the IP payload (Total Length / Payload Length bounded).
/// </remarks>
public readonly ref struct TcpSegment
{
    public const int MinHeaderLength = 20;
    public const int MaxHeaderLength = 60;
    private const int SrcPort = 0, DstPort = 2, Seq = 4, AckOffset = 8, DataOffset = 12, FlagsOffset = 13,
        WindowOffset = 14, ChecksumOffset = 16, Urgent = 18;

    private readonly Span<byte> _b;

    private TcpSegment(Span<byte> segment) => _b = segment;

    /// <summary>Validates 20 &lt;= data offset * 4 &lt;= segment length.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool TryCreate(Span<byte> segment, out TcpSegment tcp)
    {
        tcp = default;
        if (segment.Length < MinHeaderLength) return false;
        int headerLength = (segment[DataOffset] >> 4) * 4;
        if (headerLength < MinHeaderLength || headerLength > segment.Length) return false;
        tcp = new TcpSegment(segment);
        return true;
    }

    public Span<byte> Bytes => _b;
    public int Length => _b.Length;
    public int HeaderLength => (_b[DataOffset] >> 4) * 4;
    public Span<byte> Options => _b[MinHeaderLength..HeaderLength];
    public Span<byte> Payload => _b[HeaderLength..];
    public int PayloadLength => _b.Length - HeaderLength;

    public ushort SourcePort
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b, value);
    }
    public ushort DestinationPort
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[DstPort..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[DstPort..], value);
    }
    public SeqNumber SequenceNumber
    {
        get => new(BinaryPrimitives.ReadUInt32BigEndian(_b[Seq..]));
        set => BinaryPrimitives.WriteUInt32BigEndian(_b[Seq..], value.Value);
    }
    public SeqNumber AcknowledgmentNumber
    {
        get => new(BinaryPrimitives.ReadUInt32BigEndian(_b[AckOffset..]));
        set => BinaryPrimitives.WriteUInt32BigEndian(_b[AckOffset..], value.Value);
    }
    public TcpFlags Flags { get => (TcpFlags)_b[FlagsOffset]; set => _b[FlagsOffset] = (byte)value; }
    public bool Has(TcpFlags flag) => (_b[FlagsOffset] & (byte)flag) == (byte)flag;
    public ushort Window
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[WindowOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[WindowOffset..], value);
    }
    public ushort Checksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[ChecksumOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[ChecksumOffset..], value);
    }
    public ushort UrgentPointer
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[Urgent..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[Urgent..], value);
    }

    /// <summary>Sequence space the segment occupies: payload plus one for SYN and one for FIN (RFC 9293 §3.4).</summary>
    public int SequenceLength => PayloadLength + (Has(TcpFlags.Syn) ? 1 : 0) + (Has(TcpFlags.Fin) ? 1 : 0);

    /// <summary>True when the checksum over pseudo-header and segment sums to zero.</summary>
    public bool VerifyChecksum(uint pseudoHeaderSum)
        => Wire.Checksum.Fold(Wire.Checksum.Sum(_b, pseudoHeaderSum)) == 0xFFFF;

    /// <summary>Computes the full checksum (for a new payload). <paramref name="pseudoHeaderSum"/> from <see cref="Wire.Checksum.PseudoHeaderV4"/>/<c>V6</c> with this segment's length.</summary>
    public void FillChecksum(uint pseudoHeaderSum)
    {
        Checksum = 0;
        Checksum = Wire.Checksum.Finish(Wire.Checksum.Sum(_b, pseudoHeaderSum));
    }

    public void RewriteSourcePort(ushort port)
    {
        Checksum = Wire.Checksum.Update(Checksum, SourcePort, port);
        SourcePort = port;
    }

    public void RewriteDestinationPort(ushort port)
    {
        Checksum = Wire.Checksum.Update(Checksum, DestinationPort, port);
        DestinationPort = port;
    }

    public void RewriteSequenceNumber(SeqNumber seq)
    {
        Checksum = Wire.Checksum.Update32(Checksum, SequenceNumber.Value, seq.Value);
        SequenceNumber = seq;
    }

    public void RewriteAcknowledgmentNumber(SeqNumber ack)
    {
        Checksum = Wire.Checksum.Update32(Checksum, AcknowledgmentNumber.Value, ack.Value);
        AcknowledgmentNumber = ack;
    }

    public void RewriteWindow(ushort window)
    {
        Checksum = Wire.Checksum.Update(Checksum, Window, window);
        Window = window;
    }

    /// <summary>Sets the flags byte (the word it shares with the data offset is updated in the checksum).</summary>
    public void RewriteFlags(TcpFlags flags)
    {
        ushort old = BinaryPrimitives.ReadUInt16BigEndian(_b[DataOffset..]);
        Flags = flags;
        Checksum = Wire.Checksum.Update(Checksum, old, BinaryPrimitives.ReadUInt16BigEndian(_b[DataOffset..]));
    }

    /// <summary>Adjusts the checksum for a change of the pseudo-header (an address rewrite or a length change).</summary>
    public void UpdateChecksumForPseudoHeader(uint oldPseudoHeaderSum, uint newPseudoHeaderSum)
        => Checksum = Wire.Checksum.UpdateSum(Checksum, oldPseudoHeaderSum, newPseudoHeaderSum);

    // ---- options, in place, checksum kept valid ---------------------------------------------------------------

    /// <summary>Parses the options into their validated meaning (never throws; see <see cref="TcpOptionSummary.Malformed"/>).</summary>
    public TcpOptionSummary ReadOptions() => TcpOptions.Summarize(Options);

    /// <summary>
    /// Lowers the MSS option to <paramref name="maxMss"/> if it is larger (the patent's MSS reduction, DESIGN.md §2).
    /// Returns true if the segment changed. A SYN without an MSS option is left alone: the default MSS
    /// (RFC 9293 §3.7.1: 536 for IPv4, RFC 8200 §5: 1220 for IPv6) is already small.
    /// </summary>
    public bool ClampMss(ushort maxMss)
    {
        int at = TcpOptions.Find(Options, TcpOptionKind.Mss);
        if (at < 0) return false;
        int field = MinHeaderLength + at + 2;
        ushort mss = BinaryPrimitives.ReadUInt16BigEndian(_b[field..]);
        if (mss <= maxMss) return false;
        RewriteUInt16(field, maxMss);
        return true;
    }

    public bool TryGetTimestamps(out uint tsVal, out uint tsEcr)
    {
        int at = TcpOptions.Find(Options, TcpOptionKind.Timestamps);
        tsVal = tsEcr = 0;
        if (at < 0) return false;
        tsVal = BinaryPrimitives.ReadUInt32BigEndian(Options[(at + 2)..]);
        tsEcr = BinaryPrimitives.ReadUInt32BigEndian(Options[(at + 6)..]);
        return true;
    }

    /// <summary>Rewrites TSval and TSecr in place (RFC 7323 §3). False if the segment has no timestamps option.</summary>
    public bool RewriteTimestamps(uint tsVal, uint tsEcr)
    {
        int at = TcpOptions.Find(Options, TcpOptionKind.Timestamps);
        if (at < 0) return false;
        RewriteUInt32(MinHeaderLength + at + 2, tsVal);
        RewriteUInt32(MinHeaderLength + at + 6, tsEcr);
        return true;
    }

    /// <summary>Replaces SACK-permitted by two NOPs, so the peer never sends SACK blocks. True if one was removed.</summary>
    public bool RemoveSackPermitted() => ReplaceWithNops(TcpOptionKind.SackPermitted);

    /// <summary>Replaces a SACK option by NOPs (blocks that cannot be translated are better dropped than wrong).</summary>
    public bool RemoveSackBlocks() => ReplaceWithNops(TcpOptionKind.Sack);

    /// <summary>Number of SACK blocks (0 to 4) in the segment.</summary>
    public int SackBlockCount
    {
        get
        {
            int at = TcpOptions.Find(Options, TcpOptionKind.Sack);
            return at < 0 ? 0 : (Options[at + 1] - 2) / 8;
        }
    }

    public bool TryGetSackBlock(int index, out SeqNumber left, out SeqNumber right)
    {
        left = right = default;
        int at = TcpOptions.Find(Options, TcpOptionKind.Sack);
        if (at < 0 || (uint)index >= (uint)((Options[at + 1] - 2) / 8)) return false;
        int o = at + 2 + index * 8;
        left = new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(Options[o..]));
        right = new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(Options[(o + 4)..]));
        return true;
    }

    /// <summary>Rewrites one SACK block in place (translated edges), keeping the checksum valid.</summary>
    public bool RewriteSackBlock(int index, SeqNumber left, SeqNumber right)
    {
        int at = TcpOptions.Find(Options, TcpOptionKind.Sack);
        if (at < 0 || (uint)index >= (uint)((Options[at + 1] - 2) / 8)) return false;
        int field = MinHeaderLength + at + 2 + index * 8;
        RewriteUInt32(field, left.Value);
        RewriteUInt32(field + 4, right.Value);
        return true;
    }

    private bool ReplaceWithNops(TcpOptionKind kind)
    {
        int at = TcpOptions.Find(Options, kind);
        if (at < 0) return false;
        int start = MinHeaderLength + at, length = Options[at + 1];
        int from = start & ~1, to = (start + length + 1) & ~1; // whole 16-bit words around the option
        uint before = Wire.Checksum.Sum(_b[from..to]);
        _b.Slice(start, length).Fill((byte)TcpOptionKind.Nop);
        Checksum = Wire.Checksum.UpdateSum(Checksum, before, Wire.Checksum.Sum(_b[from..to]));
        return true;
    }

    // Options may sit at odd offsets: sum the enclosing 16-bit words before and after the write.
    private void RewriteUInt16(int offset, ushort value)
    {
        int from = offset & ~1, to = (offset + 3) & ~1;
        uint before = Wire.Checksum.Sum(_b[from..to]);
        BinaryPrimitives.WriteUInt16BigEndian(_b[offset..], value);
        Checksum = Wire.Checksum.UpdateSum(Checksum, before, Wire.Checksum.Sum(_b[from..to]));
    }

    private void RewriteUInt32(int offset, uint value)
    {
        int from = offset & ~1, to = (offset + 5) & ~1;
        uint before = Wire.Checksum.Sum(_b[from..to]);
        BinaryPrimitives.WriteUInt32BigEndian(_b[offset..], value);
        Checksum = Wire.Checksum.UpdateSum(Checksum, before, Wire.Checksum.Sum(_b[from..to]));
    }

    /// <summary>
    /// Writes a TCP header (20 bytes plus <paramref name="options"/>, padded with EOL to a multiple of 4) at the
    /// start of <paramref name="buffer"/>; checksum left zero. Returns the header length, or -1 if it does not fit.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static int WriteHeader(Span<byte> buffer, ushort sourcePort, ushort destinationPort, SeqNumber seq,
        SeqNumber ack, TcpFlags flags, ushort window, ReadOnlySpan<byte> options)
    {
        int headerLength = MinHeaderLength + ((options.Length + 3) & ~3);
        if (headerLength > MaxHeaderLength || buffer.Length < headerLength) return -1;
        BinaryPrimitives.WriteUInt16BigEndian(buffer, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[DstPort..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[Seq..], seq.Value);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[AckOffset..], ack.Value);
        buffer[DataOffset] = (byte)(headerLength / 4 << 4);
        buffer[FlagsOffset] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[WindowOffset..], window);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[ChecksumOffset..], 0); // checksum and urgent pointer
        options.CopyTo(buffer[MinHeaderLength..]);
        buffer[(MinHeaderLength + options.Length)..headerLength].Clear(); // EOL padding (RFC 9293 §3.1)
        return headerLength;
    }
}
