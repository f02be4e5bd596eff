using System.Buffers;
using System.Buffers.Binary;
using Bufferless.Packets.Flows;
using Bufferless.Packets.Wire;
using Bufferless.Tls;

namespace Bufferless.Packets.Engine;

public sealed partial class CutThroughEngine
{
    private void OnClientEstablished(int h, ref Flow f, ref Segment seg)
    {
        if (seg.Has(TcpFlags.Rst))
        {
            // RFC 5961 §3: only a reset inside what the engine expects is passed on (no blind resets by proxy).
            if (Seq.Ge(seg.SequenceNumber, f.ClientAckSent) && Seq.Lt(seg.SequenceNumber, f.C2sNextC + (1u << 20)))
                ResetServerForClient(h, ref f);
            return;
        }
        // A window probe or keepalive from the client: no data, below what the engine acknowledged (SendProbeToClient).
        bool probe = seg.Payload.Length == 0 && !seg.Has(TcpFlags.Fin) && Seq.Lt(seg.SequenceNumber, f.ClientAckSent);
        bool ackMoved = seg.Has(TcpFlags.Ack) && OnClientAck(h, ref f, seg.AcknowledgementNumber, seg.Window);
        bool sent = false;
        if (seg.Payload.Length > 0 || seg.Has(TcpFlags.Fin))
            sent = OnClientData(h, ref f, seg.SequenceNumber, seg.Payload, seg.Has(TcpFlags.Fin));
        if (f.State != FlowState.Established)
            return;
        // A pure ACK always passes (a duplicate ACK tells the server of a loss); a data segment that produced
        // nothing for the server passes its ACK only if it moved, so held records do not look like duplicate ACKs.
        if (probe)
            SendProbeToServer(h, ref f);
        else if (!sent && (seg.Payload.Length == 0 && !seg.Has(TcpFlags.Fin) || ackMoved))
            SendAckToServer(h, ref f);
    }

    /// <summary>
    /// The client's window probe or keepalive goes on as one the server must answer (one byte below what it
    /// acknowledged, no data): its answer, a pure ACK with the window and the ACK the client may get, comes back through
    /// the engine. A client keepalive translated as a plain ACK would draw no answer from anyone, and the client would
    /// drop an idle connection that is alive (see <see cref="SendProbeToClient"/> for the server's side).
    /// </summary>
    private void SendProbeToServer(int h, ref Flow f)
    {
        Counters.ProbesToServer++;
        uint below = Seq.Min(f.ServerAck, f.C2sNextS) - 1;
        EmitToServer(ref f, ToServer(ref f, below, AckForServer(h, ref f), TcpFlags.Ack, WindowToServer(h, ref f)), 0);
    }

    /// <summary>
    /// The client reset an established flow: the server must get a reset it accepts. RFC 5961 §3.2: a receiver resets
    /// only on an RST at exactly its RCV.NXT and answers any other in-window RST with a challenge ACK. The server's
    /// RCV.NXT is in the engine's translated sequence space and lags the client's own (records held, segments the
    /// server has not acknowledged or lost), so the engine cannot know it for sure: it sends an RST at the server's
    /// last ACK and one at the end of what it sent the server, and keeps the slot Closed, where a challenge ACK is
    /// answered with an RST at its acknowledgement number (RFC 5961 §3.2, RFC 9293 §3.10.7.1), the exact value.
    /// Removing the flow here left servers established whenever the two differed (a mass close of idle connections).
    /// </summary>
    private void ResetServerForClient(int h, ref Flow f)
    {
        Counters.ResetsFromClient++;
        if (f.ServerAck != f.C2sNextS)
            SendResetToServer(ref f, f.ServerAck);
        SendResetToServer(ref f, f.C2sNextS);
        CloseFlow(h, ref f);
    }

    /// <summary>The client acknowledged ciphertext: drop whole records from the server-to-client map.</summary>
    private bool OnClientAck(int h, ref Flow f, uint ack, ushort window)
    {
        uint bytes = (uint)window << f.ClientWScale;
        bool moved = bytes != f.ClientWindow;
        f.ClientWindow = bytes;
        if (_handshakes[h] is { } hs && Seq.Gt(ack, hs.SndUna) && Seq.Le(ack, f.S2cNextC))
        {
            // The rest of the flight (the ticket) arrived: the engine's own bytes are no longer needed.
            hs.SndUna = Seq.Min(ack, hs.FlightEnd);
            f.Retransmissions = 0;
            f.RetransmitTimeoutMs = _options.InitialRetransmitTimeoutMs;
            f.RetransmitDeadline = hs.SndUna == hs.FlightEnd ? long.MaxValue : _now + f.RetransmitTimeoutMs;
            if (hs.SndUna == hs.FlightEnd)
            {
                hs.Dispose();
                _handshakes[h] = null;
            }
        }
        if (Seq.Le(ack, f.ClientAck) || Seq.Gt(ack, f.S2cNextC))
            return moved;
        f.ClientAck = ack;
        NoteOwnBytesAcked(ref f, ack);
        if (_s2cMaps[h] is { } map)
        {
            if (map.Acknowledge(ack, out _) > 0)
                moved = true;
            if (map.Count == 0)
                ReturnMap(ref _s2cMaps[h]);
            NotePartialAcked(h, ref f);
        }
        if (f.Has(FlowFlags.KeyUpdatePending))
            TrySendOwnKeyUpdate(h, ref f);
        if (f.S2cHoldLength > 0)
            ReleaseWindowHold(h, ref f);
        return moved;
    }

    /// <summary>The ACK the server gets: the end of the last record the client acknowledged whole (DESIGN.md §6).</summary>
    private uint AckForServer(int h, ref Flow f) =>
        _s2cMaps[h] is { Count: > 0 } map ? map[0].A : f.S2cNextS;

    /// <summary>
    /// The ACK the client gets: the end of the last client record the server acknowledged whole, or the handshake
    /// bytes the engine consumed (invariant 1: never more than the server acknowledged).
    /// </summary>
    private uint AckForClient(int h, ref Flow f)
    {
        uint a = _c2sMaps[h] is { Count: > 0 } map ? map[0].A : f.Assembler.AtBoundary ? f.C2sNextC : f.C2sRecordStartC;
        if (f.Has(FlowFlags.RecordPartAcked))
        {
            // Bufferless mode, a client stuck on its head (GrantRecordPartAck): the plaintext of the record being
            // assembled that the server acknowledged, never anything not forwarded (invariant 1), with one bounded
            // exception: once the server has all that was forwarded, the held tail too (the byte that may be the inner
            // content type and any zeros after it, kept in the flow slot until the record ends). Otherwise the client's
            // head would be that one byte, whose segment ends at the hole: in the Loss state it resends only that, and
            // stalls as before. The tail is part of the record's hard state: lost with it, the flow is reset.
            int acked = Math.Min(Seq.Diff(f.ServerAck, f.C2sRecordStartS), f.C2sReleased);
            if (acked == f.C2sReleased && acked > 0)
                acked += f.C2sTailLength;
            if (acked > 0)
                a = Seq.Max(a, f.C2sRecordStartC + (uint)(f.Assembler.Prefix + acked));
        }
        if (Seq.Gt(a, f.ClientAckSent))
        {
            f.ClientAckSent = a;
            if (_c2sHolds[h] is { } hold)
            {
                hold.Forget(a);
                if (hold.Count == 0)
                    ReturnCipherHold(h);
            }
        }
        return f.ClientAckSent;
    }

