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
    /// <summary>Bytes the engine itself originated towards the client (a KeyUpdate): nothing from the server.</summary>
    Own,
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
/// </summary>
/// <remarks>
/// DESIGN.md §6 (map size): consecutive records of equal size and kind are stored as one run (start in both spaces,
/// count, sizes), so a bulk transfer of full segments costs one run whatever its length. Only the per-record short
/// tag that invariant 2 asks for stays per record (4 bytes, and only in the direction the engine seals). Both rings
/// start small and grow by doubling up to <see cref="Capacity"/> records as data in flight needs them; the engine
/// pools maps and calls <see cref="Trim"/> when one comes back, so an idle flow holds none and a pooled map holds
/// little. The owner stops sending new records when the map is full (invariant 4).
/// </remarks>
internal sealed class SeqMap
{
    private struct Run
    {
        public uint A;
        public uint B;
        /// <summary>Record number of the run's first record (records in a run are numbered consecutively).</summary>
        public ulong Record;
        public int Count;
        public ushort ASize;
        public ushort BSize;
        public SeqMapKind Kind;

        public readonly uint AEnd => A + (uint)(Count * ASize);
    }

    private const int InitialRuns = 4;
    private const int InitialTags = 16;
    /// <summary>A map coming back to the pool with more than this keeps only the initial rings.</summary>
    private const int TrimAbove = 64;

    private Run[] _runs;
    private int _runHead;
    private int _runCount;
    private uint[] _tags;
    private int _tagHead;
    private bool _storeTags;
    /// <summary>Number the next appended record gets.</summary>
    private ulong _nextRecord;
    /// <summary>
    /// Where the last lookup by index ended (run offset from the head, index of that run's first record), so a walk
    /// over consecutive entries costs one step each even when records of varying size make many runs.
    /// </summary>
    private int _cursorRun;
    private int _cursorBase;

