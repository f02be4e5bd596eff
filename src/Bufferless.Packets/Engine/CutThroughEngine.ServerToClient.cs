using System.Buffers.Binary;
using System.Security.Cryptography;
using Bufferless.Crypto.Aead;
using Bufferless.Packets.Flows;
using Bufferless.Packets.Wire;
using Bufferless.Tls;

namespace Bufferless.Packets.Engine;

public sealed partial class CutThroughEngine
{
    private static ReadOnlySpan<byte> CloseNotify => [1, 0];

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void OnServerEstablished(int h, ref Flow f, ref Segment seg)
    {
        if (seg.Has(TcpFlags.Rst))
        {
            Counters.ResetsFromServer++;
            SendResetToClient(ref f, f.S2cNextC);
            RemoveFlow(h);
            return;
        }
        // A window probe or keepalive (Linux: tcp_xmit_probe_skb): no data, at a sequence number the server knows is
        // acknowledged, so that the receiver must answer with an ACK carrying its window (RFC 9293 §3.8.6.1, §3.8.4).
        bool probe = seg.Payload.Length == 0 && !seg.Has(TcpFlags.Fin) && Seq.Lt(seg.SequenceNumber, AckForServer(h, ref f));
        bool ackMoved = seg.Has(TcpFlags.Ack) && OnServerAck(h, ref f, seg.AcknowledgementNumber, seg.Window);
        bool sent = false;
        if (seg.Payload.Length > 0 || seg.Has(TcpFlags.Fin))
            sent = OnServerData(h, ref f, seg.SequenceNumber, seg.Payload, seg.Has(TcpFlags.Fin));
        if (f.State == FlowState.Established && _s2cReorders[h] is { Count: > 0 })
            sent |= DrainReorderHold(h, ref f);
        if (f.State != FlowState.Established)
            return;
        if (probe)
            SendProbeToClient(h, ref f);
        else if (!sent && (seg.Payload.Length == 0 && !seg.Has(TcpFlags.Fin) || ackMoved))
            SendAckToClient(h, ref f);
    }

    /// <summary>
    /// Passes the server's window probe or keepalive on as one the client must answer: no data, one byte below what the
    /// client acknowledged. Translated like any pure ACK (at the engine's next sequence number) it would be an acceptable
    /// segment the client need not answer, and a server whose zero window was opened by a client ACK lost on the way
    /// waited for ever: the kernel lab's 1 MiB download through 2% loss on the client's side stalled that way, 30 KB
    /// before its end, with the server probing every 0.2, 0.4 ... 6.8 s and the client silent. The client's answer comes
    /// back as a pure ACK with its window, translated to the server as usual.
    /// </summary>
    private void SendProbeToClient(int h, ref Flow f)
    {
        Counters.ProbesToClient++;
        uint below = Seq.Min(f.ClientAck, f.S2cNextC) - 1;
        EmitToClient(ref f, ToClient(ref f, below, AckForClient(h, ref f), TcpFlags.Ack, WindowToClient(ref f)), 0);
    }

    /// <summary>The server acknowledged plaintext: drop whole client records from the client-to-server map.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private bool OnServerAck(int h, ref Flow f, uint ack, ushort window)
    {
        uint bytes = (uint)window << f.ServerWScale;
        bool moved = bytes != f.ServerWindow;
        f.ServerWindow = bytes;
        if (Seq.Gt(ack, f.ServerAck) && Seq.Le(ack, f.C2sHighS))
        {
            f.ServerAck = ack;
            ForgetCopyIfAcked(h, ref f);
            if (f.Has(FlowFlags.PartAckWanted) && Seq.Ge(ack, f.C2sNextS))
            {
                // The client is stuck on its head (GrantRecordPartAck) and the server now has all that was forwarded.
                GrantRecordPartAck(h, ref f);
                moved = true;
            }
        }
        // Also when the ACK did not move: records processed again after a rewind may already be covered.
        if (_c2sMaps[h] is { } map)
        {
            if (map.Acknowledge(f.ServerAck, out _) > 0)
                moved = true;
            if (map.Count == 0)
                ReturnMap(ref _c2sMaps[h]);
            NoteClientKeyUpdatePassed(h, ref f);
        }
        return moved;
    }