    /// <summary>
    /// The window the server gets, in plaintext bytes: what still fits the client's ciphertext window once each
    /// segment grows by the record overhead (DESIGN.md §6, patent small-window section).
    /// </summary>
    private ushort WindowToServer(int h, ref Flow f)
    {
        int availC = Seq.Diff(f.ClientAck + f.ClientWindow, f.S2cNextC);
        long plain = 0;
        if (availC > 0)
        {
            int record = Math.Max(1, MaxRecordPlaintext(ref f)) + f.Overhead;
            long records = (availC + record - 1) / record;
            plain = Math.Max(0, availC - records * f.Overhead);
            // DESIGN.md §6 (map size): what may be in flight is also capped by the records the map can still take,
            // so a server that fills the window with full segments never meets a full map.
            int freeRecords = _options.MaxRecordsInFlight - (_s2cMaps[h]?.Count ?? 0);
            plain = Math.Min(plain, (long)freeRecords * MaxRecordPlaintext(ref f));
        }
        long window = Seq.Diff(f.S2cNextS, AckForServer(h, ref f)) + plain;
        return (ushort)Math.Min(65535, window >> f.ClientWScale);
    }

    /// <summary>
    /// The window the client gets, in ciphertext bytes: the server's plaintext window plus record overhead, but
    /// never less than one whole record past the ACK, so a record larger than the server's window can still
    /// arrive and be checked (the engine holds it: verified mode's one record per flow).
    /// With SACK it is also never more than <see cref="CipherHold.Reach"/> past the ACK (which the caller computes
    /// first, <see cref="AckForClient"/>): beyond that a segment that arrives ahead of a hole is dropped, not kept, and
    /// the client, sending up to its whole window (1.6 MB in the kernel lab), was left with hundreds of KB neither
    /// acknowledged nor SACKed; after a timeout it resends only its head, which the engine cannot acknowledge before the
    /// record ends, and a clean 64 MiB upload stalled (tests/e2e/known-issues/README.md). The right edge, ACK + reach,
    /// only moves forward (RFC 9293 §3.8.6.2.2: the window is not shrunk).
    /// </summary>
    private ushort WindowToClient(ref Flow f) => (ushort)Math.Min(65535, ClientWindowBytes(ref f) >> f.ServerWScale);

    /// <summary>The window given to the client, in bytes past the ACK, before scaling (<see cref="WindowToClient"/>).</summary>
    private static long ClientWindowBytes(ref Flow f)
    {
        long window = f.ServerWindow;
        window += window / 16 + 512;
        window = Math.Max(window, RecordAssembler.HeaderSize + RecordAssembler.MaxBody);
        if (f.Has(FlowFlags.ClientSack))
            window = Math.Min(window, CipherHold.Reach);
        return window;
    }

    private void SendAckToServer(int h, ref Flow f)
    {
        OutSegment o = ToServer(ref f, f.C2sNextS, AckForServer(h, ref f), TcpFlags.Ack, WindowToServer(h, ref f));
        if (!f.Has(FlowFlags.ServerSack) || _s2cReorders[h] is not { Count: > 0 } hold)
        {
            EmitToServer(ref f, o, 0);
            return;
        }
        Span<uint> edges = stackalloc uint[8];
        int n = hold.SackEdges(edges, SegmentCodec.MaxSackBlocks(o));
        EmitControlToServer(ref f, o, false, edges[..n]);
    }

    private void SendAckToClient(int h, ref Flow f)
    {
        OutSegment o = ToClient(ref f, f.S2cNextC, AckForClient(h, ref f), TcpFlags.Ack, WindowToClient(ref f));
        if (_c2sHolds[h] is not { Count: > 0 } hold)
        {
            EmitToClient(ref f, o, 0);
            return;
        }
        Span<uint> edges = stackalloc uint[8];
        int n = hold.SackEdges(f.ClientAckSent, edges, SegmentCodec.MaxSackBlocks(o));
        EmitControlToClient(ref f, o, false, edges[..n]);
    }

    /// <summary>
    /// Keeps client ciphertext the engine cannot use yet (ahead of a hole) or may need again (a retransmission of bytes
    /// the server has not acknowledged), so that it can SACK it (class remarks). Bounded to a few records past the ACK
    /// (<see cref="CipherHold.Reach"/>) and by the global hold budget; nothing is kept unless the client has SACK.
    /// <paramref name="reveal"/>: the client resent its head, which the engine has, after a silence (a timeout, after
    /// which a Linux client resends only that): one of the withheld newest segments is SACKed for it
    /// (<see cref="CipherHold.TryKeepNewest"/>, <see cref="CipherHold.Reveal"/>).
    /// </summary>
    private void HoldClientSegment(int h, ref Flow f, uint seq, ReadOnlySpan<byte> data, bool reveal)
    {
        if (!f.Has(FlowFlags.ClientSack))
            return;
        // Only above the ACK the client got, and at most the hold's capacity past it: the record being assembled and what
        // follows it in the client's window (the newest segments are what a client that timed out needs SACKed).
        HoldClientBytes(h, ref f, seq, data, f.ClientAckSent, f.ClientAckSent + CipherHold.Reach, reveal);
    }