    public SeqMap(int capacity)
    {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), "a power of two, at least 2");
        Capacity = capacity;
        _runs = new Run[InitialRuns];
        _tags = new uint[InitialTags];
        _storeTags = true;
    }

    /// <summary>Records in flight.</summary>
    public int Count { get; private set; }

    /// <summary>Most records the map holds.</summary>
    public int Capacity { get; }

    public bool IsFull => Count == Capacity;

    /// <summary>Runs in use (a bulk transfer of equal records needs one).</summary>
    public int RunCount => _runCount;

    /// <summary>Bytes the map's rings take now.</summary>
    public int FootprintBytes => _runs.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<Run>() + _tags.Length * sizeof(uint);

    /// <summary>The record number of entry 0 (or of the next record appended, when empty).</summary>
    public ulong FirstRecordNumber => _runCount > 0 ? _runs[_runHead].Record : _nextRecord;

    /// <summary>
    /// The record number of entry <paramref name="index"/>. Numbers run on from entry to entry except across a key
    /// change (RFC 8446 §5.3: the sequence number restarts at 0 with new traffic keys, see <see cref="RestartNumbering"/>).
    /// </summary>
    public ulong RecordNumber(int index)
    {
        int left = index;
        for (int k = 0; k < _runCount; k++)
        {
            ref Run run = ref _runs[(_runHead + k) & (_runs.Length - 1)];
            if (left < run.Count)
                return run.Record + (ulong)left;
            left -= run.Count;
        }
        return _nextRecord + (ulong)left;
    }

    /// <summary>The next record appended has number <paramref name="next"/> (a key change, RFC 8446 §5.3).</summary>
    public void RestartNumbering(ulong next) => _nextRecord = next;

    /// <summary>Entry <paramref name="index"/> (0 is the oldest record in flight).</summary>
    public SeqMapEntry this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(index));
            int k = 0, first = 0;
            if (_cursorRun < _runCount && index >= _cursorBase)
            {
                k = _cursorRun;
                first = _cursorBase;
            }
            int left = index - first;
            for (; k < _runCount; k++)
            {
                ref Run run = ref _runs[(_runHead + k) & (_runs.Length - 1)];
                if (left < run.Count)
                {
                    _cursorRun = k;
                    _cursorBase = index - left;
                    return new SeqMapEntry
                    {
                        A = run.A + (uint)(left * run.ASize),
                        B = run.B + (uint)(left * run.BSize),
                        ALength = run.ASize,
                        BLength = run.BSize,
                        Kind = run.Kind,
                        Tag = _storeTags ? _tags[(_tagHead + index) & (_tags.Length - 1)] : 0,
                    };
                }
                left -= run.Count;
            }
            throw new InvalidOperationException("sequence map runs out of step with its count");
        }
    }

    /// <summary>
    /// Empties the map; the next record appended has number <paramref name="firstRecordNumber"/>. Without
    /// <paramref name="storeTags"/> (client to server: the engine never seals those records) tags are not kept.
    /// </summary>
    public void Reset(ulong firstRecordNumber, bool storeTags = true)
    {
        _runHead = 0;
        _runCount = 0;
        _tagHead = 0;
        _cursorRun = 0;
        _cursorBase = 0;
        Count = 0;
        _nextRecord = firstRecordNumber;
        _storeTags = storeTags;
    }

    /// <summary>Gives back rings that grew for a burst (the map goes back to the pool empty).</summary>
    public void Trim()
    {
        if (_runs.Length > TrimAbove / 4)
            _runs = new Run[InitialRuns];
        if (_tags.Length > TrimAbove)
            _tags = new uint[InitialTags];
        Reset(0);
    }

    /// <summary>
    /// Appends the next record (number <c>FirstRecordNumber + Count</c>); it joins the last run when it follows it
    /// in both spaces with the same sizes and kind. The caller checks <see cref="IsFull"/>.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Append(uint a, uint b, int aLength, int bLength, SeqMapKind kind, uint tag)
    {
        if (IsFull)
            throw new InvalidOperationException("sequence map full");
        ushort aSize = checked((ushort)aLength);
        ushort bSize = checked((ushort)bLength);
        if (_storeTags)
        {
            if (Count == _tags.Length)
                GrowTags();
            _tags[(_tagHead + Count) & (_tags.Length - 1)] = tag;
        }
        Count++;
        ulong record = _nextRecord++;
        if (_runCount > 0)
        {
            ref Run last = ref _runs[(_runHead + _runCount - 1) & (_runs.Length - 1)];
            if (last.ASize == aSize && last.BSize == bSize && last.Kind == kind && last.Record + (ulong)last.Count == record
                && last.A + (uint)(last.Count * aSize) == a && last.B + (uint)(last.Count * bSize) == b)
            {
                last.Count++;
                return;
            }
        }
        if (_runCount == _runs.Length)
            GrowRuns();
        _runs[(_runHead + _runCount) & (_runs.Length - 1)] = new Run { A = a, B = b, Record = record, Count = 1, ASize = aSize, BSize = bSize, Kind = kind };
        _runCount++;
    }

    private void GrowRuns()
    {
        var bigger = new Run[_runs.Length * 2];
        for (int k = 0; k < _runCount; k++)
            bigger[k] = _runs[(_runHead + k) & (_runs.Length - 1)];
        _runs = bigger;
        _runHead = 0;
        // The cursor counts runs from the head, which keeps its place: it stays valid.
    }

    private void GrowTags()
    {
        var bigger = new uint[Math.Min(Capacity, _tags.Length * 2)];
        for (int k = 0; k < Count; k++)
            bigger[k] = _tags[(_tagHead + k) & (_tags.Length - 1)];
        _tags = bigger;
        _tagHead = 0;
    }

    /// <summary>
    /// Drops the records wholly acknowledged by <paramref name="bAck"/> (destination space). Returns how many;
    /// <paramref name="aAck"/> is then the source-space end of the last one dropped (DESIGN.md §6: whole records only).
    /// </summary>
    public int Acknowledge(uint bAck, out uint aAck)
    {
        aAck = 0;
        int dropped = 0;
        while (_runCount > 0)
        {
            ref Run run = ref _runs[_runHead];
            int diff = Seq.Diff(bAck, run.B);
            if (diff < 0)
                break;
            // A record is acknowledged when its end is: a record without destination bytes as soon as its start is.
            int k = run.BSize == 0 ? run.Count : Math.Min(run.Count, diff / run.BSize);
            if (k == 0)
                break;
            aAck = run.A + (uint)(k * run.ASize);
            run.A = aAck;
            run.B += (uint)(k * run.BSize);
            run.Record += (ulong)k;
            run.Count -= k;
            DropFront(k);
            dropped += k;
            if (run.Count > 0)
                break;
            _runHead = (_runHead + 1) & (_runs.Length - 1);
            _runCount--;
        }
        return dropped;
    }

    private void DropFront(int k)
    {
        _cursorRun = 0;
        _cursorBase = 0;
        Count -= k;
        if (_storeTags)
            _tagHead = (_tagHead + k) & (_tags.Length - 1);
    }

    /// <summary>The entry whose source range holds <paramref name="a"/>, or -1.</summary>
    public int IndexOfA(uint a)
    {
        int index = 0;
        for (int k = 0; k < _runCount; k++)
        {
            ref Run run = ref _runs[(_runHead + k) & (_runs.Length - 1)];
            if (Seq.Lt(a, run.A))
                return -1;
            if (run.ASize > 0 && Seq.Lt(a, run.AEnd))
                return index + Seq.Diff(a, run.A) / run.ASize;
            index += run.Count;
        }
        return -1;
    }

    /// <summary>The first entry that starts at or after <paramref name="a"/> in the source space, or -1.</summary>
    public int IndexOfStartAtOrAfter(uint a)
    {
        int index = 0;
        for (int k = 0; k < _runCount; k++)
        {
            ref Run run = ref _runs[(_runHead + k) & (_runs.Length - 1)];
            if (Seq.Ge(run.A, a))
                return index;
            if (run.ASize > 0 && Seq.Lt(a, run.AEnd))
                return index + (Seq.Diff(a, run.A) + run.ASize - 1) / run.ASize;
            index += run.Count;
        }
        return -1;
    }

    /// <summary>Removes entries <paramref name="index"/> and later (a rewind to a record boundary).</summary>
    public void TruncateFrom(int index)
    {
        if ((uint)index > (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index));
        _nextRecord = RecordNumber(index);
        _cursorRun = 0;
        _cursorBase = 0;
        int left = index;
        int keptRuns = 0;
        for (; keptRuns < _runCount && left > 0; keptRuns++)
        {
            ref Run run = ref _runs[(_runHead + keptRuns) & (_runs.Length - 1)];
            if (left < run.Count)
                run.Count = left;
            left -= run.Count;
        }
        _runCount = keptRuns;
        Count = index;
    }
}