    /// <summary>
    /// Server plaintext at <paramref name="seq"/>: new bytes become new records (one per segment, split only when
    /// a segment would not fit the client's MSS); bytes already sent are sealed again under their original record
    /// numbers, cut at the original boundaries (DESIGN.md §6). Returns true when something went to the client.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private bool OnServerData(int h, ref Flow f, uint seq, ReadOnlySpan<byte> data, bool fin)
    {
        // New bytes continue the stream where sealing stopped, or where the window hold ends.
        if (Seq.Gt(seq, f.S2cNextS + f.S2cHoldLength))
        {
            // An earlier server segment is missing: records are numbered in order, so this one cannot be sealed yet.
            // Keep it (bounded soft state) until the gap closes; when it does not fit, drop it as a lost packet.
            // While the engine's own KeyUpdate waits, new server bytes are refused (they wait for the new key), so the
            // gap is of the engine's making: no hold and no duplicate ACKs then.
            if (f.Has(FlowFlags.KeyUpdatePending) || !HoldServerSegment(h, seq, data, fin))
            {
                Counters.Drop(DropReason.ServerGap);
                return false;
            }
            // As a receiver does on out-of-order data (RFC 9293 §3.10.7.4, RFC 5681 §4.2): acknowledge at once, so
            // the server sees duplicate ACKs and retransmits the missing segment now rather than after its RTO.
            SendAckToServer(h, ref f);
            return false;
        }
        uint end = seq + (uint)data.Length;
        bool sent = false;
        if (Seq.Lt(seq, f.S2cNextS))
        {
            uint oldEnd = Seq.Min(end, f.S2cNextS);
            sent = ResendServerBytes(h, ref f, seq, oldEnd, data);
            if (f.State != FlowState.Established)
                return sent;
        }
        if (Seq.Gt(end, f.S2cNextS))
        {
            uint from = Seq.Max(seq, f.S2cNextS);
            sent |= SealNewServerBytes(h, ref f, from, data[Seq.Diff(from, seq)..]);
        }
        if (fin && f.State == FlowState.Established)
            sent |= OnServerFin(h, ref f, end);
        return sent;
    }

    private bool HoldServerSegment(int h, uint seq, ReadOnlySpan<byte> data, bool fin)
    {
        ReorderHold hold = _s2cReorders[h] ??= _reorderPool.Count > 0 ? _reorderPool.Pop() : new ReorderHold();
        int rentedBefore = hold.RentedBytes;
        if (rentedBefore == 0 && HeldTotal + ReorderHold.Capacity > _options.GlobalHoldBudgetBytes)
        {
            ReturnReorderHold(h);
            return false;
        }
        bool kept = hold.TryAdd(seq, data, fin);
        Counters.ReorderHeldBytes += hold.RentedBytes - rentedBefore;
        if (kept)
            Counters.ServerSegmentsHeld++;
        else if (hold.Count == 0)
            ReturnReorderHold(h);
        return kept;
    }

    /// <summary>Seals the held segments the server's in-order data has caught up with.</summary>
    private bool DrainReorderHold(int h, ref Flow f)
    {
        bool sent = false;
        while (f.State == FlowState.Established && _s2cReorders[h] is { } hold
               && hold.TryTake(f.S2cNextS + f.S2cHoldLength, out uint seq, out ReadOnlySpan<byte> data, out bool fin))
            sent |= OnServerData(h, ref f, seq, data, fin);
        if (_s2cReorders[h] is { Count: 0 })
            ReturnReorderHold(h);
        return sent;
    }

