namespace Bufferless.Packets.Flows;

/// <summary>Where a flow is in its life (direct mode).</summary>
public enum FlowState : byte
{
    Free,
    /// <summary>The client's SYN passed to the server.</summary>
    SynSeen,
    /// <summary>The server's SYN-ACK passed to the client.</summary>
    SynAckSeen,
    /// <summary>TCP is up; the engine is the TLS server (it owns the handshake bytes).</summary>
    Handshake,
    /// <summary>Cut-through: records decrypted and encrypted packet by packet.</summary>
    Established,
    /// <summary>Reset or failed: kept briefly so stray packets are recognised, then freed.</summary>
    Closed,
}

[Flags]
internal enum FlowFlags : ushort
{
    None = 0,
    Timestamps = 1,
    ClientFin = 2,
    ServerFin = 4,
    /// <summary>The client's close_notify arrived (RFC 8446 §6.1); later client records are an error.</summary>
    ClientCloseNotify = 8,
    /// <summary>The client's ACK completing the three-way handshake reached the server.</summary>
    TcpEstablished = 16,
    /// <summary>Client records spanning segments were forwarded before their tag checked (bufferless mode).</summary>
    PartialReleased = 32,
    /// <summary>The handshake chose TLS 1.2: records carry their real type, no inner type, AAD with the sequence number.</summary>
    Tls12 = 64,
    /// <summary>The engine owes the client a KeyUpdate (asked for, or its write key neared the record limit).</summary>
    KeyUpdatePending = 256,
    /// <summary>The engine's KeyUpdate record (<see cref="Flow.OwnBytes"/>) is not acknowledged yet: it is retransmitted.</summary>
    OwnBytesUnacked = 512,
    /// <summary>A client timestamp was recorded (<see cref="Flow.ClientTsVal"/> holds a real value).</summary>
    ClientTsSeen = 1024,
    /// <summary>A server timestamp was recorded (<see cref="Flow.ServerTsVal"/> holds a real value).</summary>
    ServerTsSeen = 2048,
    /// <summary>The client offered SACK and the engine granted it (towards the client only; the server never sees it).</summary>
    ClientSack = 4096,
    /// <summary>The server granted the SACK-permitted the engine passed on: the engine SACKs the server segments it holds.</summary>
    ServerSack = 8192,
    /// <summary>
    /// Bufferless mode: the client was acknowledged inside the record being assembled (up to what the server acknowledged
    /// of it), so the client will not send its start again: the record's running MAC state is hard state (losing it resets
    /// the flow, <see cref="Flow.ClientAckSent"/>).
    /// </summary>
    RecordPartAcked = 16384,
    /// <summary>Bufferless mode: the client resent its head after a timeout while the server lagged; the part ACK waits for the server.</summary>
    PartAckWanted = 32768,
}

/// <summary>A TLS 1.3 KeyUpdate record as the engine sealed it: header, 4-byte message + inner type, 16-byte tag.</summary>
[System.Runtime.CompilerServices.InlineArray(Length)]
internal struct OwnRecordBytes
{
    public const int Length = 5 + 4 + 1 + 1 + 16;
    private byte _first;
}

/// <summary>
/// One flow's state, a plain struct in the engine's preallocated slab (no references, so the GC never scans the
/// table). Sequence numbers are raw 32-bit values compared with <see cref="Seq"/>. Naming: <c>C</c> is the
/// client's sequence space (ciphertext), <c>S</c> the server's (plaintext); <c>C2s</c> fields follow the client's
/// stream towards the server, <c>S2c</c> fields the server's stream towards the client.
/// </summary>
internal struct Flow
{
    public FlowKey Key;
    /// <summary>Next slot in the hash chain or free list, as handle + 1 (0: none); owned by <see cref="FlowTable"/>.</summary>
    public int Next;
    /// <summary>Bumped whenever the slot is freed, so stale timers and handles are recognised.</summary>
    public int Generation;
    public FlowState State;
    public FlowFlags Flags;

