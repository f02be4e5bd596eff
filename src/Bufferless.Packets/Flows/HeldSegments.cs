namespace Bufferless.Packets.Flows;

/// <summary>A segment kept in a hold's buffer: where its bytes sit.</summary>
internal interface IHeldSegment
{
    int Offset { get; set; }
    int Length { get; }
    /// <summary>Sequence number of the segment's first byte.</summary>
    uint Seq { get; }
    /// <summary>May be named in SACK blocks.</summary>
    bool Named { get; }
}

/// <summary>Buffer upkeep shared by <see cref="ReorderHold"/> and <see cref="CipherHold"/>.</summary>
internal static class HeldSegments
{
    /// <summary>
    /// Moves the held bytes together at the front of <paramref name="buffer"/> (taken entries leave holes behind):
    /// an insertion sort of the entries by offset (a hold has few, no allocation), then each slid down in order.
    /// Returns the bytes in use afterwards.
    /// </summary>
    public static int Compact<T>(Span<T> entries, byte[] buffer) where T : struct, IHeldSegment
    {
        for (int i = 1; i < entries.Length; i++)
        {
            T e = entries[i];
            int j = i - 1;
            while (j >= 0 && entries[j].Offset > e.Offset)
            {
                entries[j + 1] = entries[j];
                j--;
            }
            entries[j + 1] = e;
        }
        int at = 0;
        for (int i = 0; i < entries.Length; i++)
        {
            ref T e = ref entries[i];
            if (e.Offset != at)
                Buffer.BlockCopy(buffer, e.Offset, buffer, at, e.Length);
            e.Offset = at;
            at += e.Length;
        }
        return at;
    }

    /// <summary>
    /// SACK blocks (RFC 2018 §3: left, right edge pairs) for the named entries, at most <paramref name="maxBlocks"/>;
    /// returns how many edges were written. With <paramref name="from"/> only bytes at or after it are named. Entries
    /// that touch or overlap are merged into one block. <paramref name="extra"/> is one more named sequence number that
    /// holds no bytes (a FIN, RFC 9293 §3.4: it occupies one). RFC 2018 §4: the block holding <paramref name="latest"/>
    /// (the most recently received segment) comes first, the others follow from the highest down (a sender keeps what
    /// earlier ACKs told it, so the newest ranges are the ones it must hear of).
    /// </summary>
    public static int SackEdges<T>(ReadOnlySpan<T> entries, uint? from, uint latest, Span<uint> edges, int maxBlocks, uint? extra = null)
        where T : struct, IHeldSegment
    {
        int ranges = entries.Length + (extra is null ? 0 : 1);
        Span<uint> lefts = stackalloc uint[ranges];
        Span<uint> rights = stackalloc uint[ranges];
        int blocks = 0;
        while (blocks < ranges)
        {
            // The lowest named range at or after 'from', merged with every named range that touches it.
            bool found = false;
            uint left = 0, right = 0;
            for (int i = 0; i < ranges; i++)
            {
                if (!Range(entries, i, extra, out uint start, out uint end) || from is { } f0 && Seq.Le(end, f0))
                    continue;
                uint l = from is { } f1 ? Seq.Max(start, f1) : start;
                if (!found || Seq.Lt(l, left))
                {
                    left = l;
                    right = end;
                    found = true;
                }
            }
            if (!found)
                break;
            for (bool grew = true; grew;)
            {
                grew = false;
                for (int i = 0; i < ranges; i++)
                {
                    if (Range(entries, i, extra, out uint start, out uint end) && Seq.Le(start, right) && Seq.Gt(end, right))
                    {
                        right = end;
                        grew = true;
                    }
                }
            }
            lefts[blocks] = left;
            rights[blocks] = right;
            blocks++;
            from = right;
        }
        if (blocks == 0)
            return 0;
        int first = blocks - 1;
        for (int i = 0; i < blocks; i++)
        {
            if (Seq.Le(lefts[i], latest) && Seq.Lt(latest, rights[i]))
                first = i;
        }
        int written = 0;
        edges[written++] = lefts[first];
        edges[written++] = rights[first];
        for (int i = blocks - 1; i >= 0 && written / 2 < maxBlocks; i--)
        {
            if (i == first)
                continue;
            edges[written++] = lefts[i];
            edges[written++] = rights[i];
        }
        return written;
    }

    /// <summary>Range <paramref name="i"/> of <see cref="SackEdges"/>: an entry, or the extra sequence number last; false when not named.</summary>
    private static bool Range<T>(ReadOnlySpan<T> entries, int i, uint? extra, out uint start, out uint end)
        where T : struct, IHeldSegment
    {
        if (i == entries.Length)
        {
            start = extra.GetValueOrDefault();
            end = start + 1;
            return true;
        }
        ref readonly T e = ref entries[i];
        start = e.Seq;
        end = e.Seq + (uint)e.Length;
        return e.Named;
    }
}