    private void ReturnReorderHold(int h)
    {
        if (_s2cReorders[h] is not { } hold)
            return;
        Counters.ReorderHeldBytes -= hold.RentedBytes;
        hold.Release();
        _s2cReorders[h] = null;
        _reorderPool.Push(hold);
    }

    /// <summary>Largest plaintext per record so that a record fits one segment to the client.</summary>
    private static int MaxRecordPlaintext(ref Flow f) =>
        Math.Min(MaxPlaintext, Math.Max(1, SegmentRoom(ref f) - f.Overhead));

    /// <summary>
    /// New server bytes (<paramref name="data"/> starts at <paramref name="seq"/>: <see cref="Flow.S2cNextS"/>, or inside
    /// or at the end of the window hold) become records, as many as the
    /// client's window takes. DESIGN.md §6 and the patent's small-window section: when the client's window is full
    /// the engine holds a bounded amount of server data (<see cref="CutThroughOptions.WindowHoldBytes"/> per flow,
    /// within the global budget) and seals it when the client's ACK opens the window, rather than sending beyond
    /// the window. Holding is chosen over not acknowledging because the server would then wait for its
    /// retransmission timer (at least 200 ms on Linux) each time overhead inflation fills the window; the hold is
    /// soft state either way (invariant 1: the server's ACK never covers held bytes), and what exceeds the bound is
    /// dropped unacknowledged, so the server sends it again.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private bool SealNewServerBytes(int h, ref Flow f, uint seq, ReadOnlySpan<byte> data)
    {
        bool sent = false;
        if (f.S2cHoldLength > 0)
        {
            // The hold runs from S2cNextS; data starts inside it or at its end. Release what fits first, then keep
            // only what goes beyond the hold.
            int held = Seq.Diff(f.S2cNextS + f.S2cHoldLength, seq);
            sent = ReleaseWindowHold(h, ref f);
            if (data.Length <= held)
                return sent;
            data = data[held..];
            if (f.S2cHoldLength > 0)
            {
                HoldServerBytes(h, ref f, data);
                return sent;
            }
        }
        int consumed = SealWithinWindow(h, ref f, data, ref sent, out bool windowFull);
        if (consumed < data.Length && windowFull)
            HoldServerBytes(h, ref f, data[consumed..]);
        return sent;
    }

    /// <summary>
    /// Seals records from <paramref name="data"/> (starting at <see cref="Flow.S2cNextS"/>) while they fit the client's
    /// window. Returns the bytes sealed; <paramref name="windowFull"/> says the rest may be held: the window or a
    /// pending KeyUpdate stopped it (not the map or an error).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private int SealWithinWindow(int h, ref Flow f, ReadOnlySpan<byte> data, ref bool sent, out bool windowFull)
    {
        windowFull = false;
        int max = MaxRecordPlaintext(ref f);
        int consumed = 0;
        while (consumed < data.Length)
        {
            if (f.S2cRecord >= (ulong)_options.KeyUpdateAfterRecords && _keys.CanUpdate(h))
            {
                // RFC 8446 §5.5: keys are updated before the AEAD's record limit is reached. A hard cap: no data
                // record goes out under this key past the limit, even while an earlier KeyUpdate is unacknowledged.
                f.Flags |= FlowFlags.KeyUpdatePending;
                TrySendOwnKeyUpdate(h, ref f);
            }
            if (f.Has(FlowFlags.KeyUpdatePending))
            {
                // The KeyUpdate goes first (RFC 8446 §4.6.3: before the next application data record), and only once
                // every record under the old key is acknowledged, so no retransmission ever needs that key again.
                // Meanwhile server data waits in the bounded hold like data for a full window (nothing of it is
                // acknowledged to the server, so what does not fit comes again).
                Counters.KeyUpdateWaits++;
                windowFull = true;
                break;
            }
            SeqMap map = RentMap(ref _s2cMaps[h], f.S2cRecord, storeTags: true);
            if (map.IsFull)
            {
                // Invariant 4: the map is bounded; the server sends these bytes again once the client acknowledges.
                Counters.Drop(DropReason.MapFull);
                break;
            }
            int n = Math.Min(max, data.Length - consumed);
            int room = Seq.Diff(f.ClientAck + f.ClientWindow, f.S2cNextC) - f.Overhead;
            if (n > room)
            {
                // A window smaller than one full record (the patent's 200-300 bytes) is filled with smaller records,
                // but not with slivers: at least half the window's worth, or what is left of the data.
                int usable = (int)Math.Min(int.MaxValue, f.ClientWindow) - f.Overhead;
                bool tiny = f.ClientWindow < (uint)(max + f.Overhead);
                if (!tiny || room < Math.Min(n, Math.Max(1, usable / 2)))
                {
                    windowFull = true;
                    break;
                }
                n = room;
            }
            if (!SealAndSend(h, ref f, f.S2cRecord, f.S2cNextC, data.Slice(consumed, n), TlsContentType.ApplicationData, TcpFlags.Ack | TcpFlags.Psh, null, out uint tag))
                break;
            map.Append(f.S2cNextS, f.S2cNextC, n, n + f.Overhead, SeqMapKind.Data, tag);
            f.S2cNextS += (uint)n;
            f.S2cNextC += (uint)(n + f.Overhead);
            f.S2cRecord++;
            Counters.RecordsEncrypted++;
            Counters.BytesServerToClient += n;
            consumed += n;
            sent = true;
        }
        return consumed;
    }

