namespace Bufferless.Packets.Flows;

/// <summary>
/// A fixed-size table of <see cref="Flow"/> structs addressed by int handles, with a keyed hash index
/// (DESIGN.md invariant 4: the table never grows; when it is full new flows are refused). Single-threaded.
/// </summary>
internal sealed class FlowTable
{
    private readonly Flow[] _flows;
    private readonly int[] _buckets;
    private readonly int _bucketMask;
    private readonly ulong _seed;
    private int _freeHead;

    public FlowTable(int capacity, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _flows = new Flow[capacity];
        int buckets = (int)Math.Min(1u << 30, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity * 2));
        _buckets = new int[buckets];
        _bucketMask = buckets - 1;
        _seed = seed;
        Array.Fill(_buckets, -1);
        for (int i = 0; i < capacity; i++)
            _flows[i].Next = i + 1 < capacity ? i + 1 : -1;
        _freeHead = 0;
    }

    public int Capacity => _flows.Length;
    public int Count { get; private set; }

    public ref Flow this[int handle] => ref _flows[handle];

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public int Find(in FlowKey key)
    {
        int h = _buckets[key.Hash(_seed) & _bucketMask];
        while (h >= 0)
        {
            ref Flow f = ref _flows[h];
            if (f.Key == key)
                return h;
            h = f.Next;
        }
        return -1;
    }

    /// <summary>Takes a free slot for <paramref name="key"/> (zeroed, state <see cref="FlowState.Free"/>); -1 when full.</summary>
    public int Add(in FlowKey key)
    {
        int h = _freeHead;
        if (h < 0)
            return -1;
        ref Flow f = ref _flows[h];
        _freeHead = f.Next;
        int generation = f.Generation;
        f = default;
        f.Generation = generation;
        f.Key = key;
        f.TimerDeadline = long.MaxValue;
        f.RetransmitDeadline = long.MaxValue;
        ref int bucket = ref _buckets[key.Hash(_seed) & _bucketMask];
        f.Next = bucket;
        bucket = h;
        Count++;
        return h;
    }

    public void Remove(int handle)
    {
        ref Flow f = ref _flows[handle];
        ref int link = ref _buckets[f.Key.Hash(_seed) & _bucketMask];
        while (link >= 0 && link != handle)
            link = ref _flows[link].Next;
        if (link != handle)
            throw new InvalidOperationException("flow not in the table");
        link = f.Next;
        int generation = f.Generation + 1;
        f = default;
        f.Generation = generation;
        f.Next = _freeHead;
        _freeHead = handle;
        Count--;
    }

    public bool IsLive(int handle) => _flows[handle].State != FlowState.Free;
}
