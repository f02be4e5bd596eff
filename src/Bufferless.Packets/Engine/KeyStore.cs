using System.Buffers.Binary;
using System.Security.Cryptography;
using Bufferless.Crypto.Aead;

namespace Bufferless.Packets.Engine;

/// <summary>
/// Record keys of established flows: raw key and IV bytes in one slab (88 bytes a flow), and a small
/// direct-mapped cache of keyed <see cref="RecordAead"/> objects (each holds an expanded key schedule, about
/// 600 bytes, so idle flows must not keep one). A busy flow stays in the cache; a miss re-keys from the slab.
/// The read direction's cache entry also carries the streaming <see cref="RecordOpener"/> of the record the flow
/// is decrypting (its GHASH/Poly1305 state lives there between segments). When another flow takes the entry, that
/// state is gone: <see cref="ResumeOpen"/> then returns null and the engine forgets the partial record (soft
/// state: the client sends it again, nothing of it was acknowledged).
/// </summary>
internal sealed class KeyStore : IDisposable
{
    public const int ReadDirection = 0;
    public const int WriteDirection = 1;
    private const int DirectionSize = 32 + 12;
    private const int SlotSize = 2 * DirectionSize;

    /// <summary>
    /// TLS 1.3 application traffic secrets kept for KeyUpdate (RFC 8446 §4.6.3): the client's and the engine's own.
    /// (Earlier client secrets a rewind may need live in a <see cref="ReadKeyHistory"/> only while needed.)
    /// </summary>
    private const int SecretSlot = 2 * TrafficKeyUpdate.MaxSecret;
    private const int ReadSecret = 0;
    private const int WriteSecret = TrafficKeyUpdate.MaxSecret;

    /// <summary>Slab bytes per flow (both directions' key and IV, the secrets), the algorithm and secret-length bytes and two key epochs.</summary>
    public const int BytesPerFlow = SlotSize + SecretSlot + 2 + 2 * sizeof(int);

    private readonly byte[] _secrets;
    private readonly byte[] _secretLengths;

    private readonly byte[] _slab;
    private readonly AeadAlgorithm[] _algorithms;
    private readonly CacheEntry[] _cache;
    private readonly int _mask;

    private struct CacheEntry
    {
        public int Owner; // handle * 2 + direction, -1 when empty
        public int Generation;
        /// <summary>Bumped by <see cref="SetDirection"/> (KeyUpdate): an entry keyed before is stale.</summary>
        public int Epoch;
        public RecordAead? Aead;
        public RecordOpener? Opener;
        /// <summary>The opener is inside a record (between Begin and Finish) for the owner.</summary>
        public bool Opening;
    }

    private readonly int[] _epochs;

    public KeyStore(int flows, int cacheSize)
    {
        _slab = GC.AllocateArray<byte>(flows * SlotSize, pinned: true);
        _algorithms = new AeadAlgorithm[flows];
        _secrets = GC.AllocateArray<byte>(flows * SecretSlot, pinned: true);
        _secretLengths = new byte[flows];
        _epochs = new int[flows * 2];
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
        _slab.AsSpan(handle * SlotSize, SlotSize).Clear();
        _algorithms[handle] = algorithm;
        SetDirection(handle, ReadDirection, readKey, readIv);
        SetDirection(handle, WriteDirection, writeKey, writeIv);
    }

    /// <summary>TLS 1.3: the application traffic secrets the keys came from, for later KeyUpdates.</summary>
    public void SetSecrets(int handle, ReadOnlySpan<byte> readSecret, ReadOnlySpan<byte> writeSecret)
    {
        Span<byte> slot = _secrets.AsSpan(handle * SecretSlot, SecretSlot);
        CryptographicOperations.ZeroMemory(slot);
        if (readSecret.Length is not (32 or 48) || writeSecret.Length != readSecret.Length)
        {
            _secretLengths[handle] = 0;
            return;
        }
        readSecret.CopyTo(slot[ReadSecret..]);
        writeSecret.CopyTo(slot[WriteSecret..]);
        _secretLengths[handle] = (byte)readSecret.Length;
    }

