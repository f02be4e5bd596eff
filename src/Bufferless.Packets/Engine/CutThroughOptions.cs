using Bufferless.Tls;

namespace Bufferless.Packets.Engine;

/// <summary>How client records reach the server (DESIGN.md invariant 3).</summary>
public enum CutThroughMode
{
    /// <summary>Default: no plaintext of a record reaches the server before its tag checks (one record held per flow).</summary>
    Verified,
    /// <summary>The patent's trade-off: earlier segments of a record go on unauthenticated; the final one only after the tag checks.</summary>
    Bufferless,
}

/// <summary>Configuration of a <see cref="CutThroughEngine"/> in direct mode (patent Fig. 5).</summary>
public sealed class CutThroughOptions
{
    public required TlsServerConfig TlsConfig { get; init; }
    public CutThroughMode Mode { get; init; } = CutThroughMode.Verified;
    public ushort TlsPort { get; init; } = 443;
    public ushort PlainPort { get; init; } = 80;

    /// <summary>Flows the table holds (preallocated); new SYNs beyond it are dropped and counted.</summary>
    public int MaxFlows { get; init; } = 65536;

    /// <summary>An established flow with no packet for this long is forgotten (both ends get a RST).</summary>
    public int IdleTimeoutMs { get; init; } = 300_000;

    /// <summary>A flow still in the TCP or TLS handshake for this long since its last packet is forgotten.</summary>
    public int HandshakeTimeoutMs { get; init; } = 10_000;

    /// <summary>After both FINs, or after a reset, the flow is kept this long for stray retransmissions.</summary>
    public int ClosingTimeoutMs { get; init; } = 10_000;

    /// <summary>First retransmission timeout for the engine's own bytes (the handshake flight); doubles per retry.</summary>
    public int InitialRetransmitTimeoutMs { get; init; } = 250;
    public int MaxRetransmissions { get; init; } = 6;

    /// <summary>
    /// A client retransmission of the oldest record the server has not acknowledged makes the engine process it
    /// again only if nothing went to the server for this long (it was then lost on the way to the server);
    /// sooner, it is a duplicate, and rewinding would throw away the record being assembled.
    /// </summary>
    public int RewindHoldoffMs { get; init; } = 200;

    /// <summary>Bytes all flows together may hold for records in flight (verified mode holds one record per flow).</summary>
    public long GlobalHoldBudgetBytes { get; init; } = 64L << 20;

    /// <summary>
    /// Server bytes a flow may hold while the client's window is full (the patent's small-window case), within the
    /// global budget; beyond it server data is not acknowledged and comes again. 0 disables holding.
    /// </summary>
    public int WindowHoldBytes { get; init; } = 8192;

    /// <summary>Records in flight per flow and direction (the sequence map's capacity; a power of two).</summary>
    public int MaxRecordsInFlight { get; init; } = 2048;

    /// <summary>Keyed AEAD objects cached (direct-mapped by flow handle); idle flows keep only raw keys.</summary>
    public int AeadCacheSize { get; init; } = 1024;

    /// <summary>
    /// The engine updates its own write key (TLS 1.3 KeyUpdate) after sealing this many records under one key. RFC 8446
    /// §5.5: AES-GCM may protect at most 2^24.5 full-size records per key; the default stays below. Tests set it low.
    /// </summary>
    public long KeyUpdateAfterRecords { get; init; } = 1L << 24;

    /// <summary>Key for the flow hash (random by default, so a flood cannot target one bucket).</summary>
    public ulong? HashSeed { get; init; }
}
