namespace Bufferless.Packets.Engine;

/// <summary>
/// Test hook: the simulator watches what the engine seals and releases to prove the invariants from outside
/// the packets (DESIGN.md §3). Null in production; every call site is a single null check.
/// </summary>
internal interface IEngineObserver
{
    /// <summary>
    /// A record towards the client was sealed under <paramref name="recordNumber"/> (new or retransmitted) with the
    /// write key of generation <paramref name="keyEpoch"/> (record numbers restart with each KeyUpdate).
    /// </summary>
    void OnSeal(int flow, int keyEpoch, ulong recordNumber, byte contentType, ReadOnlySpan<byte> content);

    /// <summary>Plaintext of a client record went to the server; <paramref name="final"/> for the record's last piece.</summary>
    void OnRelease(int flow, ulong recordNumber, bool final, bool tagChecked);
}