    /// <summary>Keeps server bytes that follow the hold (bounded per flow and globally; the excess is dropped unacknowledged).</summary>
    private void HoldServerBytes(int h, ref Flow f, ReadOnlySpan<byte> data)
    {
        if (_s2cHolds[h] is null)
        {
            int size = _options.WindowHoldBytes;
            if (size <= 0 || Counters.HeldBytes + Counters.PartialHeldBytes + Counters.WindowHeldBytes + size > _options.GlobalHoldBudgetBytes)
            {
                Counters.Drop(DropReason.ClientWindowFull);
                return;
            }
            _s2cHolds[h] = System.Buffers.ArrayPool<byte>.Shared.Rent(size);
            Counters.WindowHeldBytes += _s2cHolds[h]!.Length;
        }
        byte[] hold = _s2cHolds[h]!;
        Counters.WindowHolds++;
        int take = Math.Min(data.Length, Math.Min(Math.Min(hold.Length, _options.WindowHoldBytes), ushort.MaxValue) - f.S2cHoldLength);
        data[..take].CopyTo(hold.AsSpan(f.S2cHoldLength));
        f.S2cHoldLength += (ushort)take;
        if (take < data.Length)
            Counters.Drop(DropReason.ClientWindowFull);
        if (f.S2cHoldLength == 0)
            ReleaseWindowHoldBuffer(h);
    }

    /// <summary>The client's window opened (or new data came): seal what fits from the hold.</summary>
    private bool ReleaseWindowHold(int h, ref Flow f)
    {
        if (f.S2cHoldLength == 0 || _s2cHolds[h] is not { } hold)
            return false;
        bool sent = false;
        int consumed = SealWithinWindow(h, ref f, hold.AsSpan(0, f.S2cHoldLength), ref sent, out _);
        if (consumed == 0)
            return sent;
        int left = f.S2cHoldLength - consumed;
        hold.AsSpan(consumed, left).CopyTo(hold);
        f.S2cHoldLength = (ushort)left;
        if (left == 0)
            ReleaseWindowHoldBuffer(h);
        return sent;
    }

    private void ReleaseWindowHoldBuffer(int h)
    {
        if (_s2cHolds[h] is not { } buffer)
            return;
        Counters.WindowHeldBytes -= buffer.Length;
        CryptographicOperations.ZeroMemory(buffer);
        System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        _s2cHolds[h] = null;
        _flows[h].S2cHoldLength = 0;
    }