    /// <summary>True when the flow's secrets are kept (TLS 1.3), so its keys can be updated.</summary>
    public bool CanUpdate(int handle) => _secretLengths[handle] != 0;

    /// <summary>
    /// The client's KeyUpdate (RFC 8446 §4.6.3): its traffic secret moves on one generation and the read key and IV
    /// follow. The secret before is copied to <paramref name="previous"/> (for <see cref="RestoreRead"/>); returns its length.
    /// </summary>
    public int UpdateRead(int handle, Span<byte> previous)
    {
        Span<byte> slot = Secrets(handle, out int length);
        slot.Slice(ReadSecret, length).CopyTo(previous);
        Span<byte> next = stackalloc byte[TrafficKeyUpdate.MaxSecret];
        TrafficKeyUpdate.NextSecret(slot.Slice(ReadSecret, length), next);
        next[..length].CopyTo(slot[ReadSecret..]);
        CryptographicOperations.ZeroMemory(next);
        Rekey(handle, ReadDirection, slot.Slice(ReadSecret, length));
        return length;
    }

    /// <summary>Goes back to an earlier read secret (a rewind to before a client KeyUpdate record).</summary>
    public void RestoreRead(int handle, ReadOnlySpan<byte> secret)
    {
        Span<byte> slot = Secrets(handle, out int length);
        if (secret.Length != length)
            throw new ArgumentException("secret length differs from the flow's");
        secret.CopyTo(slot[ReadSecret..]);
        Rekey(handle, ReadDirection, slot.Slice(ReadSecret, length));
    }

    /// <summary>The engine's own KeyUpdate: the write secret moves on one generation, the write key and IV follow.</summary>
    public void UpdateWrite(int handle)
    {
        Span<byte> slot = Secrets(handle, out int length);
        Span<byte> next = stackalloc byte[TrafficKeyUpdate.MaxSecret];
        TrafficKeyUpdate.NextSecret(slot.Slice(WriteSecret, length), next);
        next[..length].CopyTo(slot[WriteSecret..]);
        CryptographicOperations.ZeroMemory(next);
        Rekey(handle, WriteDirection, slot.Slice(WriteSecret, length));
    }

    private Span<byte> Secrets(int handle, out int length)
    {
        length = _secretLengths[handle];
        if (length == 0)
            throw new InvalidOperationException("no traffic secrets for this flow (TLS 1.2)");
        return _secrets.AsSpan(handle * SecretSlot, SecretSlot);
    }

    private void Rekey(int handle, int direction, ReadOnlySpan<byte> secret)
    {
        Span<byte> key = stackalloc byte[32];
        Span<byte> iv = stackalloc byte[12];
        int keyLength = _algorithms[handle].KeySize();
        TrafficKeyUpdate.DeriveKeyAndIv(secret, key[..keyLength], iv);
        SetDirection(handle, direction, key[..keyLength], iv);
        CryptographicOperations.ZeroMemory(key);
        CryptographicOperations.ZeroMemory(iv);
    }

    /// <summary>Replaces one direction's key and IV (RFC 8446 §4.6.3 KeyUpdate); its cached AEAD is dropped.</summary>
    public void SetDirection(int handle, int direction, ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv)
    {
        Span<byte> slot = _slab.AsSpan(handle * SlotSize + direction * DirectionSize, DirectionSize);
        CryptographicOperations.ZeroMemory(slot);
        key.CopyTo(slot);
        iv.CopyTo(slot[32..]);
        _epochs[handle * 2 + direction]++;
        Drop(handle * 2 + direction);
    }

    /// <summary>How many times keys were installed for this flow and direction (tells key generations apart).</summary>
    public int Epoch(int handle, int direction) => _epochs[handle * 2 + direction];

    public ReadOnlySpan<byte> Iv(int handle, int direction) => _slab.AsSpan(handle * SlotSize + direction * DirectionSize + 32, 12);

    /// <summary>RFC 8446 §5.3 (and RFC 7905 §2 for TLS 1.2 ChaCha20): IV XOR record number.</summary>
    public void Nonce(int handle, int direction, ulong recordNumber, Span<byte> nonce) =>
        RecordNonce.Compute(Iv(handle, direction), recordNumber, nonce);

