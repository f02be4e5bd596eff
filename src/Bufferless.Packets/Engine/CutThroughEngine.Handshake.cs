using Bufferless.Packets.Flows;
using Bufferless.Packets.Wire;
using Bufferless.Tls;

namespace Bufferless.Packets.Engine;

public sealed partial class CutThroughEngine
{
    /// <summary>RFC 9293 §3.7.1: the default MSS when the SYN carries none.</summary>
    private const ushort DefaultMss = 536;
    private const int EvictScan = 32;

    // ---------------------------------------------------------------------------------------------------------
    // TCP set-up: passes end to end, rewritten

    private void OnClientSyn(int h, in FlowKey key, ref Segment seg)
    {
        if (h >= 0)
        {
            ref Flow old = ref _flows[h];
            if (old.State is FlowState.SynSeen or FlowState.SynAckSeen && old.ClientIsn == seg.SequenceNumber)
            {
                // A retransmitted SYN: pass it again.
                _currentFlow = h;
                old.LastActivityMs = _now;
                ForwardSyn(ref old);
                return;
            }
            if (old.State == FlowState.Established && IsNewIncarnation(ref old, ref seg))
            {
                // The client closed this 4-tuple (its FIN passed) and opens it again: a Linux client that received the
                // server's FIN first keeps no TIME-WAIT and soon reuses the port, while the engine still keeps the old flow
                // for the closing timeout. Dropping the SYN stalled the new connection for that long (hs_load.py: 5 s
                // timeouts). The server accepts such a SYN in TIME-WAIT (RFC 9293 §3.6.1, RFC 6191 §2), so the engine
                // does too. A server that has not closed yet would answer with a challenge ACK: reset it first.
                if (!old.Has(FlowFlags.ServerFin))
                    SendResetToServer(ref old, old.C2sNextS);
                Counters.FlowsReopened++;
            }
            else if (old.State is not (FlowState.Closed or FlowState.SynSeen or FlowState.SynAckSeen))
            {
                Counters.Drop(DropReason.UnexpectedInState);
                return;
            }
            RemoveFlow(h);
        }
        h = _flows.Add(key);
        if (h < 0 && TryEvict())
            h = _flows.Add(key);
        if (h < 0)
        {
            Counters.Drop(DropReason.TableFull);
            return;
        }
        _currentFlow = h;
        Counters.FlowsCreated++;
        ref Flow f = ref _flows[h];
        SetState(ref f, FlowState.SynSeen);
        f.LastActivityMs = _now;
        f.ClientIsn = seg.SequenceNumber;
        f.C2sHighC = seg.SequenceNumber + 1;
        f.ClientMss = seg.Mss != 0 ? seg.Mss : DefaultMss;
        f.ClientWScale = seg.WindowScale;
        if (seg.HasTimestamps)
        {
            f.Flags |= FlowFlags.Timestamps;
            f.ClientTsVal = seg.TsVal;
        }
        if (seg.SackPermitted)
            f.Flags |= FlowFlags.ClientSack;
        f.ClientWindow = seg.Window;
        ForwardSyn(ref f);
        ScheduleTimer(h, ref f);
    }

    /// <summary>
    /// A SYN on the 4-tuple of a flow whose client already sent its FIN starts a new connection when its sequence number
    /// lies beyond everything the old one used (RFC 9293 §3.6.1: the ISN of a new incarnation is above the old final
    /// sequence number) or, with timestamps, its TSval is newer than the old connection's (RFC 6191 §2). Anything else is
    /// an old duplicate and is dropped.
    /// </summary>
    private static bool IsNewIncarnation(ref Flow old, ref Segment seg)
    {
        if (!old.Has(FlowFlags.ClientFin))
            return false;
        if (seg.HasTimestamps && old.Has(FlowFlags.ClientTsSeen))
            return Seq.Gt(seg.TsVal, old.ClientTsVal);
        return Seq.Ge(seg.SequenceNumber, old.C2sNextC);
    }

