namespace Bufferless.Packets.Timers;

/// <summary>
/// A preallocated binary min-heap of (deadline, flow handle) pairs. No clock inside: callers pass <c>now</c>.
/// An entry fires once <c>now</c> is strictly past its deadline: at the deadline nothing fires, one tick later
/// it fires once. Entries are never removed early; the owner recognises stale ones (the flow moved its
/// deadline or was reused) when they pop, which keeps re-arming O(1) on the packet path.
/// </summary>
internal sealed class TimerQueue
{
    private struct Entry
    {
        public long Deadline;
        public int Handle;
    }

    private readonly Entry[] _heap;
    private readonly Func<int, long, bool> _isLive;

    /// <param name="capacity">Maximum entries (live and stale).</param>
    /// <param name="isLive">Says whether (handle, deadline) is still wanted; used to drop stale entries when full.</param>
    public TimerQueue(int capacity, Func<int, long, bool> isLive)
    {
        _heap = new Entry[capacity];
        _isLive = isLive;
    }

    public int Count { get; private set; }

    /// <summary>The earliest deadline in the queue (possibly stale), or long.MaxValue.</summary>
    public long EarliestDeadline => Count == 0 ? long.MaxValue : _heap[0].Deadline;

    public void Schedule(long deadline, int handle)
    {
        if (Count == _heap.Length)
        {
            Compact();
            if (Count == _heap.Length)
                throw new InvalidOperationException("timer queue full of live entries (capacity too small for the flow table)");
        }
        int i = Count++;
        _heap[i] = new Entry { Deadline = deadline, Handle = handle };
        SiftUp(i);
    }

    /// <summary>Pops the earliest entry whose deadline is strictly before <paramref name="now"/>.</summary>
    public bool TryPopDue(long now, out int handle, out long deadline)
    {
        if (Count == 0 || _heap[0].Deadline >= now)
        {
            handle = -1;
            deadline = 0;
            return false;
        }
        handle = _heap[0].Handle;
        deadline = _heap[0].Deadline;
        RemoveTop();
        return true;
    }

    private void RemoveTop()
    {
        Count--;
        if (Count > 0)
        {
            _heap[0] = _heap[Count];
            SiftDown(0);
        }
    }

    /// <summary>Drops stale entries and rebuilds the heap (only when full: amortised O(1)).</summary>
    private void Compact()
    {
        int kept = 0;
        for (int i = 0; i < Count; i++)
        {
            if (_isLive(_heap[i].Handle, _heap[i].Deadline))
                _heap[kept++] = _heap[i];
        }
        Count = kept;
        for (int i = Count / 2 - 1; i >= 0; i--)
            SiftDown(i);
    }

    private void SiftUp(int i)
    {
        Entry e = _heap[i];
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (_heap[parent].Deadline <= e.Deadline)
                break;
            _heap[i] = _heap[parent];
            i = parent;
        }
        _heap[i] = e;
    }

    private void SiftDown(int i)
    {
        Entry e = _heap[i];
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= Count)
                break;
            if (child + 1 < Count && _heap[child + 1].Deadline < _heap[child].Deadline)
                child++;
            if (_heap[child].Deadline >= e.Deadline)
                break;
            _heap[i] = _heap[child];
            i = child;
        }
        _heap[i] = e;
    }
}