    /// <summary>
    /// A server retransmission of <c>[from, to)</c> (server space; <paramref name="data"/> starts at
    /// <paramref name="from"/>). Keyed by server byte ranges, not packets (DESIGN.md §6): each whole record inside it
    /// is sealed again under its original number, which gives byte-identical ciphertext; a piece of a record (a
    /// sender that splits its retransmissions, a smaller path MTU) is collected until the record is whole
    /// (<see cref="CollectPartialRecord"/>). Bytes the client already acknowledged get an ACK back to the server,
    /// since it evidently missed one.
    /// </summary>
    private bool ResendServerBytes(int h, ref Flow f, uint from, uint to, ReadOnlySpan<byte> data)
    {
        uint firstUnacked = AckForServer(h, ref f);
        if (Seq.Le(to, firstUnacked) || _s2cMaps[h] is not { Count: > 0 } map)
        {
            Counters.Drop(DropReason.Duplicate);
            SendAckToServer(h, ref f);
            return true;
        }
        uint start = Seq.Max(from, firstUnacked);
        int i = map.IndexOfA(start);
        if (i < 0)
            return false;
        bool sent = false;
        for (; i < map.Count; i++)
        {
            SeqMapEntry e = map[i];
            if (!Seq.Lt(e.A, to) || e.Kind != SeqMapKind.Data)
                break;
            if (Seq.Ge(e.A, from) && Seq.Le(e.AEnd, to))
            {
                ReadOnlySpan<byte> plain = data.Slice(Seq.Diff(e.A, from), e.ALength);
                if (!SealAndSend(h, ref f, map.RecordNumber(i), e.B, plain, TlsContentType.ApplicationData, TcpFlags.Ack | TcpFlags.Psh, e.Tag, out _))
                    return sent;
                if (_s2cPartials[h] is not null && f.S2cPartialA == e.A)
                    ReleasePartial(h);
                Counters.RetransmissionsReEncrypted++;
                sent = true;
                continue;
            }
            uint pieceStart = Seq.Max(e.A, from);
            uint pieceEnd = Seq.Min(e.AEnd, to);
            sent |= CollectPartialRecord(h, ref f, i, e, pieceStart, data.Slice(Seq.Diff(pieceStart, from), Seq.Diff(pieceEnd, pieceStart)));
            if (f.State != FlowState.Established)
                return sent;
        }
        return sent;
    }

    /// <summary>
    /// DESIGN.md §6: a retransmission covering part of record <paramref name="index"/> waits for the rest instead of
    /// being dropped. One record per flow is collected, in order from its first byte (a sender's retransmission burst
    /// starts where the engine's ACK pointed, a record boundary, and goes on in order); its buffer is soft state
    /// counted against the global budget (invariant 4): over budget, out of order, or replaced by another record, the
    /// piece is dropped and the server sends it again. Once whole, the record is sealed under its original number; the
    /// tag must match (invariant 2). Returns true when the record went to the client.
    /// </summary>
    private bool CollectPartialRecord(int h, ref Flow f, int index, SeqMapEntry e, uint pieceStart, ReadOnlySpan<byte> piece)
    {
        if (_s2cPartials[h] is null || f.S2cPartialA != e.A)
        {
            if (pieceStart != e.A)
            {
                Counters.Drop(DropReason.PartialRetransmission);
                return false;
            }
            ReleasePartial(h);
            if (!TryRentPartial(h, e.ALength))
            {
                Counters.Drop(DropReason.HoldBudget);
                return false;
            }
            f.S2cPartialA = e.A;
            f.S2cPartialFill = 0;
        }
        byte[] buffer = _s2cPartials[h]!;
        int offset = Seq.Diff(pieceStart, e.A);
        if (offset > f.S2cPartialFill)
        {
            // A hole before this piece: only a prefix is kept (bounded bookkeeping); it comes again.
            Counters.Drop(DropReason.PartialRetransmission);
            return false;
        }
        int end = offset + piece.Length;
        if (end > f.S2cPartialFill)
        {
            piece[(f.S2cPartialFill - offset)..].CopyTo(buffer.AsSpan(f.S2cPartialFill));
            f.S2cPartialFill = (ushort)end;
        }
        Counters.PartialRetransmissionPieces++;
        if (f.S2cPartialFill < e.ALength)
            return false;
        SeqMap map = _s2cMaps[h]!;
        bool ok = SealAndSend(h, ref f, map.RecordNumber(index), e.B, buffer.AsSpan(0, e.ALength), TlsContentType.ApplicationData,
            TcpFlags.Ack | TcpFlags.Psh, e.Tag, out _);
        ReleasePartial(h);
        if (ok)
        {
            Counters.RetransmissionsReEncrypted++;
            Counters.PartialRetransmissionsJoined++;
        }
        return ok;
    }