    private void ForwardSyn(ref Flow f)
    {
        // Patent Fig. 5 step 204: the MSS the server sees leaves room for the record overhead, so that one server
        // segment plus the overhead still fits the client's MSS. The SYN comes before the ClientHello, so the version
        // is not known yet: clamp by the largest overhead (29, TLS 1.2 AES-GCM); TLS 1.3 flows lose 7 bytes a segment.
        // SACK-permitted is passed on when the client offered it; the engine itself SACKs the server (class remarks).
        OutSegment o = ToServer(ref f, f.ClientIsn, 0, TcpFlags.Syn, (ushort)f.ClientWindow);
        o.Mss = (ushort)Math.Max(64, f.ClientMss - MaxRecordOverhead);
        o.WindowScale = f.ClientWScale;
        o.TsVal = f.ClientTsVal;
        o.TsEcr = 0;
        EmitControlToServer(ref f, o, f.Has(FlowFlags.ClientSack), default);
    }

    /// <summary>
    /// When the table is full, a half-open or closed flow makes room (a SYN flood cannot evict established flows). Flows
    /// whose FINs both passed count as closed: at a high rate of short connections they would otherwise fill the table
    /// for the closing timeout.
    /// </summary>
    private bool TryEvict()
    {
        for (int i = 0; i < EvictScan; i++)
        {
            int h = _evictCursor;
            _evictCursor = (_evictCursor + 1) % _flows.Capacity;
            ref Flow f = ref _flows[h];
            FlowState state = f.State;
            if (state is FlowState.SynSeen or FlowState.SynAckSeen or FlowState.Closed
                || state == FlowState.Established && f.Has(FlowFlags.ClientFin) && f.Has(FlowFlags.ServerFin))
            {
                RemoveFlow(h);
                return true;
            }
        }
        return false;
    }

    private void OnServerSynAck(int h, ref Flow f, ref Segment seg)
    {
        if (seg.Has(TcpFlags.Rst))
        {
            // The server refused the connection: pass the refusal on.
            if (seg.Has(TcpFlags.Ack) && seg.AcknowledgementNumber == f.ClientIsn + 1)
            {
                OutSegment r = ToClient(ref f, 0, f.ClientIsn + 1, TcpFlags.Rst | TcpFlags.Ack, 0);
                EmitToClient(ref f, r, 0);
                Counters.ResetsFromServer++;
                RemoveFlow(h);
            }
            return;
        }
        if (!seg.Has(TcpFlags.Syn) || !seg.Has(TcpFlags.Ack) || seg.AcknowledgementNumber != f.ClientIsn + 1)
        {
            Counters.Drop(DropReason.UnexpectedInState);
            return;
        }
        if (f.State == FlowState.SynSeen)
        {
            SetState(ref f, FlowState.SynAckSeen);
            f.ServerIsn = seg.SequenceNumber;
            f.ServerMss = seg.Mss != 0 ? seg.Mss : DefaultMss;
            // RFC 7323 §2.2: scaling applies only when both SYNs carry the option.
            bool scaled = seg.WindowScale != 0xFF && f.ClientWScale != 0xFF;
            f.ServerWScale = scaled ? seg.WindowScale : (byte)0;
            if (!scaled)
                f.ClientWScale = 0;
            // RFC 7323 §3.2: timestamps only when both SYNs carry them.
            if (!seg.HasTimestamps)
                f.Flags &= ~FlowFlags.Timestamps;
            // RFC 2018 §2: the server may SACK-permit only a SYN that offered it (the engine passes it on only then).
            if (seg.SackPermitted && f.Has(FlowFlags.ClientSack))
                f.Flags |= FlowFlags.ServerSack;
            f.ServerWindow = seg.Window;
        }
        else if (seg.SequenceNumber != f.ServerIsn)
        {
            Counters.Drop(DropReason.UnexpectedInState);
            return;
        }
        OutSegment o = ToClient(ref f, f.ServerIsn, f.ClientIsn + 1, TcpFlags.Syn | TcpFlags.Ack, seg.Window);
        o.Mss = f.ServerMss;
        o.WindowScale = f.ServerWScale == 0 && seg.WindowScale == 0xFF ? (byte)0xFF : seg.WindowScale;
        // The newest TSval seen, even if this SYN-ACK was overtaken by a later copy (RFC 7323 §5: PAWS).
        o.TsVal = f.ServerTsVal;
        o.TsEcr = seg.TsEcr;
        // RFC 2018 §2: SACK-permitted in the SYN-ACK because the client's SYN had it; the engine alone SACKs (class remarks).
        EmitControlToClient(ref f, o, f.Has(FlowFlags.ClientSack), default);
    }

