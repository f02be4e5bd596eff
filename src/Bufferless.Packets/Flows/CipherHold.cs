using System.Buffers;

namespace Bufferless.Packets.Flows;

/// <summary>
/// Client ciphertext the engine keeps so that it can answer with SACK blocks (RFC 2018) and still replay every byte it
/// SACKed: the client's segments above the engine's ACK (in order or ahead of a hole, and retransmissions), up to
/// <see cref="Reach"/> past it, plus the client's few newest segments beyond that, withheld from the SACK blocks for a
/// client that times out (<see cref="TryKeepNewest"/>). A Linux sender never resends what was SACKed unless the head of
/// its queue was SACKed at a timeout (tcp_timeout_mark_lost), and the engine never SACKs the head (its ACK may only stop
/// at a record boundary, invariant 1), so what it SACKs it must keep until its cumulative ACK passes it: entries are
/// kept after they are processed (a rewind or an unwind feeds them again) and forgotten only by <see cref="Forget"/>.
/// Bounded by <see cref="Capacity"/> and <see cref="MaxSegments"/>, rented from the shared pool only while something
/// is held, and counted against the engine's global hold budget; what does not fit is simply not kept (nor SACKed).
/// </summary>
internal sealed class CipherHold
{
    public const int MaxSegments = 128;
    /// <summary>Buffer bytes: <see cref="Reach"/> plus room for overlapping retransmissions and the newest segment.</summary>
    public const int Capacity = 128 * 1024;
    /// <summary>
    /// How far past the client's ACK bytes are kept: about six full TLS records (RFC 8446 §5.2: at most 2^14 + 256 bytes
    /// of body plus the header), the record being assembled and what a client sends behind it in one window.
    /// </summary>
    public const int Reach = 96 * 1024;

    private struct Entry : IHeldSegment
    {
        public uint Seq;
        public int Offset;
        public int Length;
        int IHeldSegment.Offset { readonly get => Offset; set => Offset = value; }
        readonly int IHeldSegment.Length => Length;
        readonly uint IHeldSegment.Seq => Seq;
        readonly bool IHeldSegment.Named => !Withheld;
        /// <summary>Not named in SACK blocks yet (see <see cref="TryAdd"/>).</summary>
        public bool Withheld;
        /// <summary>Kept beyond the reach (<see cref="TryKeepNewest"/>).</summary>
        public bool Beyond;
        public readonly uint End => Seq + (uint)Length;
    }

    /// <summary>How many of the client's newest segments inside the reach are withheld at most.</summary>
    public const int MaxWithheld = 2;
    /// <summary>Segments kept beyond the hold's reach (<see cref="TryKeepNewest"/>), all withheld.</summary>
    public const int MaxBeyond = 3;

    private readonly Entry[] _entries = new Entry[MaxSegments];
    private byte[]? _buffer;
    private int _count;
    private int _used;
    /// <summary>A byte of the segment named most recently (its block goes first, RFC 2018 §4).</summary>
    private uint _latest;
    private bool _sackMoved;
    private bool _headResent;
    private uint _headResentAck;
    /// <summary>The client's FIN, kept when it came ahead of a hole (<see cref="KeepFin"/>).</summary>
    private bool _hasFin;
    private uint _finSeq;

    /// <summary>Held segments, and the kept FIN as one more: a hold with only a FIN left is still in use.</summary>
    public int Count => _count + (_hasFin ? 1 : 0);

    /// <summary>Sequence number of the kept FIN, if any.</summary>
    public uint? Fin => _hasFin ? _finSeq : null;

    /// <summary>
    /// Keeps the client's FIN at <paramref name="finSeq"/> (the sequence number it occupies, RFC 9293 §3.4), which came
    /// ahead of a hole: named in the SACK blocks at once, so that a sender whose last data segment was lost sees that
    /// segment as the hole (RACK) instead of waiting for a timeout that resends only its head; processed once the hole
    /// fills, and kept until the client's ACK passes it (a rewind may need it again). True when it is new.
    /// </summary>
    public bool KeepFin(uint finSeq)
    {
        if (_hasFin && _finSeq == finSeq)
            return false;
        _hasFin = true;
        _finSeq = finSeq;
        _latest = finSeq;
        _sackMoved = true;
        return true;
    }

