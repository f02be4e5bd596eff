namespace Bufferless.Packets.Flows;

/// <summary>What a <see cref="SeqMap"/> entry stands for.</summary>
internal enum SeqMapKind : byte
{
    /// <summary>An application_data record.</summary>
    Data,
    /// <summary>A record the engine consumed (client alert, KeyUpdate, empty record): no bytes on the far side.</summary>
    Consumed,
    /// <summary>A FIN, with (server to client) the close_notify record the engine put in front of it.</summary>
    Fin,
}

/// <summary>One record in flight: its place in both sequence spaces, its record number and a short tag.</summary>
internal struct SeqMapEntry
{
    /// <summary>Start in the source space (the side that sent the bytes).</summary>
    public uint A;
    /// <summary>Start in the destination space (the side that receives and acknowledges them).</summary>
    public uint B;
    public ushort ALength;
    public ushort BLength;
    /// <summary>The first 4 bytes of the record's AEAD tag: a retransmission must seal to the same tag (invariant 2).</summary>
    public uint Tag;
    public SeqMapKind Kind;

    public readonly uint AEnd => A + ALength;
    public readonly uint BEnd => B + BLength;
}

/// <summary>
/// The patent's TCP/SSL database for one flow and direction (DESIGN.md §2, §6): the records that were sent on and
/// not yet acknowledged, in order, each with its start in the source and destination sequence spaces and its
/// record number (implicit: <see cref="FirstRecordNumber"/> plus the index). Entries leave from the front as the
/// receiver's ACKs pass; an ACK is translated to the end of the last <i>whole</i> record it covers.
/// A ring buffer of fixed capacity: the owner stops sending new records when it is full (invariant 4).
/// Instances are pooled by the engine and held by a flow only while it has records in flight.
/// </summary>
internal sealed class SeqMap
{
    private readonly SeqMapEntry[] _entries;
    private readonly int _mask;
    private int _head;

    public SeqMap(int capacity)
    {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), "a power of two, at least 2");
        _entries = new SeqMapEntry[capacity];
        _mask = capacity - 1;
    }

    public int Count { get; private set; }
    public int Capacity => _entries.Length;
    public bool IsFull => Count == _entries.Length;

    /// <summary>The record number of entry 0.</summary>
    public ulong FirstRecordNumber { get; private set; }

    public ref SeqMapEntry this[int index] => ref _entries[(_head + index) & _mask];

    public ulong RecordNumber(int index) => FirstRecordNumber + (ulong)index;

    /// <summary>Empties the map; the next record appended has number <paramref name="firstRecordNumber"/>.</summary>
    public void Reset(ulong firstRecordNumber)
    {
        _head = 0;
        Count = 0;
        FirstRecordNumber = firstRecordNumber;
    }

    /// <summary>Appends the next record (number <c>FirstRecordNumber + Count</c>). The caller checks <see cref="IsFull"/>.</summary>
    public ref SeqMapEntry Append(uint a, uint b, int aLength, int bLength, SeqMapKind kind, uint tag)
    {
        if (IsFull)
            throw new InvalidOperationException("sequence map full");
        ref SeqMapEntry e = ref _entries[(_head + Count) & _mask];
        e.A = a;
        e.B = b;
        e.ALength = checked((ushort)aLength);
        e.BLength = checked((ushort)bLength);
        e.Kind = kind;
        e.Tag = tag;
        Count++;
        return ref e;
    }

    /// <summary>
    /// Drops the records wholly acknowledged by <paramref name="bAck"/> (destination space). Returns how many;
    /// <paramref name="aAck"/> is then the source-space end of the last one dropped (DESIGN.md §6: whole records only).
    /// </summary>
    public int Acknowledge(uint bAck, out uint aAck)
    {
        aAck = 0;
        int dropped = 0;
        while (Count > 0)
        {
            ref SeqMapEntry e = ref _entries[_head];
            if (Seq.Gt(e.BEnd, bAck))
                break;
            aAck = e.AEnd;
            _head = (_head + 1) & _mask;
            Count--;
            FirstRecordNumber++;
            dropped++;
        }
        return dropped;
    }

    /// <summary>The entry whose source range holds <paramref name="a"/>, or -1.</summary>
    public int IndexOfA(uint a)
    {
        // Binary search: entries are contiguous and ordered in the source space.
        int lo = 0, hi = Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ref SeqMapEntry e = ref this[mid];
            if (Seq.Lt(a, e.A))
                hi = mid - 1;
            else if (Seq.Ge(a, e.AEnd))
                lo = mid + 1;
            else
                return mid;
        }
        return -1;
    }

    /// <summary>The first entry that starts at or after <paramref name="a"/> in the source space, or -1.</summary>
    public int IndexOfStartAtOrAfter(uint a)
    {
        int lo = 0, hi = Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Seq.Lt(this[mid].A, a))
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo < Count ? lo : -1;
    }

    /// <summary>Removes entries <paramref name="index"/> and later (a rewind to a record boundary).</summary>
    public void TruncateFrom(int index)
    {
        if ((uint)index > (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index));
        Count = index;
    }
}