    /// <summary>Keeps the part of <paramref name="data"/> between <paramref name="from"/> and <paramref name="bound"/>.</summary>
    private void HoldClientBytes(int h, ref Flow f, uint seq, ReadOnlySpan<byte> data, uint from, uint bound, bool reveal)
    {
        if (!f.Has(FlowFlags.ClientSack))
            return;
        int skip = Math.Max(0, Seq.Diff(from, seq));
        int keep = Math.Min(data.Length, Seq.Diff(bound, seq)) - skip;
        bool newestBeyond = false;
        if (keep <= 0)
        {
            // Beyond the bound: only the client's newest segments are kept (a few, withheld), see CipherHold.TryKeepNewest.
            if (!_clientSegmentIsNew || skip > 0 || _c2sHolds[h] is null)
                return;
            newestBeyond = true;
            keep = data.Length;
        }
        if (TakeCipherHold(h) is not { } hold)
            return;
        int rentedBefore = hold.RentedBytes;
        // Verified mode cannot acknowledge a client stuck on its head inside the record (invariants 1 and 3; bufferless
        // mode does, GrantRecordPartAck). Once the client resends its head, it is recovering a loss the engine cannot
        // acknowledge before the record ends, so from then until the ACK moves the client's newest segments are kept out
        // of the SACK blocks (at most CipherHold.MaxWithheld; the oldest is named when a newer one comes). A head resent
        // again names the lowest while two are withheld, so that it earns the client a delivery (RACK and PRR let it send
        // on) and one stays for a timeout: after one, the resent head names it, the client sees never-retransmitted
        // data SACKed and F-RTO undoes the timeout (RFC 5682 §3.1, tests/e2e/known-issues/README.md). Never a segment
        // that reaches the window's right edge: a client limited by the window would wait for it. Outside such an
        // episode nothing is withheld (withholding from every client cost cwnd-limited ones a timeout per record).
        bool headResent = !_clientSegmentIsNew && skip == 0 && seq == f.ClientAckSent;
        if (!_bufferless && headResent)
            hold.NoteHeadResent(f.ClientAckSent);
        bool withhold = !_bufferless && !newestBeyond && _clientSegmentIsNew && hold.HeadResentAt(f.ClientAckSent)
            && Seq.Diff(f.ClientAckSent + (uint)ClientWindowBytes(ref f), seq + (uint)data.Length) >= 2 * data.Length;
        if (newestBeyond ? hold.TryKeepNewest(seq, data, bound) : hold.TryAdd(seq + (uint)skip, data.Slice(skip, keep), withhold))
        {
            Counters.ClientSegmentsHeld++;
            if (newestBeyond)
                Counters.ClientNewestKept++;
        }
        if (reveal)
        {
            Counters.ClientTimeoutReveals++;
            hold.Reveal(f.ClientAckSent);
        }
        else if (!_bufferless && headResent)
        {
            hold.Reveal(f.ClientAckSent, keep: FastResendKeep);
        }
        Counters.ClientHeldBytes += hold.RentedBytes - rentedBefore;
        if (hold.Count == 0)
            ReturnCipherHold(h);
    }

    /// <summary>The flow's cipher hold, taken from the pool when it has none; null over the global hold budget (counted).</summary>
    private CipherHold? TakeCipherHold(int h)
    {
        if (_c2sHolds[h] is { } hold)
            return hold;
        if (HeldTotal + CipherHold.Capacity > _options.GlobalHoldBudgetBytes)
        {
            Counters.Drop(DropReason.HoldBudget);
            return null;
        }
        return _c2sHolds[h] = _cipherHoldPool.Count > 0 ? _cipherHoldPool.Pop() : new CipherHold();
    }

    /// <summary>
    /// Keeps the client's FIN at <paramref name="finSeq"/>, which came ahead of a hole or before the bytes in front of it
    /// could be used, and SACKs it (<see cref="CipherHold.KeepFin"/>): a client whose last data segment was lost, with
    /// only its FIN behind it, then resends that segment at once; unSACKed, nothing it sent after the loss is ever
    /// acknowledged, RACK never marks the segment lost, and after its timeout it resends only its head, which verified
    /// mode cannot acknowledge before the record ends. Within the hold's reach, SACK clients only.
    /// </summary>
    private void HoldClientFin(int h, ref Flow f, uint finSeq)
    {
        if (!f.Has(FlowFlags.ClientSack) || !Seq.Gt(finSeq, f.ClientAckSent) || Seq.Diff(finSeq, f.ClientAckSent) > CipherHold.Reach)
            return;
        if (TakeCipherHold(h) is { } hold && hold.KeepFin(finSeq))
            Counters.ClientFinsHeld++;
    }

    /// <summary>
    /// A resent head after this long a silence on the client's clock is taken for a retransmission timeout (RFC 6298
    /// §2.4: at least 1 s; Linux: 200 ms): only then is the withheld newest segment SACKed. A head resent in fast recovery
    /// must not spend it, or nothing would be left for a timeout that may follow.
    /// </summary>
    private const int RtoQuietMs = 150;

    /// <summary>
    /// Withheld segments a head resent without a timeout leaves unnamed (verified mode): one stays for a timeout that may
    /// follow, since a Linux client in the Loss state with its window on the head moves only when F-RTO undoes it.
    /// </summary>
    private const int FastResendKeep = 1;

    private void ReturnCipherHold(int h)
    {
        if (_c2sHolds[h] is not { } hold)
            return;
        Counters.ClientHeldBytes -= hold.RentedBytes;
        hold.Release();
        _c2sHolds[h] = null;
        _cipherHoldPool.Push(hold);
    }

    /// <summary>Feeds held client ciphertext that the in-order stream has reached (a hole closed, or a rewind).</summary>
    private bool DrainClientHold(int h, ref Flow f)
    {
        bool sent = false;
        // Each pass moves C2sNextC forward or stops; an unwind inside (budget, cache) may move it back, so the passes
        // are bounded by what is held.
        for (int pass = 0; pass <= CipherHold.MaxSegments && f.State == FlowState.Established; pass++)
        {
            if (_c2sHolds[h] is not { } hold)
                break;
            if (!hold.TryNext(f.C2sNextC, out uint seq, out ReadOnlySpan<byte> data))
            {
                // The hole before a kept FIN has filled: the client's close goes on to the server.
                if (hold.Fin == f.C2sNextC && !f.Has(FlowFlags.ClientFin))
                    sent |= OnClientFin(h, ref f);
                break;
            }
            uint before = f.C2sNextC;
            sent |= ProcessClientBytes(h, ref f, data[Seq.Diff(f.C2sNextC, seq)..]);
            if (!Seq.Gt(f.C2sNextC, before))
                break;
        }
        return sent;
    }

