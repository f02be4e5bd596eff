namespace Bufferless.Packets.Flows;

/// <summary>
/// A fixed-size table of <see cref="Flow"/> structs addressed by int handles, with a keyed hash index
/// (DESIGN.md invariant 4: the table never grows; when it is full new flows are refused). Single-threaded.
/// </summary>
internal sealed class FlowTable
{
    // Links (bucket heads, Flow.Next, the free list) hold handle + 1, so 0 means "none" and a fresh table needs no
    // initialising pass: slots at or past the high-water mark have never been used and their pages are never touched,
    // so a table sized for 65,536 flows costs resident memory only for the flows it has actually held.
    private readonly Flow[] _flows;
    private readonly int[] _buckets;
    private readonly int _bucketMask;
    private readonly ulong _seed;
    private int _freeHead;
    private int _highWater;

    public FlowTable(int capacity, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _flows = new Flow[capacity];
        int buckets = (int)Math.Min(1u << 30, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity * 2));
        _buckets = new int[buckets];
        _bucketMask = buckets - 1;
        _seed = seed;
    }

    public int Capacity => _flows.Length;
    public int Count { get; private set; }

    /// <summary>Slots handed out at least once; slots at or beyond it are untouched (<see cref="FlowState.Free"/>).</summary>
    public int HighWater => _highWater;

    public ref Flow this[int handle] => ref _flows[handle];

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public int Find(in FlowKey key)
    {
        int h = _buckets[key.Hash(_seed) & _bucketMask] - 1;
        while (h >= 0)
        {
            ref Flow f = ref _flows[h];
            if (f.Key == key)
                return h;
            h = f.Next - 1;
        }
        return -1;
    }

    /// <summary>Takes a free slot for <paramref name="key"/> (zeroed, state <see cref="FlowState.Free"/>); -1 when full.
    /// Freed slots are reused first; a fresh slot is taken only when none is free.</summary>
    public int Add(in FlowKey key)
    {
        int h;
        if (_freeHead != 0)
        {
            h = _freeHead - 1;
            _freeHead = _flows[h].Next;
        }
        else if (_highWater < _flows.Length)
        {
            h = _highWater++;
        }
        else
        {
            return -1;
        }
        ref Flow f = ref _flows[h];
        int generation = f.Generation;
        f = default;
        f.Generation = generation;
        f.Key = key;
        f.TimerDeadline = long.MaxValue;
        f.RetransmitDeadline = long.MaxValue;
        ref int bucket = ref _buckets[key.Hash(_seed) & _bucketMask];
        f.Next = bucket;
        bucket = h + 1;
        Count++;
        return h;
    }

    public void Remove(int handle)
    {
        ref Flow f = ref _flows[handle];
        ref int link = ref _buckets[f.Key.Hash(_seed) & _bucketMask];
        while (link != 0 && link != handle + 1)
            link = ref _flows[link - 1].Next;
        if (link != handle + 1)
            throw new InvalidOperationException("flow not in the table");
        link = f.Next;
        int generation = f.Generation + 1;
        f = default;
        f.Generation = generation;
        f.Next = _freeHead;
        _freeHead = handle + 1;
        Count--;
    }

    public bool IsLive(int handle) => _flows[handle].State != FlowState.Free;
}
