using System.Buffers;
using System.Security.Cryptography;
using Bufferless.Packets.Flows;
using Bufferless.Packets.Wire;
using Bufferless.Packets.Timers;

namespace Bufferless.Packets.Engine;

/// <summary>
/// The cut-through packet engine in direct mode (patent Fig. 5, DESIGN.md §2-§3, §6): TCP passes end to end
/// between client and server; the engine is the TLS server for the handshake bytes only, then decrypts the
/// client's records and encrypts the server's segments packet by packet, translating sequence numbers, ACKs and
/// windows through a per-flow map of records in flight. Single-threaded; time is passed in.
/// </summary>
/// <remarks>
/// Split by concern: this file holds dispatch, flow life and packet output; <c>.Handshake.cs</c> the TCP and TLS
/// set-up, <c>.ClientToServer.cs</c> decryption, <c>.ServerToClient.cs</c> encryption and retransmission.
/// SACK is never translated: SACK blocks from either side name ranges of a stream the other side never sent. The engine
/// SACKs each side itself from what it holds of that side's stream. Towards the server (SACK-permitted passed on when
/// the client offered it): the server segments held ahead of a gap (<see cref="ReorderHold"/>), so that a server with
/// several holes in one window resends them in one round trip rather than one timeout (with back-off) each; once
/// sealed and sent on, held segments leave the SACK blocks, and one the client then loses comes back through the
/// server's timeout (Linux: the head of its queue SACKed at a timeout is taken as reneging, RFC 2018 §8). Towards the
/// client the engine grants SACK itself
/// (when the client offered it) and SACKs the client ciphertext it keeps (<see cref="CipherHold"/>): the engine may
/// acknowledge only whole records the server acknowledged (invariant 1), so a client that lost one segment in the
/// middle of a record and timed out (Linux: cwnd 1, only the head resent) would otherwise never learn which segment
/// to resend; SACK is not an acknowledgement (RFC 2018 §8: the receiver may discard SACKed data), and the engine keeps
/// what it SACKed until its cumulative ACK passes it, so no byte is lost either way.
/// </remarks>
public sealed partial class CutThroughEngine : IPacketEngine, IDisposable
{
    /// <summary>RFC 8446 §5.2: a TLS 1.3 AEAD record adds a 5-byte header, the inner type byte and a 16-byte tag.</summary>
    internal const int RecordOverhead = 5 + 1 + 16;
    /// <summary>RFC 5288 §3: TLS 1.2 AES-GCM adds a header, an 8-byte explicit nonce and the tag (the largest overhead).</summary>
    internal const int MaxRecordOverhead = 5 + 8 + 16;
    private const int MaxPlaintext = 1 << 14;
    private const byte Ttl = 64;

    private readonly CutThroughOptions _options;
    private readonly IPacketSink _sink;
    private readonly FlowTable _flows;
    private readonly TimerQueue _timers;
    private readonly KeyStore _keys;
    private readonly HandshakeContext?[] _handshakes;
    private readonly SeqMap?[] _c2sMaps;
    private readonly SeqMap?[] _s2cMaps;
    private readonly byte[]?[] _held;
    /// <summary>Bufferless mode: plaintext forwarded after a part ACK, until the server acknowledges it (see GrantRecordPartAck).</summary>
    private readonly byte[]?[] _c2sCopies;
    private readonly Stack<SeqMap> _mapPool = new();
    private readonly ReorderHold?[] _s2cReorders;
    private readonly Stack<ReorderHold> _reorderPool = new();
    private readonly CipherHold?[] _c2sHolds;
    private readonly Stack<CipherHold> _cipherHoldPool = new();
    private readonly ReadKeyHistory?[] _readKeyHistories;
    private readonly byte[]?[] _s2cPartials;
    private readonly byte[]?[] _s2cHolds;
    private readonly Stack<ReadKeyHistory> _historyPool = new();
    private readonly byte[] _out = new byte[SegmentCodec.MaxHeaders + RecordAssembler.MaxBody + RecordAssembler.HeaderSize + 64];
    private readonly byte[] _plain = new byte[RecordAssembler.MaxBody];
    private readonly bool _bufferless;
    private int _evictCursor;
    private long _now;