    /// <summary>
    /// Client ciphertext at <paramref name="seq"/>: decrypted in order, record by record, as it arrives. Returns
    /// true when something went to the server. Out-of-order bytes are dropped (the client sends them again: the
    /// engine never acknowledged them); bytes already processed are skipped, or, when the client resends the
    /// oldest record the server has not acknowledged, processing rewinds to it (the server may have lost it).
    /// </summary>
    private bool OnClientData(int h, ref Flow f, uint seq, ReadOnlySpan<byte> data, bool fin)
    {
        int front = Seq.Diff(f.C2sNextC, seq);
        if (front < 0)
        {
            // Ahead of a hole: kept and SACKed when the client has SACK (the hole is then all it resends), else dropped.
            Counters.Drop(DropReason.OutOfOrder);
            if (!data.IsEmpty)
                HoldClientSegment(h, ref f, seq, data, reveal: false);
            if (fin)
                HoldClientFin(h, ref f, seq + (uint)data.Length);
            SendAckToClient(h, ref f);
            return false;
        }
        int total = data.Length + (fin ? 1 : 0);
        if (front >= total)
        {
            if (ShouldRewind(h, ref f, seq, out bool partAckedLag))
            {
                Rewind(h, ref f);
                front = 0;
            }
            else if (partAckedLag && ReplayCopy(h, ref f))
            {
                Counters.Drop(DropReason.Duplicate);
                SendAckToClient(h, ref f);
                return false;
            }
            else if (partAckedLag && _now - f.C2sLastForwardMs > LostRecordStateHoldoffMs)
            {
                ResetForLostRecordState(h, ref f);
                return false;
            }
            else
            {
                if (seq == f.ClientAckSent && _clientQuietMs >= RtoQuietMs)
                    GrantRecordPartAck(h, ref f);
                // The client resends bytes the engine has: it is recovering from a loss. Keep them (so they can be
                // SACKed and replayed) and SACK them, so its recovery moves on to the hole; its head after a silence
                // (a timeout) also gets a withheld segment SACKed.
                Counters.Drop(DropReason.Duplicate);
                HoldClientSegment(h, ref f, seq, data, reveal: seq == f.ClientAckSent && _clientQuietMs >= RtoQuietMs);
                SendAckToClient(h, ref f);
                return false;
            }
        }
        bool sent = false;
        // With SACK, new bytes are kept too: the engine may acknowledge only whole records, so a client whose window is
        // smaller than a record (after a timeout: one segment) is clocked by SACKs of what arrived (class remarks).
        if (front < data.Length && f.Has(FlowFlags.ClientSack))
            HoldClientSegment(h, ref f, seq + (uint)front, data[front..], reveal: false);
        if (front < data.Length)
            sent = ProcessClientBytes(h, ref f, data[front..]);
        if (f.State != FlowState.Established)
            return sent;
        if (_c2sHolds[h] is { Count: > 0 })
        {
            sent |= DrainClientHold(h, ref f);
            if (f.State != FlowState.Established)
                return sent;
            if (_c2sHolds[h] is { } hold && hold.TakeSackMoved())
                SendAckToClient(h, ref f);
        }
        if (fin && f.C2sNextC == seq + (uint)data.Length)
            sent |= OnClientFin(h, ref f);
        else if (fin && Seq.Lt(f.C2sNextC, seq + (uint)data.Length))
            HoldClientFin(h, ref f, seq + (uint)data.Length);
        return sent;
    }

    /// <summary>
    /// Whether the client's resend at <paramref name="seq"/> should take processing back to the oldest record the server
    /// has not acknowledged (the server may have lost its plaintext). <paramref name="partAckedLag"/>: it should, but part
    /// of that record was acknowledged to the client (<see cref="GrantRecordPartAck"/>), which will never send the
    /// record's start again: what the server lacks comes from the copy kept since the part ACK (<see cref="ReplayCopy"/>).
    /// </summary>
    private bool ShouldRewind(int h, ref Flow f, uint seq, out bool partAckedLag)
    {
        partAckedLag = false;
        if (!Seq.Gt(f.C2sNextS, f.ServerAck) || _now - f.C2sLastForwardMs <= _options.RewindHoldoffMs)
            return false;
        uint target;
        if (_c2sMaps[h] is { Count: > 0 } map)
            target = map[0].A;
        else if (!f.Assembler.AtBoundary)
            target = f.C2sRecordStartC;
        else
            return false;
        if (Seq.Lt(target, f.ClientAckSent))
        {
            // The client resends from its ACK, inside that record, and the server still lacks what was forwarded a
            // while ago: a loss on the server side.
            partAckedLag = seq == f.ClientAckSent;
            return false;
        }
        return target == seq;
    }

    /// <summary>
    /// How long the server may lag inside a partly acknowledged record that the copy cannot serve before the flow is
    /// reset (longer than a rewind's holdoff: a reset cannot be taken back).
    /// </summary>
    private const int LostRecordStateHoldoffMs = 1000;

    /// <summary>
    /// Sends the server again what it has not acknowledged of the plaintext forwarded since a part ACK (its copy). False
    /// when there is no copy or the server's ACK is outside it.
    /// </summary>
    private bool ReplayCopy(int h, ref Flow f)
    {
        if (_c2sCopies[h] is not { } copy)
            return false;
        int from = Seq.Diff(f.ServerAck, f.C2sCopyStartS);
        if (from < 0 || from >= f.C2sCopyLength)
            return false;
        Counters.PartAckReplays++;
        SendPlainToServer(h, ref f, f.ServerAck, copy.AsSpan(from, f.C2sCopyLength - from));
        f.C2sLastForwardMs = _now;
        return true;
    }

    /// <summary>Appends plaintext forwarded at <see cref="Flow.C2sNextS"/> to the part-ACK copy while the record is part-acknowledged.</summary>
    private void CopyForwarded(int h, ref Flow f, ReadOnlySpan<byte> content)
    {
        if (!f.Has(FlowFlags.RecordPartAcked) || _c2sCopies[h] is not { } copy)
            return;
        int at = Seq.Diff(f.C2sNextS, f.C2sCopyStartS);
        // Forwarded bytes run on from the copy's end (a rewind, which would move back, never happens to such a record).
        if (at != f.C2sCopyLength || at + content.Length > copy.Length)
            return;
        content.CopyTo(copy.AsSpan(at));
        f.C2sCopyLength = (ushort)(at + content.Length);
    }

    /// <summary>The server acknowledged all of the part-ACK copy and the record is complete: the copy goes.</summary>
    private void ForgetCopyIfAcked(int h, ref Flow f)
    {
        if (_c2sCopies[h] is null || f.Has(FlowFlags.RecordPartAcked) || Seq.Lt(f.ServerAck, f.C2sCopyStartS + f.C2sCopyLength))
            return;
        ReleaseCopy(h);
    }

    private void ReleaseCopy(int h)
    {
        if (_c2sCopies[h] is not { } copy)
            return;
        Counters.PartAckCopyBytes -= copy.Length;
        ArrayPool<byte>.Shared.Return(copy);
        _c2sCopies[h] = null;
    }