    private bool TryRentPartial(int h, int bytes)
    {
        if (Counters.HeldBytes + Counters.PartialHeldBytes + Counters.WindowHeldBytes + bytes > _options.GlobalHoldBudgetBytes)
            return false;
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(bytes);
        _s2cPartials[h] = buffer;
        Counters.PartialHeldBytes += buffer.Length;
        return true;
    }

    private void ReleasePartial(int h)
    {
        if (_s2cPartials[h] is not { } buffer)
            return;
        Counters.PartialHeldBytes -= buffer.Length;
        // Server plaintext: not a secret of the engine's, but nothing of one flow may show up in another's buffer.
        CryptographicOperations.ZeroMemory(buffer);
        System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        _s2cPartials[h] = null;
    }

    /// <summary>The client acknowledged the record being collected (or all): its pieces are not needed.</summary>
    private void NotePartialAcked(int h, ref Flow f)
    {
        if (_s2cPartials[h] is null)
            return;
        if (_s2cMaps[h] is not { Count: > 0 } map || Seq.Lt(f.S2cPartialA, map[0].A))
            ReleasePartial(h);
    }

    /// <summary>Server FIN at <paramref name="finSeq"/>: close_notify then FIN to the client (patent Fig. 5, RFC 8446 §6.1).</summary>
    private bool OnServerFin(int h, ref Flow f, uint finSeq)
    {
        if (finSeq == f.S2cNextS && !f.Has(FlowFlags.ServerFin) && f.S2cHoldLength == 0)
        {
            if (Seq.Diff(f.ClientAck + f.ClientWindow, f.S2cNextC) < CloseNotify.Length + f.Overhead)
            {
                // close_notify must not go beyond the client's window either: the server sends its FIN again.
                Counters.Drop(DropReason.ClientWindowFull);
                return false;
            }
            SeqMap map = RentMap(ref _s2cMaps[h], f.S2cRecord, storeTags: true);
            if (map.IsFull)
            {
                Counters.Drop(DropReason.MapFull);
                return false;
            }
            if (!SealAndSend(h, ref f, f.S2cRecord, f.S2cNextC, CloseNotify, TlsContentType.Alert, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin, null, out uint tag))
                return false;
            int recordLength = CloseNotify.Length + f.Overhead;
            map.Append(f.S2cNextS, f.S2cNextC, 1, recordLength + 1, SeqMapKind.Fin, tag);
            f.S2cNextS++;
            f.S2cNextC += (uint)(recordLength + 1);
            f.S2cRecord++;
            f.Flags |= FlowFlags.ServerFin;
            return true;
        }
        if (Seq.Lt(finSeq, f.S2cNextS) && _s2cMaps[h] is { Count: > 0 } m)
        {
            int i = m.IndexOfA(finSeq);
            if (i >= 0 && m[i].Kind == SeqMapKind.Fin)
                return SealAndSend(h, ref f, m.RecordNumber(i), m[i].B, CloseNotify, TlsContentType.Alert, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin, m[i].Tag, out _);
        }
        return false;
    }

