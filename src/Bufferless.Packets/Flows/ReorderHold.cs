using System.Buffers;

namespace Bufferless.Packets.Flows;

/// <summary>
/// Server segments that arrived ahead of a gap, kept (soft state) until the missing bytes arrive. Records are numbered
/// in server-sequence order, so a segment after a hole cannot be sealed yet; dropping it would make the server resend
/// the whole window after its retransmission timeout (no SACK end to end), and a reordering path would stall the flow.
/// Bounded per flow (<see cref="MaxSegments"/>, <see cref="Capacity"/> bytes) and by the engine's global hold budget;
/// dropping it any time costs only a retransmission (DESIGN.md invariant 1).
/// </summary>
internal sealed class ReorderHold
{
    public const int MaxSegments = 192;
    public const int Capacity = 256 * 1024;

    private struct Entry : IHeldSegment
    {
        public uint Seq;
        public int Offset;
        public int Length;
        int IHeldSegment.Offset { readonly get => Offset; set => Offset = value; }
        readonly int IHeldSegment.Length => Length;
        readonly uint IHeldSegment.Seq => Seq;
        readonly bool IHeldSegment.Named => true;
        public bool Fin;
    }

    private readonly Entry[] _entries = new Entry[MaxSegments];
    private byte[]? _buffer;
    private int _count;
    private int _used;

    public int Count => _count;

    /// <summary>Bytes of buffer this hold has rented (what counts against the global budget).</summary>
    public int RentedBytes => _buffer?.Length ?? 0;

    /// <summary>Keeps a copy of the segment; false when it does not fit (the caller drops it as before).</summary>
    public bool TryAdd(uint seq, ReadOnlySpan<byte> data, bool fin)
    {
        for (int i = 0; i < _count; i++)
        {
            if (_entries[i].Seq == seq && _entries[i].Length >= data.Length)
                return true; // a duplicate of what is held already
        }
        if (_count == MaxSegments || data.Length > Capacity)
            return false;
        if (_used + data.Length > Capacity)
        {
            Compact();
            if (_used + data.Length > Capacity)
                return false;
        }
        _buffer ??= ArrayPool<byte>.Shared.Rent(Capacity);
        data.CopyTo(_buffer.AsSpan(_used));
        _entries[_count++] = new Entry { Seq = seq, Offset = _used, Length = data.Length, Fin = fin };
        _used += data.Length;
        return true;
    }

    /// <summary>
    /// Takes a held segment that starts at or before <paramref name="next"/> and reaches past it (the gap has closed up
    /// to it); segments wholly before <paramref name="next"/> are discarded on the way. The span stays valid until the
    /// next <see cref="TryAdd"/> or <see cref="Release"/>.
    /// </summary>
    public bool TryTake(uint next, out uint seq, out ReadOnlySpan<byte> data, out bool fin)
    {
        for (int i = 0; i < _count; i++)
        {
            ref Entry e = ref _entries[i];
            uint end = e.Seq + (uint)e.Length + (e.Fin ? 1u : 0u);
            if (Seq.Gt(e.Seq, next))
                continue;
            Entry taken = e;
            RemoveAt(i);
            if (Seq.Le(end, next))
            {
                i--;
                continue; // stale: already covered
            }
            seq = taken.Seq;
            data = _buffer.AsSpan(taken.Offset, taken.Length);
            fin = taken.Fin;
            return true;
        }
        seq = 0;
        data = default;
        fin = false;
        return false;
    }

    /// <summary>
    /// SACK blocks (RFC 2018 §3: left, right edge pairs) for the held segments, at most <paramref name="maxBlocks"/>;
    /// returns how many edges were written. RFC 2018 §4: the block with the newest segment first, then the others from
    /// the highest down (the sender keeps what earlier ACKs told it).
    /// </summary>
    public int SackEdges(Span<uint> edges, int maxBlocks) =>
        _count == 0 ? 0 : HeldSegments.SackEdges<Entry>(_entries.AsSpan(0, _count), null, _entries[_count - 1].Seq, edges, maxBlocks);

    /// <summary>Forgets everything and gives the buffer back.</summary>
    public void Release()
    {
        _count = 0;
        _used = 0;
        if (_buffer is null)
            return;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null;
    }

    /// <summary>Moves the held bytes together at the front of the buffer (<see cref="HeldSegments.Compact"/>).</summary>
    private void Compact() => _used = HeldSegments.Compact(_entries.AsSpan(0, _count), _buffer!);

    private void RemoveAt(int i)
    {
        _entries[i] = _entries[--_count];
        if (_count == 0)
            _used = 0; // the bytes of a taken entry are read before the next TryAdd
    }
}
