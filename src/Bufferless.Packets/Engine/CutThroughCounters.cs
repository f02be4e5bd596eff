using System.Text;

namespace Bufferless.Packets.Engine;

/// <summary>Why a packet was dropped.</summary>
public enum DropReason
{
    Malformed,
    NotOurs,
    NoFlow,
    TableFull,
    OutOfOrder,
    Duplicate,
    ServerGap,
    PartialRetransmission,
    MapFull,
    HoldBudget,
    FlowClosed,
    UnexpectedInState,
    InternalError,
    /// <summary>A record's MAC state was lost when another flow took its AEAD cache entry (the record comes again).</summary>
    KeyCacheEvicted,
    /// <summary>A client KeyUpdate arrived while the previous one was still ahead of the server's ACK (the client resends it).</summary>
    KeyUpdateBusy,
    /// <summary>Server data beyond what the client's window and the bounded hold take (the server sends it again).</summary>
    ClientWindowFull,
    /// <summary>A valid IP packet that is not TCP (or not one the engine parses: IPv6 extension headers), e.g. ICMPv6.</summary>
    NotTcp,
}

/// <summary>
/// Engine counters, readable at any time (plain fields written by the engine thread; readers on other threads see
/// values that may lag by a packet, which is fine for logs and status pages).
/// </summary>
public sealed class CutThroughCounters
{
    private readonly long[] _drops = new long[Enum.GetValues<DropReason>().Length];
    internal readonly long[] FlowsInState = new long[6];

    public long PacketsIn;
    /// <summary>Server-port packets of flows the engine does not translate, sent on unchanged.</summary>
    public long PassedThrough;
    public long PacketsOut;
    public long FlowsCreated;
    public long HandshakesCompleted;
    public long HandshakesFailed;
    public long RecordsDecrypted;
    public long RecordsEncrypted;
    public long BytesClientToServer;
    public long BytesServerToClient;
    public long TagFailures;
    public long RetransmissionsReEncrypted;
    public long HandshakeRetransmissions;
    public long RetransmissionMismatches;
    public long ResetsFromClient;
    public long ResetsFromServer;
    /// <summary>Server segments for a flow the engine had closed, answered with an RST at their ACK number.</summary>
    public long ResetsToClosedServer;
    /// <summary>Established flows with no packet for the idle timeout (both ends got an RST).</summary>
    public long FlowsExpiredIdle;
    /// <summary>Established flows that saw both FINs and lingered out the closing timeout (a normal end, not idleness).</summary>
    public long FlowsExpiredClosing;
    /// <summary>Closed slots (reset or failed flows, kept so strays are recognised) freed after the closing timeout.</summary>
    public long ClosedFlowsFreed;
    /// <summary>Closing flows (client FIN passed) replaced by a new SYN on the same 4-tuple (a client reusing its port).</summary>
    public long FlowsReopened;
    public long FlowsExpiredHandshake;
    public long ProtocolErrors;
    public long HeldBytes;
    /// <summary>Buffer bytes held for server segments that arrived ahead of a gap (shares the global hold budget).</summary>
    public long ReorderHeldBytes;
    /// <summary>Server segments that arrived ahead of a gap and were kept until it closed.</summary>
    public long ServerSegmentsHeld;
    /// <summary>Buffer bytes held for client ciphertext that was SACKed (segments ahead of a hole, retransmissions).</summary>
    public long ClientHeldBytes;
    /// <summary>Client segments kept ahead of a hole (or retransmitted ahead of the server's ACK) and SACKed.</summary>
    public long ClientSegmentsHeld;
    /// <summary>Newest client segments kept beyond the hold's reach (withheld from SACK for a client that times out).</summary>
    public long ClientNewestKept;
    /// <summary>Times a client resent its head after a silence (a timeout) and a withheld segment was SACKed for it.</summary>
    public long ClientTimeoutReveals;
    /// <summary>Client FINs that arrived ahead of a hole and were kept (and SACKed) until the hole filled.</summary>
    public long ClientFinsHeld;
    /// <summary>Window probes and keepalives passed on as segments the other side must answer (one byte below its ACK).</summary>
    public long ProbesToClient;
    public long ProbesToServer;
    /// <summary>
    /// Bufferless mode: times a client that resent its head after a timeout was acknowledged inside the record being
    /// assembled, up to what the server acknowledged (the record's MAC state then hard state).
    /// </summary>
    public long RecordPartAcks;
    /// <summary>Buffer bytes of plaintext forwarded after a part ACK, kept until the server acknowledges it (shares the global hold budget).</summary>
    public long PartAckCopyBytes;
    /// <summary>Times plaintext the server lost after a part ACK was sent to it again from that copy.</summary>
    public long PartAckReplays;
    /// <summary>Flows reset because a partly acknowledged record could no longer be finished (its state lost, or a server-side loss in it).</summary>
    public long LostRecordStateResets;
    /// <summary>Bytes of server retransmission pieces waiting for the rest of their record (DESIGN.md §6).</summary>
    public long PartialHeldBytes;
    /// <summary>Server bytes held because the client's window was full (the patent's small-window case).</summary>
    public long WindowHeldBytes;
    /// <summary>Times server data was held for a full client window.</summary>
    public long WindowHolds;
    public long PartialRetransmissionPieces;
    /// <summary>Records sealed again from retransmitted pieces that arrived split.</summary>
    public long PartialRetransmissionsJoined;
    public long KeyUpdatesReceived;
    public long KeyUpdatesSent;
    /// <summary>Times server data waited (held) for the engine's KeyUpdate, itself waiting for the old key's records to be acknowledged.</summary>
    public long KeyUpdateWaits;
    /// <summary>Retransmissions of the engine's own records after the handshake (its KeyUpdate).</summary>
    public long OwnRetransmissions;
    /// <summary>Rewinds to before a client KeyUpdate that went back to the read key in force there.</summary>
    public long ReadKeyRestores;