    // ---- TCP parameters from the SYN and SYN-ACK ----
    public ushort ClientMss;
    /// <summary>Bytes a record adds to its content (22 TLS 1.3, 29 TLS 1.2 AES-GCM, 21 TLS 1.2 ChaCha20).</summary>
    public byte Overhead;
    public ushort ServerMss;
    /// <summary>Window scale shift the client's windows use (0 when not negotiated).</summary>
    public byte ClientWScale;
    public byte ServerWScale;
    public uint ClientIsn;
    public uint ServerIsn;
    /// <summary>Latest TSval seen from each side (RFC 7323 §5: the engine's own segments carry the server's, for PAWS).</summary>
    public uint ClientTsVal;
    public uint ServerTsVal;
    /// <summary>Latest TSecr seen from each side.</summary>
    public uint ClientTsEcr;
    public uint ServerTsEcr;
    /// <summary>End (C space) of the client's close_notify record, once seen.</summary>
    public uint C2sCloseNotifyEnd;

    // ---- client to server ----
    /// <summary>Next client byte (C space) the assembler expects.</summary>
    public uint C2sNextC;
    /// <summary>Next server-side byte (S space) the plaintext will take.</summary>
    public uint C2sNextS;
    /// <summary>Record number of the record at <see cref="C2sNextC"/> (or the one being assembled).</summary>
    public ulong C2sRecord;
    /// <summary>C-space start of the record being assembled.</summary>
    public uint C2sRecordStartC;
    /// <summary>S-space start of the record being assembled.</summary>
    public uint C2sRecordStartS;
    /// <summary>Highest S-space byte ever sent to the server (+1): after a rewind the server's ACKs may be ahead of <see cref="C2sNextS"/>.</summary>
    public uint C2sHighS;
    /// <summary>Plaintext of the current record already forwarded (bufferless mode).</summary>
    public int C2sReleased;
    /// <summary>
    /// Bufferless mode: plaintext of the current record decrypted but held back (DESIGN.md §6): the byte that may be
    /// the TLS 1.3 inner content type and the zeros after it, or the first few bytes of a record too short yet to
    /// be told from a control record. The first 8 are kept here; any held byte beyond them is zero.
    /// </summary>
    public ulong C2sTail;
    public ushort C2sTailLength;
    public RecordAssembler Assembler;
    /// <summary>End of the highest client bytes ever seen (C space): a segment beyond it is new, not a retransmission.</summary>
    public uint C2sHighC;
    /// <summary>Latest ACK from the server (S space of the client's stream) and its window in bytes.</summary>
    public uint ServerAck;
    public uint ServerWindow;
    /// <summary>The ACK last sent to the client (C space): never beyond what the server acknowledged (invariant 1).</summary>
    public uint ClientAckSent;
    /// <summary>
    /// Bufferless mode, after a part ACK (<see cref="FlowFlags.RecordPartAcked"/>): the plaintext forwarded since, kept
    /// until the server acknowledges it, starts here in S space and is this long (the client will not send it again).
    /// </summary>
    public uint C2sCopyStartS;
    public ushort C2sCopyLength;

    // ---- server to client ----
    public uint S2cNextS;
    public uint S2cNextC;
    public ulong S2cRecord;
    /// <summary>
    /// Bytes the engine itself sent into the client's stream after the handshake (its KeyUpdate record, DESIGN.md §6:
    /// kept until acknowledged): where they start in C space, how many, and the sealed bytes.
    /// </summary>
    /// <summary>Server-space start of the record whose retransmitted pieces are being collected, and how many bytes of it are in.</summary>
    public uint S2cPartialA;
    /// <summary>Server bytes held from <see cref="S2cNextS"/> on because the client's window is full.</summary>
    public ushort S2cHoldLength;
    public ushort S2cPartialFill;
    public uint S2cOwnStart;
    public byte S2cOwnLength;
    public OwnRecordBytes OwnBytes;
    /// <summary>Latest ACK from the client (C space of the server's stream) and its window in bytes.</summary>
    public uint ClientAck;
    public uint ClientWindow;

    // ---- time ----
    public long LastActivityMs;
    /// <summary>When plaintext last went to the server (a rewind waits until the server had time to acknowledge it).</summary>
    public long C2sLastForwardMs;
    /// <summary>The deadline this flow has in the timer queue (long.MaxValue: none).</summary>
    public long TimerDeadline;
    /// <summary>Retransmission deadline for the engine's own bytes (handshake flight), or long.MaxValue.</summary>
    public long RetransmitDeadline;
    public int RetransmitTimeoutMs;
    public byte Retransmissions;

    public readonly bool Has(FlowFlags flag) => (Flags & flag) != 0;
}
