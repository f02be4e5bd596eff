using System.Security.Cryptography;
using Bufferless.Crypto.Aead;

namespace Bufferless.Packets.Engine;

/// <summary>
/// Record keys of established flows: raw key and IV bytes in one slab (88 bytes a flow), and a small
/// direct-mapped cache of keyed <see cref="RecordAead"/> objects (each holds an expanded key schedule, about
/// 600 bytes, so idle flows must not keep one). A busy flow stays in the cache; a miss re-keys from the slab.
/// </summary>
internal sealed class KeyStore : IDisposable
{
    public const int ReadDirection = 0;
    public const int WriteDirection = 1;
    private const int DirectionSize = 32 + 12;
    private const int SlotSize = 2 * DirectionSize;

    /// <summary>Slab bytes per flow (both directions' key and IV).</summary>
    public const int BytesPerFlow = SlotSize + 1;

    private readonly byte[] _slab;
    private readonly AeadAlgorithm[] _algorithms;
    private readonly CacheEntry[] _cache;
    private readonly int _mask;

    private struct CacheEntry
    {
        public int Owner; // handle * 2 + direction, -1 when empty
        public int Generation;
        public RecordAead? Aead;
    }

    public KeyStore(int flows, int cacheSize)
    {
        _slab = GC.AllocateArray<byte>(flows * SlotSize, pinned: true);
        _algorithms = new AeadAlgorithm[flows];
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, cacheSize));
        _cache = new CacheEntry[size];
        _mask = size - 1;
        for (int i = 0; i < size; i++)
            _cache[i].Owner = -1;
    }

    public long CacheMisses { get; private set; }

    public void Set(int handle, AeadAlgorithm algorithm, ReadOnlySpan<byte> readKey, ReadOnlySpan<byte> readIv,
        ReadOnlySpan<byte> writeKey, ReadOnlySpan<byte> writeIv)
    {
        Span<byte> slot = _slab.AsSpan(handle * SlotSize, SlotSize);
        slot.Clear();
        readKey.CopyTo(slot);
        readIv.CopyTo(slot[32..]);
        writeKey.CopyTo(slot[DirectionSize..]);
        writeIv.CopyTo(slot[(DirectionSize + 32)..]);
        _algorithms[handle] = algorithm;
    }

    public ReadOnlySpan<byte> Iv(int handle, int direction) => _slab.AsSpan(handle * SlotSize + direction * DirectionSize + 32, 12);

    public void Nonce(int handle, int direction, ulong recordNumber, Span<byte> nonce) =>
        RecordNonce.Compute(Iv(handle, direction), recordNumber, nonce);

    /// <summary>The keyed AEAD for a flow and direction (allocates only on a cache miss).</summary>
    public RecordAead Get(int handle, int generation, int direction)
    {
        int owner = handle * 2 + direction;
        ref CacheEntry e = ref _cache[(uint)HashOwner(owner) & _mask];
        if (e.Owner == owner && e.Generation == generation && e.Aead is not null)
            return e.Aead;
        CacheMisses++;
        e.Aead?.Dispose();
        AeadAlgorithm algorithm = _algorithms[handle];
        ReadOnlySpan<byte> key = _slab.AsSpan(handle * SlotSize + direction * DirectionSize, algorithm.KeySize());
        e.Aead = RecordAead.Create(algorithm, key);
        e.Owner = owner;
        e.Generation = generation;
        return e.Aead;
    }

    private static int HashOwner(int owner) => (int)((uint)owner * 0x9E3779B1u >> 7) ^ owner;

    /// <summary>Zeroes a flow's keys and drops its cached AEADs.</summary>
    public void Clear(int handle)
    {
        CryptographicOperations.ZeroMemory(_slab.AsSpan(handle * SlotSize, SlotSize));
        for (int d = 0; d < 2; d++)
        {
            int owner = handle * 2 + d;
            ref CacheEntry e = ref _cache[(uint)HashOwner(owner) & _mask];
            if (e.Owner != owner)
                continue;
            e.Aead?.Dispose();
            e.Aead = null;
            e.Owner = -1;
        }
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_slab);
        for (int i = 0; i < _cache.Length; i++)
        {
            _cache[i].Aead?.Dispose();
            _cache[i].Aead = null;
        }
    }
}