    /// <summary>
    /// Bufferless mode (DESIGN.md invariant 1, tests/e2e/known-issues/README.md): the client resent its head after a
    /// timeout while the engine has that head and more of the record being assembled. A Linux client in the Loss state
    /// (cwnd 1) resends only that head until it is acknowledged, and the engine could acknowledge it only at the record's
    /// end, which the client never gets to send: it backed off for ever. The plaintext the engine forwarded of the record
    /// is the server's once the server acknowledges it, so from now on the client is acknowledged up to that point
    /// (<see cref="AckForClient"/>); invariant 1 holds literally (but for the held tail, see there). The price: the client
    /// will not send the record's start again. So the record's running MAC state becomes hard state: if it is lost (the
    /// AEAD cache entry taken, the map full) the flow is reset (<see cref="ResetForLostRecordState"/>), never left with
    /// missing bytes. And no rewind can make again what the server loses of the record from here on: the plaintext
    /// forwarded after the part ACK is kept (at most the rest of one record, under the global hold budget) until the
    /// server acknowledges it, and sent again from there (<see cref="ReplayCopy"/>). The record's final segment still
    /// waits for the tag (invariant 3). Only on a timeout's resend, so that ordinary records stay soft state.
    /// </summary>
    private void GrantRecordPartAck(int h, ref Flow f)
    {
        f.Flags &= ~FlowFlags.PartAckWanted;
        if (!_bufferless || f.Has(FlowFlags.RecordPartAcked) || f.Assembler.AtBoundary || f.C2sReleased == 0 || f.ClientAckSent != f.C2sRecordStartC)
            return;
        // Only once the server has all that was forwarded, so that what goes on afterwards is all the server could still
        // lose; that is kept (the rest of one record) until the server acknowledges it, since no rewind can make it again.
        // Until then the wish is remembered: the server's ACK that catches up grants it (OnServerAck).
        if (Seq.Lt(f.ServerAck, f.C2sNextS))
        {
            f.Flags |= FlowFlags.PartAckWanted;
            return;
        }
        ForgetCopyIfAcked(h, ref f);
        if (_c2sCopies[h] is not null || HeldTotal + RecordAssembler.MaxBody > _options.GlobalHoldBudgetBytes)
            return;
        byte[] copy = ArrayPool<byte>.Shared.Rent(RecordAssembler.MaxBody);
        _c2sCopies[h] = copy;
        Counters.PartAckCopyBytes += copy.Length;
        f.C2sCopyStartS = f.C2sNextS;
        f.C2sCopyLength = 0;
        f.Flags |= FlowFlags.RecordPartAcked;
        Counters.RecordPartAcks++;
    }

    /// <summary>
    /// The record being assembled starts over (its part ACK never moved the client's ACK, or it would be hard state): its
    /// flag and copy go. A copy without the flag belongs to an earlier record the server has not acknowledged whole: it stays.
    /// </summary>
    private void ForgetPartAck(int h, ref Flow f)
    {
        f.Flags &= ~FlowFlags.PartAckWanted;
        if (!f.Has(FlowFlags.RecordPartAcked))
            return;
        f.Flags &= ~FlowFlags.RecordPartAcked;
        ReleaseCopy(h);
    }

    /// <summary>True when the client was acknowledged inside the record being assembled: its start will not come again.</summary>
    private static bool RecordStateIsHard(ref Flow f) =>
        f.Has(FlowFlags.RecordPartAcked) && Seq.Gt(f.ClientAckSent, f.C2sRecordStartC);

    /// <summary>
    /// A partly acknowledged record can no longer be finished (<see cref="GrantRecordPartAck"/>): reset both sides, as
    /// for a client reset (RFC 5961 §3.2: at the server's last ACK and at the end of what it was sent), counted.
    /// </summary>
    private void ResetForLostRecordState(int h, ref Flow f)
    {
        Counters.LostRecordStateResets++;
        if (f.ServerAck != f.C2sHighS)
            SendResetToServer(ref f, f.ServerAck);
        SendResetToServer(ref f, f.C2sHighS);
        SendResetToClient(ref f, f.S2cNextC);
        CloseFlow(h, ref f);
    }

    /// <summary>Goes back to the oldest record the server has not acknowledged; it and what follows are processed again.</summary>
    private void Rewind(int h, ref Flow f)
    {
        uint c, s;
        ulong record;
        SeqMap? map = _c2sMaps[h];
        if (map is { Count: > 0 })
        {
            c = map[0].A;
            s = map[0].B;
            record = map.FirstRecordNumber;
            map.TruncateFrom(0);
        }
        else
        {
            c = f.C2sRecordStartC;
            s = f.C2sRecordStartS;
            record = f.C2sRecord;
        }
        f.C2sNextC = c;
        f.C2sNextS = s;
        f.C2sRecordStartC = c;
        f.C2sRecordStartS = s;
        f.C2sRecord = record;
        f.C2sReleased = 0;
        f.C2sTail = 0;
        f.C2sTailLength = 0;
        ForgetPartAck(h, ref f);
        f.Assembler.Reset();
        _keys.EndOpen(h);
        ReleaseHeld(h);
        if (_readKeyHistories[h] is { } history)
        {
            // A client KeyUpdate record comes again: the records before it were sealed under the secret before it.
            Span<byte> secret = stackalloc byte[TrafficKeyUpdate.MaxSecret];
            int length = history.TakeForRewind(c, secret);
            if (length > 0)
            {
                _keys.RestoreRead(h, secret[..length]);
                Counters.ReadKeyRestores++;
            }
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(secret);
            if (history.Count == 0)
                ReturnHistory(h);
        }
        if (f.Has(FlowFlags.ClientCloseNotify) && Seq.Gt(f.C2sCloseNotifyEnd, c))
            f.Flags &= ~FlowFlags.ClientCloseNotify;
        if (f.Has(FlowFlags.ClientFin))
            f.Flags &= ~FlowFlags.ClientFin;
    }

    /// <summary>
    /// Feeds client ciphertext through the record assembler and decrypts each body piece as it arrives with the
    /// streaming opener (DESIGN.md §2: counter mode, GHASH/Poly1305 accumulated). Verified mode writes the plaintext
    /// into the one record it may hold (invariant 3); bufferless mode forwards it at once, keeping back only the
    /// possible content type and padding, and the record's final segment until the tag checks.
    /// </summary>
    private bool ProcessClientBytes(int h, ref Flow f, ReadOnlySpan<byte> input)
    {
        bool sent = false;
        while (!input.IsEmpty)
        {
            if (f.Has(FlowFlags.ClientCloseNotify))
            {
                // RFC 8446 §6.1: data received after a closure alert is ignored (and acknowledged, so it stops).
                if (!AppendC2s(h, ref f, input.Length, 0, SeqMapKind.Consumed))
                    return sent;
                f.C2sNextC += (uint)input.Length;
                return sent;
            }
            if (f.Assembler.AtBoundary)
            {
                f.C2sRecordStartC = f.C2sNextC;
                f.C2sRecordStartS = f.C2sNextS;
                f.C2sReleased = 0;
                f.C2sTail = 0;
                f.C2sTailLength = 0;
            }
            AssemblerStep step = f.Assembler.Feed(input, out int consumed, out _, out int bodyBytes);
            ReadOnlySpan<byte> body = input.Slice(consumed - bodyBytes, bodyBytes);
            f.C2sNextC += (uint)consumed;
            input = input[consumed..];
            switch (step)
            {
                case AssemblerStep.Malformed:
                    // RFC 8446 §5.2: a record over 2^14+256 is record_overflow; anything not application_data here
                    // is unexpected_message (RFC 8446 §5).
                    FailFlow(h, ref f, f.Assembler.Header[0] == 23 ? TlsAlertDescription.RecordOverflow : TlsAlertDescription.UnexpectedMessage);
                    return sent;
                case AssemblerStep.HeaderPartial:
                    continue;
                case AssemblerStep.HeaderComplete:
                    if (!BeginClientRecord(h, ref f))
                        return sent;
                    continue;
            }
            if (!DecryptClientPiece(h, ref f, body, out int pending))
                return sent;
            if (f.Assembler.BodyComplete)
            {
                uint recordEnd = f.C2sNextC;
                sent |= CompleteClientRecord(h, ref f, pending);
                // The record was forgotten (map full, a KeyUpdate that must wait): the rest of the segment comes again.
                if (f.State != FlowState.Established || f.C2sNextC != recordEnd)
                    return sent;
            }
            else if (_bufferless)
            {
                // A body step that does not complete the record used up the segment: release what it decrypted.
                sent |= ReleaseEarly(h, ref f, pending);
            }
        }
        return sent;
    }