    /// <summary>All buffer bytes the engine holds now (every kind of hold above; they share the global hold budget).</summary>
    public long HeldBytesTotal => HeldBytes + PartialHeldBytes + WindowHeldBytes + ReorderHeldBytes + ClientHeldBytes + PartAckCopyBytes;

    public long Drops(DropReason reason) => _drops[(int)reason];
    internal void Drop(DropReason reason) => _drops[(int)reason]++;

    public long Flows(Flows.FlowState state) => FlowsInState[(int)state];

    public override string ToString()
    {
        var b = new StringBuilder();
        b.Append($"flows syn={Flows(Packets.Flows.FlowState.SynSeen)} synack={Flows(Packets.Flows.FlowState.SynAckSeen)} ");
        b.Append($"handshake={Flows(Packets.Flows.FlowState.Handshake)} established={Flows(Packets.Flows.FlowState.Established)} closed={Flows(Packets.Flows.FlowState.Closed)}; ");
        b.Append($"created={FlowsCreated} reopened={FlowsReopened} handshakes={HandshakesCompleted} failed={HandshakesFailed}; ");
        b.Append($"expired idle={FlowsExpiredIdle} closing={FlowsExpiredClosing} handshake={FlowsExpiredHandshake} closed-freed={ClosedFlowsFreed}; ");
        b.Append($"records dec={RecordsDecrypted} enc={RecordsEncrypted} reenc={RetransmissionsReEncrypted} joined={PartialRetransmissionsJoined}; ");
        b.Append($"keyupdates in={KeyUpdatesReceived} out={KeyUpdatesSent} restores={ReadKeyRestores}; ");
        b.Append($"bytes c2s={BytesClientToServer} s2c={BytesServerToClient}; tagfail={TagFailures} mismatch={RetransmissionMismatches}; passed={PassedThrough} reordered-held={ServerSegmentsHeld} client-held={ClientSegmentsHeld} newest-kept={ClientNewestKept} timeout-reveals={ClientTimeoutReveals} fins-held={ClientFinsHeld} probes c={ProbesToClient} s={ProbesToServer} part-acks={RecordPartAcks} part-replays={PartAckReplays} lost-record-resets={LostRecordStateResets}; ");
        b.Append($"resets client={ResetsFromClient} server={ResetsFromServer} to-closed-server={ResetsToClosedServer}; drops");
        foreach (DropReason r in Enum.GetValues<DropReason>())
            if (Drops(r) > 0)
                b.Append($" {r}={Drops(r)}");
        return b.ToString();
    }
}
