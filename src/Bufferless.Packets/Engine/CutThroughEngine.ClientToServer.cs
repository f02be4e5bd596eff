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
                ForwardResetToServer(h, ref f, f.C2sNextS);
            return;
        }
        bool ackMoved = seg.Has(TcpFlags.Ack) && OnClientAck(h, ref f, seg.AcknowledgementNumber, seg.Window);
        bool sent = false;
        if (seg.Payload.Length > 0 || seg.Has(TcpFlags.Fin))
            sent = OnClientData(h, ref f, seg.SequenceNumber, seg.Payload, seg.Has(TcpFlags.Fin));
        if (f.State != FlowState.Established)
            return;
        // A pure ACK always passes (a duplicate ACK tells the server of a loss); a data segment that produced
        // nothing for the server passes its ACK only if it moved, so held records do not look like duplicate ACKs.
        if (!sent && (seg.Payload.Length == 0 && !seg.Has(TcpFlags.Fin) || ackMoved))
            SendAckToServer(h, ref f);
    }

    /// <summary>The client acknowledged ciphertext: drop whole records from the server-to-client map.</summary>
    private bool OnClientAck(int h, ref Flow f, uint ack, ushort window)
    {
        uint bytes = (uint)window << f.ClientWScale;
        bool moved = bytes != f.ClientWindow;
        f.ClientWindow = bytes;
        if (Seq.Le(ack, f.ClientAck) || Seq.Gt(ack, f.S2cNextC))
            return moved;
        f.ClientAck = ack;
        if (_s2cMaps[h] is { } map)
        {
            if (map.Acknowledge(ack, out _) > 0)
                moved = true;
            if (map.Count == 0)
                ReturnMap(ref _s2cMaps[h]);
        }
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
        if (Seq.Gt(a, f.ClientAckSent))
            f.ClientAckSent = a;
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
            int record = Math.Max(1, MaxRecordPlaintext(ref f)) + RecordOverhead;
            long records = (availC + record - 1) / record;
            plain = Math.Max(0, availC - records * RecordOverhead);
        }
        long window = Seq.Diff(f.S2cNextS, AckForServer(h, ref f)) + plain;
        return (ushort)Math.Min(65535, window >> f.ClientWScale);
    }

    /// <summary>
    /// The window the client gets, in ciphertext bytes: the server's plaintext window plus record overhead, but
    /// never less than one whole record past the ACK, so a record larger than the server's window can still
    /// arrive and be checked (the engine holds it: verified mode's one record per flow).
    /// </summary>
    private ushort WindowToClient(ref Flow f)
    {
        long window = f.ServerWindow;
        window += window / 16 + 512;
        window = Math.Max(window, RecordAssembler.HeaderSize + RecordAssembler.MaxBody);
        return (ushort)Math.Min(65535, window >> f.ServerWScale);
    }

    private void SendAckToServer(int h, ref Flow f)
    {
        OutSegment o = ToServer(ref f, f.C2sNextS, AckForServer(h, ref f), TcpFlags.Ack, WindowToServer(h, ref f));
        EmitToServer(ref f, o, 0);
    }

    private void SendAckToClient(int h, ref Flow f)
    {
        OutSegment o = ToClient(ref f, f.S2cNextC, AckForClient(h, ref f), TcpFlags.Ack, WindowToClient(ref f));
        EmitToClient(ref f, o, 0);
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
            Counters.Drop(DropReason.OutOfOrder);
            SendAckToClient(h, ref f);
            return false;
        }
        int total = data.Length + (fin ? 1 : 0);
        if (front >= total)
        {
            if (ShouldRewind(h, ref f, seq))
            {
                Rewind(h, ref f);
                front = 0;
            }
            else
            {
                Counters.Drop(DropReason.Duplicate);
                SendAckToClient(h, ref f);
                return false;
            }
        }
        bool sent = false;
        if (front < data.Length)
            sent = ProcessClientBytes(h, ref f, data[front..]);
        if (f.State != FlowState.Established)
            return sent;
        if (fin && f.C2sNextC == seq + (uint)data.Length)
            sent |= OnClientFin(h, ref f);
        return sent;
    }

    private bool ShouldRewind(int h, ref Flow f, uint seq)
    {
        if (!Seq.Gt(f.C2sNextS, f.ServerAck) || _now - f.C2sLastForwardMs <= _options.RewindHoldoffMs)
            return false;
        if (_c2sMaps[h] is { Count: > 0 } map)
            return map[0].A == seq;
        return !f.Assembler.AtBoundary && f.C2sRecordStartC == seq;
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
        f.Assembler.Reset();
        ReleaseHeld(h);
        if (f.Has(FlowFlags.ClientCloseNotify) && Seq.Gt(f.C2sCloseNotifyEnd, c))
            f.Flags &= ~FlowFlags.ClientCloseNotify;
        if (f.Has(FlowFlags.ClientFin))
            f.Flags &= ~FlowFlags.ClientFin;
    }

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
            }
            AssemblerStep step = f.Assembler.Feed(input, out int consumed, out int bodyOffset, out int bodyBytes);
            switch (step)
            {
                case AssemblerStep.Malformed:
                    // RFC 8446 §5.2: a record over 2^14+256 is record_overflow; anything not application_data here
                    // is unexpected_message (RFC 8446 §5).
                    FailFlow(h, ref f, f.Assembler.Header[0] == 23 ? TlsAlertDescription.RecordOverflow : TlsAlertDescription.UnexpectedMessage);
                    return sent;
                case AssemblerStep.HeaderComplete:
                    if (!TryHold(h, f.Assembler.BodyLength))
                    {
                        // Over the global budget: forget this record; the client sends it again (nothing was acked).
                        Counters.Drop(DropReason.HoldBudget);
                        Unwind(ref f);
                        return sent;
                    }
                    break;
                case AssemblerStep.Body:
                    input.Slice(consumed - bodyBytes, bodyBytes).CopyTo(_held[h].AsSpan(bodyOffset));
                    break;
            }
            f.C2sNextC += (uint)consumed;
            input = input[consumed..];
            if (step != AssemblerStep.Body)
                continue;
            if (f.Assembler.BodyComplete)
            {
                sent |= CompleteClientRecord(h, ref f);
                if (f.State != FlowState.Established)
                    return sent;
            }
            else if (_bufferless && input.IsEmpty)
            {
                sent |= ReleaseEarly(h, ref f);
            }
        }
        return sent;
    }

    /// <summary>Forgets the record being assembled (its bytes will come again).</summary>
    private void Unwind(ref Flow f)
    {
        f.C2sNextC = f.C2sRecordStartC;
        f.C2sNextS = f.C2sRecordStartS;
        f.C2sReleased = 0;
        f.Assembler.Reset();
    }

    private bool AppendC2s(int h, ref Flow f, int cLength, int sLength, SeqMapKind kind)
    {
        SeqMap map = RentMap(ref _c2sMaps[h], f.C2sRecord);
        if (map.IsFull)
        {
            Counters.Drop(DropReason.MapFull);
            return false;
        }
        map.Append(f.C2sRecordStartC, f.C2sRecordStartS, cLength, sLength, kind, 0);
        return true;
    }

    /// <summary>The last body byte of a record arrived: check the tag, then act on the inner content type.</summary>
    private bool CompleteClientRecord(int h, ref Flow f)
    {
        SeqMap map = RentMap(ref _c2sMaps[h], f.C2sRecord);
        if (map.IsFull)
        {
            Counters.Drop(DropReason.MapFull);
            ReleaseHeld(h);
            Unwind(ref f);
            return false;
        }
        int bodyLength = f.Assembler.BodyLength;
        Span<byte> nonce = stackalloc byte[12];
        _keys.Nonce(h, KeyStore.ReadDirection, f.C2sRecord, nonce);
        Span<byte> plain = _plain.AsSpan(0, bodyLength - RecordAssembler.TagSize);
        bool ok = _keys.Get(h, f.Generation, KeyStore.ReadDirection)
            .Open(nonce, f.Assembler.Header, _held[h].AsSpan(0, bodyLength), plain);
        ReleaseHeld(h);
        if (!ok)
        {
            Counters.TagFailures++;
            // RFC 8446 §5.2: a record that fails to deprotect MUST be answered with bad_record_mac.
            FailFlow(h, ref f, TlsAlertDescription.BadRecordMac);
            return false;
        }
        Counters.RecordsDecrypted++;
        // RFC 8446 §5.4: the content type is the last non-zero byte; none at all is unexpected_message.
        int last = plain.LastIndexOfAnyExcept((byte)0);
        if (last < 0)
        {
            FailFlow(h, ref f, TlsAlertDescription.UnexpectedMessage);
            return false;
        }
        var type = (TlsContentType)plain[last];
        ReadOnlySpan<byte> content = plain[..last];
        // RFC 8446 §5.4: inner plaintext over 2^14 + 1 bytes is record_overflow.
        if (content.Length > MaxPlaintext)
        {
            FailFlow(h, ref f, TlsAlertDescription.RecordOverflow);
            return false;
        }
        if (type != TlsContentType.ApplicationData && f.C2sReleased > 0)
        {
            // DESIGN.md §6: a record that turns out not to be data after part of it went on is a violation.
            FailFlow(h, ref f, TlsAlertDescription.UnexpectedMessage);
            return false;
        }
        int recordLength = RecordAssembler.HeaderSize + bodyLength;
        bool sent = false;
        switch (type)
        {
            case TlsContentType.ApplicationData:
                Observer?.OnRelease(h, f.C2sRecord, true, true);
                sent = ForwardToServer(h, ref f, content[f.C2sReleased..]);
                map.Append(f.C2sRecordStartC, f.C2sRecordStartS, recordLength, content.Length, SeqMapKind.Data, 0);
                break;
            case TlsContentType.Alert:
                // RFC 8446 §6: an alert is two bytes, level and description.
                if (content.Length != 2)
                {
                    FailFlow(h, ref f, TlsAlertDescription.DecodeError);
                    return false;
                }
                var description = (TlsAlertDescription)content[1];
                if (description is not (TlsAlertDescription.CloseNotify or TlsAlertDescription.UserCanceled))
                {
                    // RFC 8446 §6.2: after a fatal alert the connection closes without an answer.
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
            default:
                // Post-handshake messages (KeyUpdate, RFC 8446 §4.6.3) are not followed by the engine yet: the
                // flow ends with unexpected_message rather than guess at keys.
                FailFlow(h, ref f, TlsAlertDescription.UnexpectedMessage);
                return false;
        }
        f.C2sRecord++;
        f.C2sReleased = 0;
        f.Assembler.NextRecord();
        SendAckToServerIfIdle(h, ref f);
        return sent;
    }

    /// <summary>
    /// Records the server acknowledged already leave the map at once: a consumed record (nothing for the server),
    /// or a record processed again after a rewind whose plaintext the server had. The client then hears of it.
    /// </summary>
    private void SendAckToServerIfIdle(int h, ref Flow f)
    {
        if (_c2sMaps[h] is { Count: > 0 } map && Seq.Ge(f.ServerAck, map[0].BEnd) && map.Acknowledge(f.ServerAck, out _) > 0)
            SendAckToClient(h, ref f);
    }

    /// <summary>
    /// Bufferless mode (DESIGN.md invariant 3): the plaintext of a record's earlier segments goes on before the tag
    /// is checked, except the last non-zero byte and any zeros after it (they may be the inner content type and
    /// padding, RFC 8446 §5.4). The segment that completes the record waits for the tag.
    /// </summary>
    private const int MinEarlyRelease = 8;

    private bool ReleaseEarly(int h, ref Flow f)
    {
        int ciphertextLength = f.Assembler.BodyLength - RecordAssembler.TagSize;
        int available = Math.Min(f.Assembler.BodyFill, ciphertextLength);
        if (available <= f.C2sReleased)
            return false;
        Span<byte> nonce = stackalloc byte[12];
        _keys.Nonce(h, KeyStore.ReadDirection, f.C2sRecord, nonce);
        int from = f.C2sReleased;
        Span<byte> plain = _plain.AsSpan(from, available - from);
        _keys.Get(h, f.Generation, KeyStore.ReadDirection).ApplyKeystream(nonce, from, _held[h].AsSpan(from, available - from), plain);
        int last = plain.LastIndexOfAnyExcept((byte)0);
        // A non-zero byte this far in means the content is longer than any alert (2 bytes) or KeyUpdate (5 bytes,
        // RFC 8446 §4.6.3) could be: an honest client's control record is never released early, so only a
        // hostile one can hit the reset below for a record that turns out not to be data.
        if (last <= 0 || from + last < MinEarlyRelease)
            return false;
        f.Flags |= FlowFlags.PartialReleased;
        Observer?.OnRelease(h, f.C2sRecord, false, false);
        bool sent = ForwardToServer(h, ref f, plain[..last]);
        f.C2sReleased += last;
        return sent;
    }

    /// <summary>Plaintext to the server at <see cref="Flow.C2sNextS"/>, in segments of the server's MSS.</summary>
    private bool ForwardToServer(int h, ref Flow f, ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty)
            return false;
        int room = Math.Max(64, f.ServerMss - (f.Has(FlowFlags.Timestamps) ? 12 : 0));
        uint ack = AckForServer(h, ref f);
        ushort window = WindowToServer(h, ref f);
        while (!content.IsEmpty)
        {
            int n = Math.Min(room, content.Length);
            OutSegment o = ToServer(ref f, f.C2sNextS, ack, n == content.Length ? TcpFlags.Ack | TcpFlags.Psh : TcpFlags.Ack, window);
            content[..n].CopyTo(PayloadArea(o));
            EmitToServer(ref f, o, n);
            f.C2sNextS += (uint)n;
            f.C2sHighS = Seq.Max(f.C2sHighS, f.C2sNextS);
            f.C2sLastForwardMs = _now;
            Counters.BytesClientToServer += n;
            content = content[n..];
        }
        return true;
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
            f.S2cNextC += (uint)(content.Length + RecordOverhead);
        }
        SendResetToClient(ref f, f.S2cNextC);
        CloseFlow(h, ref f);
    }

    private static uint TagPrefix(ReadOnlySpan<byte> tag) => BinaryPrimitives.ReadUInt32BigEndian(tag);
}