    /// <summary>The record's prefix is whole: start the streaming opener (and, in verified mode, take the hold).</summary>
    private bool BeginClientRecord(int h, ref Flow f)
    {
        int ciphertextLength = f.Assembler.BodyLength - RecordAssembler.TagSize;
        bool tls12 = f.Has(FlowFlags.Tls12);
        // RFC 5246 §7.2: an alert is two bytes; anything else under type 21 is a decode_error.
        if (tls12 && f.Assembler.OuterType == (byte)TlsContentType.Alert && ciphertextLength != 2)
        {
            FailFlow(h, ref f, TlsAlertDescription.DecodeError);
            return false;
        }
        if (!_bufferless && !TryHold(h, Math.Max(1, ciphertextLength)))
        {
            // Over the global budget: forget this record; the client sends it again (nothing was acked).
            Counters.Drop(DropReason.HoldBudget);
            Unwind(h, ref f);
            return false;
        }
        Span<byte> nonce = stackalloc byte[12];
        Span<byte> aad = stackalloc byte[13];
        if (!tls12)
        {
            // RFC 8446 §5.2: the AAD is the record header.
            _keys.Nonce(h, KeyStore.ReadDirection, f.C2sRecord, nonce);
            _keys.BeginOpen(h, f.Generation, nonce, f.Assembler.Header, ciphertextLength);
            return true;
        }
        if (f.Assembler.Prefix > RecordAssembler.HeaderSize)
            _keys.SaltNonce(h, KeyStore.ReadDirection, f.Assembler.ExplicitNonce, nonce);
        else
            _keys.Nonce(h, KeyStore.ReadDirection, f.C2sRecord, nonce);
        WriteTls12Aad(aad, f.C2sRecord, f.Assembler.OuterType, ciphertextLength);
        _keys.BeginOpen(h, f.Generation, nonce, aad, ciphertextLength);
        return true;
    }

    /// <summary>RFC 5246 §6.2.3.3: additional_data = seq_num + TLSCompressed.type + TLSCompressed.version + TLSCompressed.length.</summary>
    private static void WriteTls12Aad(Span<byte> aad, ulong record, byte type, int plaintextLength)
    {
        BinaryPrimitives.WriteUInt64BigEndian(aad, record);
        aad[8] = type;
        aad[9] = 3;
        aad[10] = 3;
        BinaryPrimitives.WriteUInt16BigEndian(aad[11..], (ushort)plaintextLength);
    }

    /// <summary>
    /// Decrypts one body piece. Verified mode writes it into the held record; bufferless mode puts the held tail
    /// first in the scratch buffer, then the new plaintext: <paramref name="pending"/> bytes of
    /// <see cref="_plain"/> are then decrypted and not yet forwarded.
    /// </summary>
    private bool DecryptClientPiece(int h, ref Flow f, ReadOnlySpan<byte> body, out int pending)
    {
        pending = 0;
        Bufferless.Crypto.Aead.RecordOpener? opener = _keys.ResumeOpen(h, f.Generation);
        if (opener is null)
        {
            // Another flow took this flow's cache entry and with it the MAC state: the record is soft state.
            Counters.Drop(DropReason.KeyCacheEvicted);
            Unwind(h, ref f);
            return false;
        }
        int ciphertextLength = f.Assembler.BodyLength - RecordAssembler.TagSize;
        if (!_bufferless)
        {
            int done = Math.Min(f.Assembler.BodyFill - body.Length, ciphertextLength);
            opener.Update(body, _held[h].AsSpan(done));
            return true;
        }
        int tail = f.C2sTailLength;
        LoadTail(ref f, _plain.AsSpan(0, tail));
        pending = tail + opener.Update(body, _plain.AsSpan(tail));
        return true;
    }

    private static void LoadTail(ref Flow f, Span<byte> destination)
    {
        destination.Clear();
        Span<byte> first = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(first, f.C2sTail);
        first[..Math.Min(8, destination.Length)].CopyTo(destination);
    }

    private static void StoreTail(ref Flow f, ReadOnlySpan<byte> held)
    {
        Span<byte> first = stackalloc byte[8];
        first.Clear();
        held[..Math.Min(8, held.Length)].CopyTo(first);
        f.C2sTail = BinaryPrimitives.ReadUInt64LittleEndian(first);
        f.C2sTailLength = (ushort)held.Length;
    }

    /// <summary>Forgets the record being assembled (its bytes will come again).</summary>
    private void Unwind(int h, ref Flow f)
    {
        if (RecordStateIsHard(ref f))
        {
            // Part of it was acknowledged to the client: it will not come again (GrantRecordPartAck).
            ResetForLostRecordState(h, ref f);
            return;
        }
        ForgetPartAck(h, ref f);
        f.C2sNextC = f.C2sRecordStartC;
        f.C2sNextS = f.C2sRecordStartS;
        f.C2sReleased = 0;
        f.C2sTail = 0;
        f.C2sTailLength = 0;
        f.Assembler.Reset();
        _keys.EndOpen(h);
        ReleaseHeld(h);
    }

    private bool AppendC2s(int h, ref Flow f, int cLength, int sLength, SeqMapKind kind)
    {
        SeqMap map = RentMap(ref _c2sMaps[h], f.C2sRecord, storeTags: false);
        if (map.IsFull)
        {
            Counters.Drop(DropReason.MapFull);
            return false;
        }
        map.Append(f.C2sRecordStartC, f.C2sRecordStartS, cLength, sLength, kind, 0);
        return true;
    }