    public CutThroughEngine(CutThroughOptions options, IPacketSink sink)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sink);
        _options = options;
        _sink = sink;
        _bufferless = options.Mode == CutThroughMode.Bufferless;
        ulong seed = options.HashSeed ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        _flows = new FlowTable(options.MaxFlows, seed);
        _timers = new TimerQueue(options.MaxFlows * 4 + 16, (h, d, g) => _flows[h].State != FlowState.Free && _flows[h].TimerDeadline == d && _flows[h].Generation == g);
        _keys = new KeyStore(options.MaxFlows, options.AeadCacheSize);
        _handshakes = new HandshakeContext?[options.MaxFlows];
        _c2sMaps = new SeqMap?[options.MaxFlows];
        _s2cMaps = new SeqMap?[options.MaxFlows];
        _s2cReorders = new ReorderHold?[options.MaxFlows];
        _c2sHolds = new CipherHold?[options.MaxFlows];
        _held = new byte[]?[options.MaxFlows];
        _c2sCopies = new byte[]?[options.MaxFlows];
        _readKeyHistories = new ReadKeyHistory?[options.MaxFlows];
        _s2cPartials = new byte[]?[options.MaxFlows];
        _s2cHolds = new byte[]?[options.MaxFlows];
        if (options.MaxRecordsInFlight < 2 || (options.MaxRecordsInFlight & (options.MaxRecordsInFlight - 1)) != 0)
            throw new ArgumentException("MaxRecordsInFlight is a power of two", nameof(options));
    }

    public CutThroughCounters Counters { get; } = new();

    internal IEngineObserver? Observer { get; set; }

    internal int FlowCount => _flows.Count;

    /// <summary>Test hook: one line of a live flow's sequence state (for simulator traces).</summary>
    internal string DescribeFlow(int h)
    {
        if (h < 0 || h >= _flows.Capacity || _flows[h].State == FlowState.Free)
            return "-";
        ref Flow f = ref _flows[h];
        SeqMap? m = _c2sMaps[h];
        string map = m is { Count: > 0 } ? $"{m.Count}@{m[0].A}/{m[0].B}-{m[m.Count - 1].AEnd}/{m[m.Count - 1].BEnd}" : "0";
        return $"{f.State} c2s nextC {f.C2sNextC} nextS {f.C2sNextS} recC {f.C2sRecordStartC} fill {f.Assembler.RecordOffset}/{f.Assembler.BodyLength} rel {f.C2sReleased} highS {f.C2sHighS} sAck {f.ServerAck} ackSent {f.ClientAckSent} map {map}";
    }

    public long NextTimerMs
    {
        get
        {
            long d = _timers.EarliestDeadline;
            return d == long.MaxValue ? long.MaxValue : d + 1;
        }
    }

    /// <summary>Bytes of engine state per flow slot, whatever the flow does (the slab's share).</summary>
    public static int FixedBytesPerFlow =>
        System.Runtime.CompilerServices.Unsafe.SizeOf<Flow>() // the flow struct
        + KeyStore.BytesPerFlow                               // raw keys and IVs
        + 9 * IntPtr.Size                                     // side-array slots (handshake, two maps, held record, server reorder hold, client cipher hold, key history, partial record, window hold)
        + 2 * sizeof(int);                                    // hash bucket share (2 buckets per slot)

    // ---------------------------------------------------------------------------------------------------------
    // dispatch

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void OnPacket(Span<byte> ipPacket, long nowMs)
    {
        _now = nowMs;
        Counters.PacketsIn++;
        try
        {
            Dispatch(ipPacket);
        }
        catch (Exception)
        {
            // Invariant 5: hostile input stays local. Nothing in the packet path should throw; if something does,
            // the flow it touched is reset and the loop goes on.
            Counters.Drop(DropReason.InternalError);
            if (_currentFlow >= 0 && _flows[_currentFlow].State != FlowState.Free)
                RemoveFlow(_currentFlow);
        }
        finally
        {
            _currentFlow = -1;
        }
    }

    private int _currentFlow = -1;
    /// <summary>The client segment being handled reaches beyond anything the client sent before (not a retransmission).</summary>
    private bool _clientSegmentIsNew;
    private int _clientQuietMs;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Dispatch(Span<byte> packet)
    {
        if (!SegmentCodec.TryParse(packet, out Segment seg))
        {
            // Not TCP (the kernel's own IPv6 MLD reports and router solicitations when the TUN comes up, ICMP) is not
            // malformed: it is counted apart so Malformed means broken packets only.
            Counters.Drop(TcpPacket.TryParse(packet, out _) == TcpPacketStatus.NotTcp ? DropReason.NotTcp : DropReason.Malformed);
            return;
        }
        if (seg.DestinationPort == _options.TlsPort)
        {
            var key = FlowKey.Create(seg.Source, seg.Destination, seg.SourcePort);
            FromClient(key, ref seg);
        }
        else if (seg.SourcePort == _options.PlainPort)
        {
            var key = FlowKey.Create(seg.Destination, seg.Source, seg.DestinationPort);
            int h = _flows.Find(key);
            if (h < 0)
            {
                // Not a flow the engine translates (a client talking plain HTTP to the server's port directly, or a
                // flow already gone): routing sent it here only because of its port, so it goes on unchanged.
                Counters.PassedThrough++;
                _sink.Send(packet);
                return;
            }
            FromServer(h, ref seg);
        }
        else
        {
            Counters.Drop(DropReason.NotOurs);
        }
    }

    private void FromClient(in FlowKey key, ref Segment seg)
    {
        int h = _flows.Find(key);
        if (seg.Has(TcpFlags.Syn))
        {
            if (!seg.Has(TcpFlags.Ack))
                OnClientSyn(h, key, ref seg);
            else
                Counters.Drop(DropReason.Malformed);
            return;
        }
        if (h < 0)
        {
            Counters.Drop(DropReason.NoFlow);
            return;
        }
        _currentFlow = h;
        ref Flow f = ref _flows[h];
        long quietMs = _now - f.LastActivityMs;
        f.LastActivityMs = _now;
        // Milliseconds on the client's clock since its previous segment (Linux TSvals tick in ms): a quiet spell before a
        // resent head means a retransmission timeout, not fast recovery (see HoldClientSegment). Without timestamps, the
        // engine's own clock since the flow's previous packet from the client.
        _clientQuietMs = seg.HasTimestamps && f.Has(FlowFlags.ClientTsSeen) ? Seq.Diff(seg.TsVal, f.ClientTsVal) : (int)Math.Min(int.MaxValue, quietMs);
        NoteClientTimestamps(ref f, ref seg);
        uint end = seg.SequenceNumber + (uint)seg.Payload.Length;
        _clientSegmentIsNew = seg.Payload.Length > 0 && Seq.Gt(end, f.C2sHighC);
        if (_clientSegmentIsNew)
            f.C2sHighC = end;
        switch (f.State)
        {
            case FlowState.SynAckSeen:
                OnClientThirdSegment(h, ref f, ref seg);
                break;
            case FlowState.Handshake:
                OnClientHandshakeSegment(h, ref f, ref seg);
                break;
            case FlowState.Established:
                OnClientEstablished(h, ref f, ref seg);
                break;
            case FlowState.SynSeen:
                if (seg.Has(TcpFlags.Rst))
                    ForwardResetToServer(h, ref f, f.ClientIsn + 1);
                else
                    Counters.Drop(DropReason.UnexpectedInState);
                break;
            default:
                Counters.Drop(DropReason.FlowClosed);
                break;
        }
        if (_flows[h].State != FlowState.Free)
            ScheduleTimer(h, ref _flows[h]);
    }

    /// <summary>A server packet of flow <paramref name="h"/> (found once by the dispatcher).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void FromServer(int h, ref Segment seg)
    {
        _currentFlow = h;
        ref Flow f = ref _flows[h];
        f.LastActivityMs = _now;
        NoteServerTimestamps(ref f, ref seg);
        switch (f.State)
        {
            case FlowState.SynSeen or FlowState.SynAckSeen:
                OnServerSynAck(h, ref f, ref seg);
                break;
            case FlowState.Handshake:
                OnServerDuringHandshake(h, ref f, ref seg);
                break;
            case FlowState.Established:
                OnServerEstablished(h, ref f, ref seg);
                break;
            default:
                Counters.Drop(DropReason.FlowClosed);
                // The engine ended the flow and reset the server, but the server still sends (a challenge ACK for an RST
                // that missed its RCV.NXT, or data and FINs sent before the RST arrived). RFC 9293 §3.10.7.1 (CLOSED):
                // a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>, the sequence number the server accepts (RFC 5961 §3.2).
                if (!seg.Has(TcpFlags.Rst) && seg.Has(TcpFlags.Ack))
                {
                    Counters.ResetsToClosedServer++;
                    SendResetToServer(ref f, seg.AcknowledgementNumber);
                }
                break;
        }
        if (_flows[h].State != FlowState.Free)
            ScheduleTimer(h, ref _flows[h]);
    }

    private static void NoteClientTimestamps(ref Flow f, ref Segment seg) =>
        NoteTimestamps(ref seg, FlowFlags.ClientTsSeen, ref f.Flags, ref f.ClientTsVal, ref f.ClientTsEcr);

    private static void NoteServerTimestamps(ref Flow f, ref Segment seg) =>
        NoteTimestamps(ref seg, FlowFlags.ServerTsSeen, ref f.Flags, ref f.ServerTsVal, ref f.ServerTsEcr);

    /// <summary>Keeps one peer's newest TSval (RFC 7323 §5.3: never going back) and its latest echo.</summary>
    private static void NoteTimestamps(ref Segment seg, FlowFlags seen, ref FlowFlags flags, ref uint latest, ref uint echo)
    {
        if (!seg.HasTimestamps)
            return;
        // The first value is taken as it is: a wraparound comparison against the initial 0 would refuse half of all
        // clocks (Linux starts each connection's clock at a random offset).
        if ((flags & seen) == 0 || Seq.Ge(seg.TsVal, latest))
            latest = seg.TsVal;
        flags |= seen;
        echo = seg.TsEcr;
    }

    // ---------------------------------------------------------------------------------------------------------
    // output

    /// <summary>Headers for a segment towards the client (from the server's address and the TLS port).</summary>
    private OutSegment ToClient(ref Flow f, uint seq, uint ack, TcpFlags flags, ushort window) => new()
    {
        IsIPv6 = f.Key.IsIPv6,
        Ttl = Ttl,
        SourcePort = _options.TlsPort,
        DestinationPort = f.Key.ClientPort,
        SequenceNumber = seq,
        AcknowledgementNumber = ack,
        Flags = flags,
        Window = window,
        WindowScale = 0xFF,
        HasTimestamps = f.Has(FlowFlags.Timestamps),
        // RFC 7323 §5.3: the client's PAWS check wants TSvals that never go back: the server's latest.
        TsVal = f.ServerTsVal,
        TsEcr = f.ClientTsVal,
    };

    /// <summary>Headers for a segment towards the server (from the client's address to the plain port).</summary>
    private OutSegment ToServer(ref Flow f, uint seq, uint ack, TcpFlags flags, ushort window) => new()
    {
        IsIPv6 = f.Key.IsIPv6,
        Ttl = Ttl,
        SourcePort = f.Key.ClientPort,
        DestinationPort = _options.PlainPort,
        SequenceNumber = seq,
        AcknowledgementNumber = ack,
        Flags = flags,
        Window = window,
        WindowScale = 0xFF,
        HasTimestamps = f.Has(FlowFlags.Timestamps),
        TsVal = f.ClientTsVal,
        TsEcr = f.ServerTsVal,
    };

    private Span<byte> PayloadArea(in OutSegment o) => _out.AsSpan(SegmentCodec.HeaderLength(o));

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void EmitToClient(ref Flow f, in OutSegment o, int payloadLength)
    {
        int length = SegmentCodec.Write(_out, o, f.Key.ServerAddress, f.Key.ClientAddress, payloadLength, _sink.CompletesChecksums);
        Counters.PacketsOut++;
        _sink.Send(_out.AsSpan(0, length));
    }

    /// <summary>A payload-less segment to the client with SACK-permitted (SYN-ACK) or SACK blocks.</summary>
    private void EmitControlToClient(ref Flow f, in OutSegment o, bool sackPermitted, ReadOnlySpan<uint> sackEdges)
    {
        int length = SegmentCodec.WriteControl(_out, o, f.Key.ServerAddress, f.Key.ClientAddress, sackPermitted, sackEdges);
        Counters.PacketsOut++;
        _sink.Send(_out.AsSpan(0, length));
    }

    /// <summary>A payload-less segment to the server with SACK-permitted (SYN) or SACK blocks.</summary>
    private void EmitControlToServer(ref Flow f, in OutSegment o, bool sackPermitted, ReadOnlySpan<uint> sackEdges)
    {
        int length = SegmentCodec.WriteControl(_out, o, f.Key.ClientAddress, f.Key.ServerAddress, sackPermitted, sackEdges);
        Counters.PacketsOut++;
        _sink.Send(_out.AsSpan(0, length));
    }

    private void EmitToServer(ref Flow f, in OutSegment o, int payloadLength)
    {
        int length = SegmentCodec.Write(_out, o, f.Key.ClientAddress, f.Key.ServerAddress, payloadLength, _sink.CompletesChecksums);
        Counters.PacketsOut++;
        _sink.Send(_out.AsSpan(0, length));
    }

    // ---------------------------------------------------------------------------------------------------------
    // flow life

    private void SetState(ref Flow f, FlowState state)
    {
        if (f.State != FlowState.Free)
            Counters.FlowsInState[(int)f.State]--;
        f.State = state;
        if (state != FlowState.Free)
            Counters.FlowsInState[(int)state]++;
    }

    /// <summary>Frees everything a flow holds besides its slot (handshake, maps, held record, keys).</summary>
    private void ReleaseFlowResources(int h)
    {
        if (_handshakes[h] is { } hs)
        {
            hs.Dispose();
            _handshakes[h] = null;
        }
        ReturnMap(ref _c2sMaps[h]);
        ReturnMap(ref _s2cMaps[h]);
        ReturnReorderHold(h);
        ReturnCipherHold(h);
        ReturnHistory(h);
        ReleaseHeld(h);
        ReleaseCopy(h);
        ReleasePartial(h);
        ReleaseWindowHoldBuffer(h);
        _keys.Clear(h);
    }

    /// <summary>Ends a flow but keeps its slot for <see cref="CutThroughOptions.ClosingTimeoutMs"/> so strays are recognised.</summary>
    private void CloseFlow(int h, ref Flow f)
    {
        ReleaseFlowResources(h);
        SetState(ref f, FlowState.Closed);
        f.RetransmitDeadline = long.MaxValue;
        f.LastActivityMs = _now;
    }

    private void RemoveFlow(int h)
    {
        ReleaseFlowResources(h);
        ref Flow f = ref _flows[h];
        if (f.State != FlowState.Free)
            Counters.FlowsInState[(int)f.State]--;
        _flows.Remove(h);
    }

    /// <summary>
    /// A flow direction's map, taken from the pool when data goes in flight. <paramref name="storeTags"/>: the engine
    /// seals these records (server to client), so each keeps its short tag (invariant 2).
    /// </summary>
    private SeqMap RentMap(ref SeqMap? slot, ulong firstRecord, bool storeTags)
    {
        if (slot is not null)
            return slot;
        slot = _mapPool.Count > 0 ? _mapPool.Pop() : new SeqMap(_options.MaxRecordsInFlight);
        slot.Reset(firstRecord, storeTags);
        return slot;
    }

    private void ReturnMap(ref SeqMap? slot)
    {
        if (slot is null)
            return;
        slot.Trim();
        _mapPool.Push(slot);
        slot = null;
    }

    /// <summary>Everything held under the global budget (DESIGN.md invariant 4).</summary>
    private long HeldTotal => Counters.HeldBytesTotal;

    private bool TryHold(int h, int bytes)
    {
        if (HeldTotal + bytes > _options.GlobalHoldBudgetBytes)
            return false;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(bytes);
        _held[h] = buffer;
        Counters.HeldBytes += buffer.Length;
        return true;
    }

    private void ReleaseHeld(int h)
    {
        if (_held[h] is not { } buffer)
            return;
        Counters.HeldBytes -= buffer.Length;
        ArrayPool<byte>.Shared.Return(buffer);
        _held[h] = null;
    }

    // ---------------------------------------------------------------------------------------------------------
    // timers

    private long Deadline(ref Flow f)
    {
        long timeout = f.State switch
        {
            FlowState.SynSeen or FlowState.SynAckSeen or FlowState.Handshake => _options.HandshakeTimeoutMs,
            FlowState.Established when f.Has(FlowFlags.ClientFin) && f.Has(FlowFlags.ServerFin) => _options.ClosingTimeoutMs,
            FlowState.Established => _options.IdleTimeoutMs,
            _ => _options.ClosingTimeoutMs,
        };
        return Math.Min(f.RetransmitDeadline, f.LastActivityMs + timeout);
    }

    private void ScheduleTimer(int h, ref Flow f)
    {
        long due = Deadline(ref f);
        if (due >= f.TimerDeadline)
            return;
        f.TimerDeadline = due;
        _timers.Schedule(due, h, f.Generation);
    }

    public void OnTimer(long nowMs)
    {
        _now = nowMs;
        while (_timers.TryPopDue(nowMs, out int h, out long deadline, out int generation))
        {
            ref Flow f = ref _flows[h];
            if (f.State == FlowState.Free || f.TimerDeadline != deadline || f.Generation != generation)
                continue;
            f.TimerDeadline = long.MaxValue;
            _currentFlow = h;
            try
            {
                if (nowMs > f.RetransmitDeadline)
                {
                    if (f.Has(FlowFlags.OwnBytesUnacked))
                        RetransmitOwnBytes(h, ref f);
                    else
                        RetransmitFlight(h, ref f);
                }
                if (f.State != FlowState.Free && nowMs > Deadline(ref f))
                    Expire(h, ref f);
                if (f.State != FlowState.Free)
                    ScheduleTimer(h, ref f);
            }
            catch (Exception)
            {
                Counters.Drop(DropReason.InternalError);
                if (f.State != FlowState.Free)
                    RemoveFlow(h);
            }
            finally
            {
                _currentFlow = -1;
            }
        }
    }

    private void Expire(int h, ref Flow f)
    {
        switch (f.State)
        {
            case FlowState.Established:
                // Both FINs seen: the flow lingered out its closing timeout, a normal end (Deadline).
                if (f.Has(FlowFlags.ClientFin) && f.Has(FlowFlags.ServerFin))
                    Counters.FlowsExpiredClosing++;
                else
                    Counters.FlowsExpiredIdle++;
                // Both ends may still think the connection is up: tell them it is gone.
                SendResetToServer(ref f, f.C2sNextS);
                SendResetToClient(ref f, f.S2cNextC);
                break;
            case FlowState.SynSeen or FlowState.SynAckSeen or FlowState.Handshake:
                Counters.FlowsExpiredHandshake++;
                if (f.State == FlowState.Handshake)
                {
                    SendResetToServer(ref f, f.ClientIsn + 1);
                    SendResetToClient(ref f, _handshakes[h]?.SndNxt ?? f.ServerIsn + 1);
                }
                break;
            case FlowState.Closed:
                Counters.ClosedFlowsFreed++;
                break;
        }
        RemoveFlow(h);
    }

    private void SendResetToServer(ref Flow f, uint seq)
    {
        OutSegment o = ToServer(ref f, seq, 0, TcpFlags.Rst, 0);
        EmitToServer(ref f, o, 0);
    }

    private void SendResetToClient(ref Flow f, uint seq)
    {
        OutSegment o = ToClient(ref f, seq, 0, TcpFlags.Rst, 0);
        EmitToClient(ref f, o, 0);
    }

    public void Dispose()
    {
        for (int h = 0; h < _handshakes.Length; h++)
        {
            _handshakes[h]?.Dispose();
            _handshakes[h] = null;
            ReleaseHeld(h);
            ReleaseCopy(h);
            ReleasePartial(h);
            ReleaseWindowHoldBuffer(h);
            ReturnHistory(h); // zeroes the client's earlier secrets
        }
        _keys.Dispose();
    }
}