    public int RentedBytes => _buffer?.Length ?? 0;

    /// <summary>
    /// Keeps a copy of <paramref name="data"/> at <paramref name="seq"/>, named in the SACK blocks at once unless
    /// <paramref name="withhold"/>: the segment is the newest the client ever sent, and the <see cref="MaxWithheld"/>
    /// newest stay out of the SACK blocks until <see cref="Reveal"/>. A Linux sender that timed out resends only its
    /// head, which the engine can never SACK; when it comes, <see cref="Reveal"/> SACKs one withheld never-retransmitted
    /// segment, and the sender takes its timeout for spurious (F-RTO, RFC 5682 §3.1, SACK variant), opens its window
    /// again and resends the hole. False when the segment does not fit.
    /// </summary>
    public bool TryAdd(uint seq, ReadOnlySpan<byte> data, bool withhold)
    {
        if (!TryStore(seq, data, withhold, out int index))
            return false;
        if (index < 0)
            return true;
        if (!withhold)
        {
            Name(index);
            return true;
        }
        // Only the newest few stay withheld: the oldest of them is named now.
        int withheld = 0;
        int oldest = -1;
        for (int i = 0; i < _count; i++)
        {
            if (!_entries[i].Withheld || _entries[i].Length == 0 || IsBeyond(i))
                continue;
            withheld++;
            if (oldest < 0 || Seq.Lt(_entries[i].Seq, _entries[oldest].Seq))
                oldest = i;
        }
        if (withheld > MaxWithheld)
            Name(oldest);
        return true;
    }

    private bool IsBeyond(int i) => _entries[i].Beyond;

    private void Name(int i)
    {
        if (!_entries[i].Withheld)
            return;
        _entries[i].Withheld = false;
        _latest = _entries[i].Seq;
        _sackMoved = true;
    }

    /// <summary>Stores a copy; <paramref name="index"/> is the new entry, or -1 when the bytes were held already.</summary>
    private bool TryStore(uint seq, ReadOnlySpan<byte> data, bool withhold, out int index)
    {
        index = -1;
        if (data.IsEmpty || data.Length > Capacity)
            return false;
        uint end = seq + (uint)data.Length;
        for (int i = 0; i < _count; i++)
        {
            if (Seq.Le(_entries[i].Seq, seq) && Seq.Ge(_entries[i].End, end))
            {
                if (!withhold)
                    Name(i); // a retransmission of what is held: name it, it frees the sender's window
                return true;
            }
        }
        if (_count == MaxSegments)
            return false;
        if (_used + data.Length > Capacity)
        {
            Compact();
            if (_used + data.Length > Capacity)
                return false;
        }
        _buffer ??= ArrayPool<byte>.Shared.Rent(Capacity);
        data.CopyTo(_buffer.AsSpan(_used));
        index = _count;
        _entries[_count++] = new Entry { Seq = seq, Offset = _used, Length = data.Length, Withheld = true };
        _used += data.Length;
        return true;
    }

    /// <summary>
    /// Keeps the client's newest segment although it lies beyond what the hold takes otherwise (<paramref name="bound"/>),
    /// withheld (see <see cref="TryAdd"/>). The <see cref="MaxBeyond"/> newest are kept: a Linux client ignores the first
    /// one SACKed after a timeout that cut fast recovery short (F-RTO runs only on a timeout from the open state or on a
    /// repeated one).
    /// </summary>
    public bool TryKeepNewest(uint seq, ReadOnlySpan<byte> data, uint bound)
    {
        int beyond = 0;
        int oldest = -1;
        for (int i = 0; i < _count; i++)
        {
            if (!IsBeyond(i))
                continue;
            beyond++;
            if (oldest < 0 || Seq.Lt(_entries[i].Seq, _entries[oldest].Seq))
                oldest = i;
        }
        if (beyond >= MaxBeyond)
        {
            if (!_entries[oldest].Withheld)
                return false; // named already: it must stay
            _entries[oldest] = _entries[--_count];
        }
        if (_count == 0)
            _used = 0;
        if (!TryStore(seq, data, withhold: true, out int index))
            return false;
        if (index >= 0)
            _entries[index].Beyond = true;
        return true;
    }