    /// <summary>The client's first segment after the SYN-ACK: its ACK completes TCP at the server; any data is the ClientHello.</summary>
    private void OnClientThirdSegment(int h, ref Flow f, ref Segment seg)
    {
        if (seg.Has(TcpFlags.Rst))
        {
            ForwardResetToServer(h, ref f, f.ClientIsn + 1);
            return;
        }
        if (!seg.Has(TcpFlags.Ack) || seg.AcknowledgementNumber != f.ServerIsn + 1 || seg.SequenceNumber != f.ClientIsn + 1)
        {
            Counters.Drop(DropReason.UnexpectedInState);
            return;
        }
        f.ClientAck = seg.AcknowledgementNumber;
        f.ClientWindow = (uint)seg.Window << f.ClientWScale;
        // The server sees a plain three-way handshake; the TLS bytes stay with the engine.
        OutSegment o = ToServer(ref f, f.ClientIsn + 1, f.ServerIsn + 1, TcpFlags.Ack, seg.Window);
        EmitToServer(ref f, o, 0);
        f.Flags |= FlowFlags.TcpEstablished;
        f.ServerAck = f.ClientIsn + 1;
        _handshakes[h] = new HandshakeContext(_options.TlsConfig, f.ServerIsn, f.ClientIsn);
        SetState(ref f, FlowState.Handshake);
        f.RetransmitTimeoutMs = _options.InitialRetransmitTimeoutMs;
        if (seg.Payload.Length > 0 || seg.Has(TcpFlags.Fin))
            OnClientHandshakeSegment(h, ref f, ref seg);
    }

    private void ForwardResetToServer(int h, ref Flow f, uint seq)
    {
        Counters.ResetsFromClient++;
        SendResetToServer(ref f, seq);
        RemoveFlow(h);
    }