    /// <summary>
    /// Seals <paramref name="content"/> as one record under <paramref name="record"/> straight into the output packet
    /// and sends it at <paramref name="cSeq"/>. With <paramref name="expectedTag"/> (a retransmission) the new tag
    /// must match the original: otherwise the bytes differ from what was sealed under this number before, so the
    /// packet is wiped, never sent, and the flow reset (DESIGN.md invariant 2).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private bool SealAndSend(int h, ref Flow f, ulong record, uint cSeq, ReadOnlySpan<byte> content, TlsContentType type,
        TcpFlags flags, uint? expectedTag, out uint tag)
    {
        OutSegment o = ToClient(ref f, cSeq, AckForClient(h, ref f), flags, WindowToClient(ref f));
        Span<byte> payload = PayloadArea(o);
        int recordLength = content.Length + f.Overhead;
        Span<byte> nonce = stackalloc byte[12];
        RecordAead aead = _keys.Get(h, f.Generation, KeyStore.WriteDirection);
        int prefix;
        // TLS 1.3's inner content type follows the content inside the encryption (empty for TLS 1.2).
        Span<byte> trailer = stackalloc byte[1];
        if (f.Has(FlowFlags.Tls12))
        {
            // RFC 5246 §6.2.3.3: the real type outside, AAD = seq || type || version || plaintext length. AES-GCM
            // (RFC 5288 §3) sends the record number as the explicit nonce; ChaCha20 (RFC 7905 §2) XORs it into the IV.
            prefix = f.Overhead - RecordAssembler.TagSize;
            trailer = default;
            payload[0] = (byte)type;
            if (prefix > RecordAssembler.HeaderSize)
            {
                BinaryPrimitives.WriteUInt64BigEndian(payload[RecordAssembler.HeaderSize..], record);
                _keys.SaltNonce(h, KeyStore.WriteDirection, record, nonce);
            }
            else
            {
                _keys.Nonce(h, KeyStore.WriteDirection, record, nonce);
            }
        }
        else
        {
            // RFC 8446 §5.2: opaque_type application_data, the real type as the last inner byte.
            prefix = RecordAssembler.HeaderSize;
            trailer[0] = (byte)type;
            payload[0] = (byte)TlsContentType.ApplicationData;
            _keys.Nonce(h, KeyStore.WriteDirection, record, nonce);
        }
        payload[1] = 3;
        payload[2] = 3;
        BinaryPrimitives.WriteUInt16BigEndian(payload[3..], (ushort)(recordLength - RecordAssembler.HeaderSize));
        Span<byte> aad = stackalloc byte[13];
        if (f.Has(FlowFlags.Tls12))
            WriteTls12Aad(aad, record, (byte)type, content.Length);
        else
            aad = aad[..RecordAssembler.HeaderSize];
        if (!f.Has(FlowFlags.Tls12))
            payload[..RecordAssembler.HeaderSize].CopyTo(aad);
        // Sealed from where the content lies (the server's packet) straight into the output packet: no gathering copy.
        int inner = content.Length + trailer.Length;
        aead.SealGather(nonce, aad, content, trailer, payload.Slice(prefix, inner + RecordAssembler.TagSize));
        tag = TagPrefix(payload.Slice(prefix + inner, 4));
        if (expectedTag is uint expected && expected != tag)
        {
            CryptographicOperations.ZeroMemory(payload[..recordLength]);
            Counters.RetransmissionMismatches++;
            SendResetToServer(ref f, f.C2sNextS);
            SendResetToClient(ref f, f.S2cNextC);
            CloseFlow(h, ref f);
            return false;
        }
        Observer?.OnSeal(h, _keys.Epoch(h, KeyStore.WriteDirection), record, (byte)type, content);
        EmitToClient(ref f, o, recordLength);
        return true;
    }

    /// <summary>
    /// Sends the engine's KeyUpdate (RFC 8446 §4.6.3, update_not_requested) once it is owed and every record under
    /// the current write key is acknowledged (the map is empty and the handshake flight is gone), then moves the write
    /// key on and restarts record numbers at 0 (RFC 8446 §5.3). The sealed record takes client-side sequence space
    /// like the handshake flight and is kept in the flow slot and retransmitted until acknowledged (DESIGN.md §6);
    /// later server records follow it in the map.
    /// </summary>
    private void TrySendOwnKeyUpdate(int h, ref Flow f)
    {
        if (!f.Has(FlowFlags.KeyUpdatePending) || f.Has(FlowFlags.OwnBytesUnacked) || _s2cMaps[h] is { Count: > 0 } || _handshakes[h] is not null)
            return;
        if (f.Has(FlowFlags.ServerFin))
        {
            // close_notify went out: no record follows it (RFC 8446 §6.1), a KeyUpdate neither.
            f.Flags &= ~FlowFlags.KeyUpdatePending;
            return;
        }
        ReadOnlySpan<byte> keyUpdate = [24, 0, 0, 1, 0];
        if (!SealAndSend(h, ref f, f.S2cRecord, f.S2cNextC, keyUpdate, TlsContentType.Handshake, TcpFlags.Ack | TcpFlags.Psh, null, out _))
            return;
        int length = keyUpdate.Length + f.Overhead;
        OutSegment o = ToClient(ref f, 0, 0, TcpFlags.Ack | TcpFlags.Psh, 0);
        PayloadArea(o)[..length].CopyTo(f.OwnBytes);
        f.S2cOwnStart = f.S2cNextC;
        f.S2cOwnLength = (byte)length;
        f.S2cNextC += (uint)length;
        _keys.UpdateWrite(h);
        f.S2cRecord = 0;
        f.Flags = (f.Flags & ~FlowFlags.KeyUpdatePending) | FlowFlags.OwnBytesUnacked;
        f.Retransmissions = 0;
        f.RetransmitTimeoutMs = _options.InitialRetransmitTimeoutMs;
        f.RetransmitDeadline = _now + f.RetransmitTimeoutMs;
        Counters.KeyUpdatesSent++;
    }

    /// <summary>The client acknowledged up to <paramref name="ack"/>: the engine's own record may be done with.</summary>
    private void NoteOwnBytesAcked(ref Flow f, uint ack)
    {
        if (!f.Has(FlowFlags.OwnBytesUnacked) || Seq.Lt(ack, f.S2cOwnStart + f.S2cOwnLength))
            return;
        f.Flags &= ~FlowFlags.OwnBytesUnacked;
        f.RetransmitDeadline = long.MaxValue;
        f.Retransmissions = 0;
        CryptographicOperations.ZeroMemory(f.OwnBytes);
    }

    /// <summary>Timer: the engine's KeyUpdate record again, byte for byte, with backoff (like the flight).</summary>
    private void RetransmitOwnBytes(int h, ref Flow f)
    {
        f.RetransmitDeadline = long.MaxValue;
        if (!f.Has(FlowFlags.OwnBytesUnacked))
            return;
        if (f.Retransmissions >= _options.MaxRetransmissions)
        {
            Expire(h, ref f);
            return;
        }
        f.Retransmissions++;
        Counters.OwnRetransmissions++;
        OutSegment o = ToClient(ref f, f.S2cOwnStart, AckForClient(h, ref f), TcpFlags.Ack | TcpFlags.Psh, WindowToClient(ref f));
        ((ReadOnlySpan<byte>)f.OwnBytes)[..f.S2cOwnLength].CopyTo(PayloadArea(o));
        EmitToClient(ref f, o, f.S2cOwnLength);
        f.RetransmitTimeoutMs = Math.Min(f.RetransmitTimeoutMs * 2, 60_000);
        f.RetransmitDeadline = _now + f.RetransmitTimeoutMs;
    }
}