    /// <summary>RFC 5288 §3 (TLS 1.2 AES-GCM): the 4-byte salt followed by the record's 8-byte explicit nonce.</summary>
    public void SaltNonce(int handle, int direction, ulong explicitNonce, Span<byte> nonce)
    {
        Iv(handle, direction)[..4].CopyTo(nonce);
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], explicitNonce);
    }

    /// <summary>The keyed AEAD for a flow and direction (allocates only on a cache miss).</summary>
    public RecordAead Get(int handle, int generation, int direction) => Entry(handle, generation, direction).Aead!;

    private ref CacheEntry Entry(int handle, int generation, int direction)
    {
        int owner = handle * 2 + direction;
        int epoch = _epochs[owner];
        ref CacheEntry e = ref _cache[(uint)HashOwner(owner) & _mask];
        if (e.Owner == owner && e.Generation == generation && e.Epoch == epoch && e.Aead is not null)
            return ref e;
        CacheMisses++;
        e.Opener?.Dispose();
        e.Opener = null;
        e.Opening = false;
        e.Aead?.Dispose();
        AeadAlgorithm algorithm = _algorithms[handle];
        ReadOnlySpan<byte> key = _slab.AsSpan(handle * SlotSize + direction * DirectionSize, algorithm.KeySize());
        e.Aead = RecordAead.Create(algorithm, key);
        e.Owner = owner;
        e.Generation = generation;
        e.Epoch = epoch;
        return ref e;
    }

    /// <summary>Starts streaming decryption of a record in the read direction (RecordOpener.Begin).</summary>
    public RecordOpener BeginOpen(int handle, int generation, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, int ciphertextLength)
    {
        ref CacheEntry e = ref Entry(handle, generation, ReadDirection);
        e.Opener ??= e.Aead!.CreateOpener();
        e.Opener.Begin(nonce, aad, ciphertextLength);
        e.Opening = true;
        return e.Opener;
    }

    /// <summary>The opener of the record this flow is decrypting, or null when another flow took the cache entry.</summary>
    public RecordOpener? ResumeOpen(int handle, int generation)
    {
        int owner = handle * 2 + ReadDirection;
        ref CacheEntry e = ref _cache[(uint)HashOwner(owner) & _mask];
        if (e.Owner != owner || e.Generation != generation || e.Epoch != _epochs[owner] || !e.Opening)
            return null;
        return e.Opener;
    }

    /// <summary>The record ended (checked, failed or forgotten): the opener is free for the next one.</summary>
    public void EndOpen(int handle)
    {
        int owner = handle * 2 + ReadDirection;
        ref CacheEntry e = ref _cache[(uint)HashOwner(owner) & _mask];
        if (e.Owner == owner)
            e.Opening = false;
    }

    private static int HashOwner(int owner) => (int)((uint)owner * 0x9E3779B1u >> 7) ^ owner;

    /// <summary>Zeroes a flow's keys and drops its cached AEADs.</summary>
    public void Clear(int handle)
    {
        CryptographicOperations.ZeroMemory(_slab.AsSpan(handle * SlotSize, SlotSize));
        CryptographicOperations.ZeroMemory(_secrets.AsSpan(handle * SecretSlot, SecretSlot));
        _secretLengths[handle] = 0;
        Drop(handle * 2);
        Drop(handle * 2 + 1);
    }

    private void Drop(int owner)
    {
        ref CacheEntry e = ref _cache[(uint)HashOwner(owner) & _mask];
        if (e.Owner != owner)
            return;
        e.Opener?.Dispose();
        e.Opener = null;
        e.Opening = false;
        e.Aead?.Dispose();
        e.Aead = null;
        e.Owner = -1;
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_slab);
        CryptographicOperations.ZeroMemory(_secrets);
        for (int i = 0; i < _cache.Length; i++)
        {
            _cache[i].Opener?.Dispose();
            _cache[i].Opener = null;
            _cache[i].Aead?.Dispose();
            _cache[i].Aead = null;
        }
    }
}