    /// <summary>The last body byte of a record arrived: check the tag, then act on the content type.</summary>
    private bool CompleteClientRecord(int h, ref Flow f, int pending)
    {
        SeqMap map = RentMap(ref _c2sMaps[h], f.C2sRecord, storeTags: false);
        if (map.IsFull)
        {
            Counters.Drop(DropReason.MapFull);
            Unwind(h, ref f);
            return false;
        }
        int bodyLength = f.Assembler.BodyLength;
        int ciphertextLength = bodyLength - RecordAssembler.TagSize;
        bool ok = _keys.ResumeOpen(h, f.Generation)!.Finish();
        _keys.EndOpen(h);
        if (!ok)
        {
            ReleaseHeld(h);
            Counters.TagFailures++;
            // RFC 8446 §5.2 / RFC 5246 §7.2.2: a record that fails to deprotect is answered with bad_record_mac.
            FailFlow(h, ref f, TlsAlertDescription.BadRecordMac);
            return false;
        }
        Counters.RecordsDecrypted++;
        // What is not forwarded yet: the whole record (verified) or the held tail and the final piece (bufferless).
        ReadOnlySpan<byte> plain = _bufferless ? _plain.AsSpan(0, pending) : _held[h].AsSpan(0, ciphertextLength);
        TlsContentType type;
        ReadOnlySpan<byte> content;
        if (f.Has(FlowFlags.Tls12))
        {
            type = (TlsContentType)f.Assembler.OuterType;
            content = plain;
        }
        else
        {
            // RFC 8446 §5.4: the content type is the last non-zero byte; none at all is unexpected_message.
            int last = plain.LastIndexOfAnyExcept((byte)0);
            if (last < 0)
            {
                ReleaseHeld(h);
                FailFlow(h, ref f, TlsAlertDescription.UnexpectedMessage);
                return false;
            }
            type = (TlsContentType)plain[last];
            content = plain[..last];
            // RFC 8446 §5.4: inner plaintext over 2^14 + 1 bytes is record_overflow.
            if (f.C2sReleased + content.Length > MaxPlaintext)
            {
                ReleaseHeld(h);
                FailFlow(h, ref f, TlsAlertDescription.RecordOverflow);
                return false;
            }
        }
        if (type != TlsContentType.ApplicationData && f.C2sReleased > 0)
        {
            // DESIGN.md §6: a record that turns out not to be data after part of it went on is a violation.
            ReleaseHeld(h);
            FailFlow(h, ref f, TlsAlertDescription.UnexpectedMessage);
            return false;
        }
        int recordLength = f.Assembler.Prefix + bodyLength;
        bool sent = false;
        bool keyUpdate = false;
        switch (type)
        {
            case TlsContentType.ApplicationData:
                Observer?.OnRelease(h, f.C2sRecord, true, true);
                sent = ForwardToServer(h, ref f, content);
                map.Append(f.C2sRecordStartC, f.C2sRecordStartS, recordLength, f.C2sReleased + content.Length, SeqMapKind.Data, 0);
                break;
            case TlsContentType.Alert:
                // RFC 8446 §6 / RFC 5246 §7.2: an alert is two bytes, level and description.
                if (content.Length != 2)
                {
                    ReleaseHeld(h);
                    FailFlow(h, ref f, TlsAlertDescription.DecodeError);
                    return false;
                }
                var description = (TlsAlertDescription)content[1];
                if (description is not (TlsAlertDescription.CloseNotify or TlsAlertDescription.UserCanceled))
                {
                    // RFC 8446 §6.2: after a fatal alert the connection closes without an answer.
                    ReleaseHeld(h);
                    Counters.ProtocolErrors++;
                    SendResetToServer(ref f, f.C2sNextS);
                    CloseFlow(h, ref f);
                    return false;
                }
                map.Append(f.C2sRecordStartC, f.C2sRecordStartS, recordLength, 0, SeqMapKind.Consumed, 0);
                if (description == TlsAlertDescription.CloseNotify)
                {
                    f.Flags |= FlowFlags.ClientCloseNotify;
                    f.C2sCloseNotifyEnd = f.C2sNextC;
                }
                break;
            case TlsContentType.Handshake when !f.Has(FlowFlags.Tls12):
                if (!CheckClientKeyUpdate(h, ref f, content, out bool updateRequested))
                    return false;
                if (_readKeyHistories[h] is { IsFull: true })
                {
                    // Too many KeyUpdates ahead of the server's ACK: a rewind could need the key from before each, and
                    // only so many are kept (invariant 4). Forget this record; the client sends it again.
                    ReleaseHeld(h);
                    Counters.Drop(DropReason.KeyUpdateBusy);
                    Unwind(h, ref f);
                    return false;
                }
                map.Append(f.C2sRecordStartC, f.C2sRecordStartS, recordLength, 0, SeqMapKind.Consumed, 0);
                keyUpdate = true;
                if (updateRequested)
                    f.Flags |= FlowFlags.KeyUpdatePending;
                break;
            default:
                // RFC 8446 §5: any other type (or a TLS 1.2 handshake record, which would be renegotiation) is
                // unexpected_message.
                ReleaseHeld(h);
                FailFlow(h, ref f, TlsAlertDescription.UnexpectedMessage);
                return false;
        }
        ReleaseHeld(h);
        f.C2sRecord++;
        f.C2sReleased = 0;
        f.Flags &= ~(FlowFlags.RecordPartAcked | FlowFlags.PartAckWanted);
        ForgetCopyIfAcked(h, ref f);
        f.C2sTail = 0;
        f.C2sTailLength = 0;
        f.Assembler.NextRecord();
        if (keyUpdate)
        {
            // RFC 8446 §4.6.3: the client's next record is protected with its next traffic secret; RFC 8446 §5.3:
            // the record number restarts at 0 with the new key. The record itself is never forwarded.
            Counters.KeyUpdatesReceived++;
            Span<byte> previous = stackalloc byte[TrafficKeyUpdate.MaxSecret];
            int length = _keys.UpdateRead(h, previous);
            RentHistory(h).Push(f.C2sRecordStartC, previous[..length]);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(previous);
            f.C2sRecord = 0;
            map.RestartNumbering(0);
            TrySendOwnKeyUpdate(h, ref f);
        }
        SendAckToServerIfIdle(h, ref f);
        return sent;
    }

    /// <summary>
    /// A TLS 1.3 handshake record after the handshake: only a whole KeyUpdate is accepted (RFC 8446 §4.6.3; the
    /// engine offers no post-handshake authentication, and RFC 8446 §5.1 keeps a KeyUpdate alone at the end of its
    /// record, since the key changes after it).
    /// </summary>
    private bool CheckClientKeyUpdate(int h, ref Flow f, ReadOnlySpan<byte> content, out bool updateRequested)
    {
        updateRequested = false;
        if (content.Length < 4 || content[0] != 24 || !_keys.CanUpdate(h))
        {
            ReleaseHeld(h);
            FailFlow(h, ref f, TlsAlertDescription.UnexpectedMessage);
            return false;
        }
        if (content.Length != 5 || content[1] != 0 || content[2] != 0 || content[3] != 1)
        {
            ReleaseHeld(h);
            FailFlow(h, ref f, TlsAlertDescription.DecodeError);
            return false;
        }
        // RFC 8446 §4.6.3: request_update is update_not_requested(0) or update_requested(1); anything else is
        // illegal_parameter.
        if (content[4] > 1)
        {
            ReleaseHeld(h);
            FailFlow(h, ref f, TlsAlertDescription.IllegalParameter);
            return false;
        }
        updateRequested = content[4] == 1;
        return true;
    }