    private void OnServerDuringHandshake(int h, ref Flow f, ref Segment seg)
    {
        if (seg.Has(TcpFlags.Rst))
        {
            Counters.ResetsFromServer++;
            SendResetToClient(ref f, _handshakes[h]!.SndNxt);
            RemoveFlow(h);
            return;
        }
        if (seg.Has(TcpFlags.Syn))
        {
            // Our ACK of its SYN-ACK was lost: send it again.
            if (seg.SequenceNumber == f.ServerIsn)
                EmitToServer(ref f, ToServer(ref f, f.ClientIsn + 1, f.ServerIsn + 1, TcpFlags.Ack, (ushort)Math.Min(65535, f.ClientWindow >> f.ClientWScale)), 0);
            return;
        }
        f.ServerWindow = (uint)seg.Window << f.ServerWScale;
        if (seg.Payload.Length > 0 || seg.Has(TcpFlags.Fin))
        {
            // The server speaks before the TLS handshake is over: it will send again once it is (nothing acked it).
            Counters.Drop(DropReason.UnexpectedInState);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // TLS handshake: the engine is the TCP endpoint for these bytes only

    private void OnClientHandshakeSegment(int h, ref Flow f, ref Segment seg)
    {
        HandshakeContext hs = _handshakes[h]!;
        if (seg.Has(TcpFlags.Rst))
        {
            if (Seq.Ge(seg.SequenceNumber, hs.RcvNxt) && Seq.Lt(seg.SequenceNumber, hs.RcvNxt + (1u << 20)))
                ForwardResetToServer(h, ref f, f.ClientIsn + 1);
            return;
        }
        if (seg.Has(TcpFlags.Ack))
        {
            uint a = seg.AcknowledgementNumber;
            if (Seq.Gt(a, hs.SndUna) && Seq.Le(a, hs.SndNxt))
            {
                hs.SndUna = a;
                f.Retransmissions = 0;
                f.RetransmitTimeoutMs = _options.InitialRetransmitTimeoutMs;
                f.RetransmitDeadline = a == hs.SndNxt ? long.MaxValue : _now + f.RetransmitTimeoutMs;
            }
            if (Seq.Ge(a, f.ClientAck) && Seq.Le(a, hs.SndNxt))
                f.ClientAck = a;
            f.ClientWindow = (uint)seg.Window << f.ClientWScale;
        }
        ReadOnlySpan<byte> data = seg.Payload;
        bool fin = seg.Has(TcpFlags.Fin);
        if (data.IsEmpty && !fin)
        {
            SendFlight(h, ref f);
            return;
        }
        int front = Seq.Diff(hs.RcvNxt, seg.SequenceNumber);
        if (front < 0)
        {
            // Records the client sent right behind a Finished that was lost: kept (with SACK) for the cut-through path,
            // so the client need not send them again once it resends its Finished (see HoldClientSegment).
            Counters.Drop(DropReason.OutOfOrder);
            if (!fin)
                HoldClientBytes(h, ref f, seg.SequenceNumber, data, hs.RcvNxt, hs.RcvNxt + (uint)CipherHold.Reach, reveal: false);
            SendHandshakeAck(ref f, hs);
            return;
        }
        if (front >= data.Length)
        {
            if (fin && front == data.Length)
            {
                // The client gives up during the handshake: end both sides.
                Counters.HandshakesFailed++;
                ForwardResetToServer(h, ref f, f.ClientIsn + 1);
                return;
            }
            Counters.Drop(DropReason.Duplicate);
            SendHandshakeAck(ref f, hs);
            return;
        }
        data = data[front..];
        while (!data.IsEmpty)
        {
            TlsStatus status = hs.Tls.Process(data, out int consumed);
            data = data[consumed..];
            hs.RcvNxt += (uint)consumed;
            switch (status)
            {
                case TlsStatus.WantRead:
                    if (consumed == 0)
                        data = default;
                    continue;
                case TlsStatus.WantWrite:
                    if (!hs.DrainTls())
                    {
                        FailHandshake(h, ref f, hs);
                        return;
                    }
                    continue;
                case TlsStatus.HandshakeComplete:
                    if (!hs.DrainTls())
                    {
                        FailHandshake(h, ref f, hs);
                        return;
                    }
                    SendFlight(h, ref f);
                    CompleteHandshake(h, ref f, hs);
                    // Bytes after the client's Finished are already records for the cut-through path.
                    if (!data.IsEmpty || fin)
                    {
                        OnClientData(h, ref f, f.C2sNextC, data, fin);
                        return;
                    }
                    if (_c2sHolds[h] is { Count: > 0 })
                        DrainClientHold(h, ref f);
                    if (f.State == FlowState.Established)
                        SendAckToClient(h, ref f);
                    return;
                default:
                    FailHandshake(h, ref f, hs);
                    return;
            }
        }
        if (fin)
        {
            Counters.HandshakesFailed++;
            ForwardResetToServer(h, ref f, f.ClientIsn + 1);
            return;
        }
        if (!hs.DrainTls())
        {
            FailHandshake(h, ref f, hs);
            return;
        }
        if (!SendFlight(h, ref f))
            SendHandshakeAck(ref f, hs);
    }

    /// <summary>Sends flight bytes not sent yet, in segments of the client's MSS and within its window. True if any went.</summary>
    private bool SendFlight(int h, ref Flow f)
    {
        HandshakeContext hs = _handshakes[h]!;
        bool sent = false;
        // RFC 9293 §3.8.6: never beyond the client's window (a tiny window gets small segments; zero still lets one byte probe it).
        uint windowEnd = f.ClientAck + Math.Max(f.ClientWindow, 1u);
        while (Seq.Lt(hs.SndNxt, hs.FlightEnd) && Seq.Lt(hs.SndNxt, windowEnd))
        {
            int max = Math.Min(SegmentRoom(ref f), Seq.Diff(windowEnd, hs.SndNxt));
            SendFlightSegment(ref f, hs, hs.SndNxt, max, out int n);
            hs.SndNxt += (uint)n;
            sent = true;
        }
        if (hs.SndUna != hs.SndNxt && f.RetransmitDeadline == long.MaxValue)
            f.RetransmitDeadline = _now + f.RetransmitTimeoutMs;
        return sent;
    }

    /// <summary>Payload bytes that fit one segment towards the client (its MSS less the timestamp option, RFC 6691).</summary>
    private static int SegmentRoom(ref Flow f) => Math.Max(64, f.ClientMss - (f.Has(FlowFlags.Timestamps) ? 12 : 0));

    private void SendFlightSegment(ref Flow f, HandshakeContext hs, uint seq, int max, out int n)
    {
        ReadOnlySpan<byte> bytes = hs.FlightFrom(seq, max);
        n = bytes.Length;
        uint ack = f.State == FlowState.Established ? f.ClientAckSent : hs.RcvNxt;
        OutSegment o = ToClient(ref f, seq, ack, TcpFlags.Ack | TcpFlags.Psh, WindowToClient(ref f));
        bytes.CopyTo(PayloadArea(o));
        EmitToClient(ref f, o, n);
    }

    private void SendHandshakeAck(ref Flow f, HandshakeContext hs)
    {
        OutSegment o = ToClient(ref f, hs.SndNxt, hs.RcvNxt, TcpFlags.Ack, WindowToClient(ref f));
        EmitToClient(ref f, o, 0);
    }

    /// <summary>Timer: resends the unacknowledged flight (go-back-N from the oldest byte) with exponential backoff.</summary>
    private void RetransmitFlight(int h, ref Flow f)
    {
        f.RetransmitDeadline = long.MaxValue;
        if (f.State is not (FlowState.Handshake or FlowState.Established) || _handshakes[h] is not { } hs || hs.SndUna == hs.SndNxt)
            return;
        if (f.Retransmissions >= _options.MaxRetransmissions)
        {
            Counters.HandshakesFailed++;
            Expire(h, ref f);
            return;
        }
        f.Retransmissions++;
        Counters.HandshakeRetransmissions++;
        uint seq = hs.SndUna;
        while (Seq.Lt(seq, hs.SndNxt))
        {
            SendFlightSegment(ref f, hs, seq, Math.Min(SegmentRoom(ref f), Seq.Diff(hs.SndNxt, seq)), out int n);
            seq += (uint)n;
        }
        f.RetransmitTimeoutMs = Math.Min(f.RetransmitTimeoutMs * 2, 60_000);
        f.RetransmitDeadline = _now + f.RetransmitTimeoutMs;
    }

    private void FailHandshake(int h, ref Flow f, HandshakeContext hs)
    {
        Counters.HandshakesFailed++;
        // The alert the TLS core queued goes out (best effort), then both ends are reset.
        hs.DrainTls();
        SendFlight(h, ref f);
        SendResetToClient(ref f, hs.SndNxt);
        SendResetToServer(ref f, f.ClientIsn + 1);
        RemoveFlow(h);
    }

    /// <summary>
    /// The client's Finished checked: take the record keys and switch to cut-through. The client had every flight
    /// byte up to the server Finished (it could not have computed its Finished otherwise), but a ticket sent in the
    /// flight after the server Finished may still be unacknowledged: the flight is kept until the client
    /// acknowledges it, and retransmitted on the same timer (DESIGN.md §6: the engine's own bytes).
    /// Sequence bases: client ciphertext from here maps to the server's ISN+1-relative plaintext from client ISN+1;
    /// the server's first byte (ISN+1) goes to the client right after the flight.
    /// </summary>
    private void CompleteHandshake(int h, ref Flow f, HandshakeContext hs)
    {
        using (TlsTrafficKeys keys = hs.Tls.TakeRecordProtection())
        {
            _keys.Set(h, keys.Aead, keys.ReadKey, keys.ReadIv, keys.WriteKey, keys.WriteIv);
            if (keys.Version != TlsVersion.Tls12)
                _keys.SetSecrets(h, keys.ReadTrafficSecret, keys.WriteTrafficSecret);
            f.C2sRecord = keys.NextReadSequence;
            f.S2cRecord = keys.NextWriteSequence;
            f.Overhead = (byte)keys.RecordOverhead;
            bool tls12 = keys.Version == TlsVersion.Tls12;
            if (tls12)
                f.Flags |= FlowFlags.Tls12;
            f.Assembler.Configure(tls12, keys.ExplicitNonceLength);
        }
        f.C2sNextC = hs.RcvNxt;
        f.C2sRecordStartC = hs.RcvNxt;
        f.C2sNextS = f.ClientIsn + 1;
        f.C2sRecordStartS = f.C2sNextS;
        f.C2sHighS = f.C2sNextS;
        f.ClientAckSent = hs.RcvNxt;
        f.S2cNextS = f.ServerIsn + 1;
        f.S2cNextC = hs.SndNxt;
        hs.ReleaseTls();
        if (Seq.Ge(hs.SndUna, hs.FlightEnd))
        {
            if (Seq.Lt(f.ClientAck, hs.SndNxt))
                f.ClientAck = hs.SndNxt;
            f.RetransmitDeadline = long.MaxValue;
            f.Retransmissions = 0;
            hs.Dispose();
            _handshakes[h] = null;
        }
        SetState(ref f, FlowState.Established);
        Counters.HandshakesCompleted++;
    }
}
