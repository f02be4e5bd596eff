using System.Security.Cryptography;
using Bufferless.Packets.Flows;

namespace Bufferless.Packets.Engine;

/// <summary>
/// The client's earlier read secrets while its KeyUpdate records are still in the client-to-server map (RFC 8446
/// §4.6.3). The engine may have to process client records again after the server lost their plaintext (a rewind);
/// records before a KeyUpdate were sealed under the secret before it, so each KeyUpdate in flight keeps that secret
/// here, with the record's start in the client's sequence space. Entries leave as the server's ACKs pass the
/// KeyUpdate (then no rewind reaches before it); the object goes back to the engine's pool when empty. Bounded
/// (invariant 4): a client sending more KeyUpdates than fit before the server acknowledges waits (see the engine).
/// </summary>
internal sealed class ReadKeyHistory
{
    public const int Capacity = 16;

    private readonly uint[] _starts = new uint[Capacity];
    private readonly byte[] _secrets = GC.AllocateArray<byte>(Capacity * TrafficKeyUpdate.MaxSecret, pinned: true);
    private readonly byte[] _lengths = new byte[Capacity];

    public int Count { get; private set; }
    public bool IsFull => Count == Capacity;

    /// <summary>Records the secret in force before the KeyUpdate record starting at <paramref name="keyUpdateStart"/>.</summary>
    public void Push(uint keyUpdateStart, ReadOnlySpan<byte> previousSecret)
    {
        if (IsFull)
            throw new InvalidOperationException("read key history full");
        _starts[Count] = keyUpdateStart;
        _lengths[Count] = (byte)previousSecret.Length;
        previousSecret.CopyTo(_secrets.AsSpan(Count * TrafficKeyUpdate.MaxSecret));
        Count++;
    }

    /// <summary>Forgets KeyUpdates that start before <paramref name="oldestInMap"/> (null: the map is empty).</summary>
    public void DropPassed(uint? oldestInMap)
    {
        // Entries are in stream order: passed ones are at the front.
        int drop = 0;
        while (drop < Count && (oldestInMap is not uint f || Seq.Lt(_starts[drop], f)))
            drop++;
        if (drop == 0)
            return;
        int left = Count - drop;
        Array.Copy(_starts, drop, _starts, 0, left);
        Array.Copy(_lengths, drop, _lengths, 0, left);
        _secrets.AsSpan(drop * TrafficKeyUpdate.MaxSecret, left * TrafficKeyUpdate.MaxSecret).CopyTo(_secrets);
        CryptographicOperations.ZeroMemory(_secrets.AsSpan(left * TrafficKeyUpdate.MaxSecret));
        Count = left;
    }

    /// <summary>
    /// A rewind to <paramref name="c"/>: when a KeyUpdate at or after it is in the history, the secret before the first
    /// such one is copied to <paramref name="secret"/> (its length returned) and that entry and all later ones are
    /// dropped (they will be pushed again as the records are processed again). Returns 0 when no key change is needed.
    /// </summary>
    public int TakeForRewind(uint c, Span<byte> secret)
    {
        for (int i = 0; i < Count; i++)
        {
            if (Seq.Lt(_starts[i], c))
                continue;
            int length = _lengths[i];
            _secrets.AsSpan(i * TrafficKeyUpdate.MaxSecret, length).CopyTo(secret);
            CryptographicOperations.ZeroMemory(_secrets.AsSpan(i * TrafficKeyUpdate.MaxSecret));
            Count = i;
            return length;
        }
        return 0;
    }

    public void Clear()
    {
        CryptographicOperations.ZeroMemory(_secrets);
        Count = 0;
    }
}