    /// <summary>
    /// Records the server acknowledged already leave the map at once: a consumed record (nothing for the server),
    /// or a record processed again after a rewind whose plaintext the server had. The client then hears of it.
    /// </summary>
    private void SendAckToServerIfIdle(int h, ref Flow f)
    {
        if (_c2sMaps[h] is { Count: > 0 } map && Seq.Ge(f.ServerAck, map[0].BEnd) && map.Acknowledge(f.ServerAck, out _) > 0)
        {
            NoteClientKeyUpdatePassed(h, ref f);
            SendAckToClient(h, ref f);
        }
    }

    /// <summary>Once a client KeyUpdate record left the map no rewind reaches before it: the secret before it goes.</summary>
    private void NoteClientKeyUpdatePassed(int h, ref Flow f)
    {
        if (_readKeyHistories[h] is not { } history)
            return;
        history.DropPassed(_c2sMaps[h] is { Count: > 0 } map ? map[0].A : null);
        if (history.Count == 0)
            ReturnHistory(h);
    }

    private ReadKeyHistory RentHistory(int h) =>
        _readKeyHistories[h] ??= _historyPool.Count > 0 ? _historyPool.Pop() : new ReadKeyHistory();

    private void ReturnHistory(int h)
    {
        if (_readKeyHistories[h] is not { } history)
            return;
        history.Clear();
        _historyPool.Push(history);
        _readKeyHistories[h] = null;
    }

    /// <summary>
    /// Bufferless mode (DESIGN.md invariant 3, §6): the plaintext of a record's earlier segments goes on before the
    /// tag is checked, except (TLS 1.3) the last non-zero byte and any zeros after it: they may be the inner content
    /// type and padding (RFC 8446 §5.4), and are held in the flow slot. TLS 1.2 records carry their type outside,
    /// so application data goes on whole and an alert waits for its tag.
    /// </summary>
    private const int MinEarlyRelease = 8;

    private bool ReleaseEarly(int h, ref Flow f, int pending)
    {
        ReadOnlySpan<byte> plain = _plain.AsSpan(0, pending);
        int release;
        if (f.Has(FlowFlags.Tls12))
        {
            release = f.Assembler.OuterType == (byte)TlsContentType.ApplicationData ? pending : 0;
        }
        else
        {
            int last = plain.LastIndexOfAnyExcept((byte)0);
            // A non-zero byte this far in means the content is longer than any alert (2 bytes) or KeyUpdate (4
            // bytes, RFC 8446 §4.6.3) could be: an honest client's control record is never released early, so only
            // a hostile one can hit the reset for a record that turns out not to be data. Until then the first
            // bytes stay held (at most 7, plus zeros: they fit the flow's 8-byte tail).
            release = last <= 0 || f.C2sReleased + last < MinEarlyRelease ? 0 : last;
        }
        StoreTail(ref f, plain[release..]);
        if (release == 0)
            return false;
        f.Flags |= FlowFlags.PartialReleased;
        Observer?.OnRelease(h, f.C2sRecord, false, false);
        bool sent = ForwardToServer(h, ref f, plain[..release]);
        f.C2sReleased += release;
        return sent;
    }

    /// <summary>Plaintext to the server at <see cref="Flow.C2sNextS"/>, in segments of the server's MSS.</summary>
    private bool ForwardToServer(int h, ref Flow f, ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty)
            return false;
        CopyForwarded(h, ref f, content);
        SendPlainToServer(h, ref f, f.C2sNextS, content);
        f.C2sNextS += (uint)content.Length;
        f.C2sHighS = Seq.Max(f.C2sHighS, f.C2sNextS);
        f.C2sLastForwardMs = _now;
        Counters.BytesClientToServer += content.Length;
        return true;
    }

    /// <summary>Plaintext to the server from <paramref name="seq"/>, in segments of the server's MSS, the last one pushed.</summary>
    private void SendPlainToServer(int h, ref Flow f, uint seq, ReadOnlySpan<byte> content)
    {
        int room = Math.Max(64, f.ServerMss - (f.Has(FlowFlags.Timestamps) ? 12 : 0));
        uint ack = AckForServer(h, ref f);
        ushort window = WindowToServer(h, ref f);
        while (!content.IsEmpty)
        {
            int n = Math.Min(room, content.Length);
            OutSegment o = ToServer(ref f, seq, ack, n == content.Length ? TcpFlags.Ack | TcpFlags.Psh : TcpFlags.Ack, window);
            content[..n].CopyTo(PayloadArea(o));
            EmitToServer(ref f, o, n);
            seq += (uint)n;
            content = content[n..];
        }
    }

    private bool OnClientFin(int h, ref Flow f)
    {
        if (!f.Assembler.AtBoundary)
        {
            // A FIN inside a record truncates it: the record can never be checked.
            FailFlow(h, ref f, TlsAlertDescription.DecodeError);
            return false;
        }
        if (f.Has(FlowFlags.ClientFin))
            return false;
        f.C2sRecordStartC = f.C2sNextC;
        f.C2sRecordStartS = f.C2sNextS;
        if (!AppendC2s(h, ref f, 1, 1, SeqMapKind.Fin))
            return false;
        f.Flags |= FlowFlags.ClientFin;
        OutSegment o = ToServer(ref f, f.C2sNextS, AckForServer(h, ref f), TcpFlags.Ack | TcpFlags.Fin, WindowToServer(h, ref f));
        EmitToServer(ref f, o, 0);
        f.C2sNextC++;
        f.C2sNextS++;
        f.C2sHighS = Seq.Max(f.C2sHighS, f.C2sNextS);
        SendAckToServerIfIdle(h, ref f);
        return true;
    }

    /// <summary>
    /// Ends a flow for a record-layer error (DESIGN.md invariant 5, patent MAC-failure handling): RST to the
    /// server, the alert then RST to the client, counted.
    /// </summary>
    private void FailFlow(int h, ref Flow f, TlsAlertDescription alert)
    {
        if (alert != TlsAlertDescription.BadRecordMac)
            Counters.ProtocolErrors++;
        SendResetToServer(ref f, f.C2sNextS);
        Span<byte> content = [2, (byte)alert];
        if (SealAndSend(h, ref f, f.S2cRecord, f.S2cNextC, content, TlsContentType.Alert, TcpFlags.Ack | TcpFlags.Psh, null, out _))
        {
            f.S2cRecord++;
            f.S2cNextC += (uint)(content.Length + f.Overhead);
        }
        SendResetToClient(ref f, f.S2cNextC);
        CloseFlow(h, ref f);
    }

    private static uint TagPrefix(ReadOnlySpan<byte> tag) => BinaryPrimitives.ReadUInt32BigEndian(tag);
}