    /// <summary>True once each time the SACK blocks came to name more (an ACK is worth sending).</summary>
    public bool TakeSackMoved()
    {
        bool moved = _sackMoved;
        _sackMoved = false;
        return moved;
    }

    /// <summary>
    /// Names the lowest withheld segment above <paramref name="ack"/> in the SACK blocks (the rest stay for a later
    /// timeout), unless no more than <paramref name="keep"/> are withheld; one at the ACK itself cannot be SACKed and
    /// is only marked as named.
    /// </summary>
    public void Reveal(uint ack, int keep = 0)
    {
        int lowest = -1;
        int withheld = 0;
        for (int i = 0; i < _count; i++)
        {
            if (!_entries[i].Withheld)
                continue;
            if (!Seq.Gt(_entries[i].Seq, ack))
            {
                _entries[i].Withheld = false;
                continue;
            }
            withheld++;
            if (lowest < 0 || Seq.Lt(_entries[i].Seq, _entries[lowest].Seq))
                lowest = i;
        }
        if (lowest >= 0 && withheld > keep)
            Name(lowest);
    }

    /// <summary>
    /// A held segment that starts at or before <paramref name="next"/> and reaches past it (the longest), without taking
    /// it out. The span stays valid until the next <see cref="TryAdd"/>, <see cref="Forget"/> or <see cref="Release"/>.
    /// </summary>
    public bool TryNext(uint next, out uint seq, out ReadOnlySpan<byte> data)
    {
        int best = -1;
        for (int i = 0; i < _count; i++)
        {
            ref Entry e = ref _entries[i];
            if (Seq.Gt(e.Seq, next) || Seq.Le(e.End, next))
                continue;
            if (best < 0 || Seq.Gt(e.End, _entries[best].End))
                best = i;
        }
        if (best < 0)
        {
            seq = 0;
            data = default;
            return false;
        }
        seq = _entries[best].Seq;
        data = _buffer.AsSpan(_entries[best].Offset, _entries[best].Length);
        return true;
    }

    /// <summary>The client's cumulative ACK reached <paramref name="ack"/>: what lies wholly before it goes.</summary>
    public void Forget(uint ack)
    {
        if (_hasFin && Seq.Gt(ack, _finSeq))
            _hasFin = false;
        for (int i = 0; i < _count; i++)
        {
            if (Seq.Le(_entries[i].End, ack))
            {
                _entries[i] = _entries[--_count];
                i--;
            }
        }
        if (_count == 0)
            _used = 0;
    }

    /// <summary>
    /// Writes SACK blocks (left, right edge pairs) for the named held bytes above <paramref name="ack"/>, at most
    /// <paramref name="maxBlocks"/>; returns how many edges were written. RFC 2018 §4: the first block holds the most
    /// recently received segment, the others follow from the highest down (a sender keeps what it learnt from earlier
    /// ACKs on its scoreboard, so the newest ranges are the ones it must hear of). Linux refuses a block that starts at
    /// SND.UNA (tcp_is_sackblock_valid), so held bytes at the ACK itself are named from the byte after it.
    /// </summary>
    public int SackEdges(uint ack, Span<uint> edges, int maxBlocks) =>
        HeldSegments.SackEdges<Entry>(_entries.AsSpan(0, _count), ack + 1, _latest, edges, maxBlocks, _hasFin ? _finSeq : null);

    /// <summary>The client resent the segment at its ACK <paramref name="ack"/> (it is recovering a loss there).</summary>
    public void NoteHeadResent(uint ack)
    {
        _headResent = true;
        _headResentAck = ack;
    }

    /// <summary>True while the ACK still stands where the client resent its head (<see cref="NoteHeadResent"/>).</summary>
    public bool HeadResentAt(uint ack) => _headResent && _headResentAck == ack;

    /// <summary>Forgets everything and gives the buffer back.</summary>
    public void Release()
    {
        _headResent = false;
        _hasFin = false;
        _count = 0;
        _used = 0;
        _sackMoved = false;
        if (_buffer is null)
            return;
        // Client ciphertext: not secret, but nothing of one flow may show up in another's buffer.
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(_buffer);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null;
    }

    /// <summary>Moves the held bytes together at the front of the buffer (<see cref="HeldSegments.Compact"/>).</summary>
    private void Compact() => _used = HeldSegments.Compact(_entries.AsSpan(0, _count), _buffer!);
}
