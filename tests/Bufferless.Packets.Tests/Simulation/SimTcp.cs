using Bufferless.Packets.Engine;
using Bufferless.Packets.Flows;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Simulation;

/// <summary>Knobs of one simulated TCP endpoint.</summary>
internal sealed record SimTcpOptions
{
    public int Mss { get; init; } = 1460;
    /// <summary>Window scale shift offered in the SYN; 0xFF: no option.</summary>
    public byte WindowScale { get; init; } = 7;
    public bool Timestamps { get; init; } = true;
    /// <summary>Where this endpoint's timestamp clock starts (Linux picks a random offset per connection).</summary>
    public uint TsOffset { get; init; } = 1000;
    public bool OfferSack { get; init; } = true;
    /// <summary>Receive window advertised (bytes; the application reads at once, so it stays fixed).</summary>
    public int ReceiveWindow { get; init; } = 65535;
    /// <summary>Probability that a segment is cut shorter than the MSS (re-segmentation on every send and resend).</summary>
    public double ShortSegments { get; init; }
    /// <summary>
    /// When false (a Linux-like sender), a retransmission covers whole original segments, coalescing several up to the
    /// MSS, but never splits one; when true every resend is cut anew.
    /// </summary>
    public bool SplitRetransmissions { get; init; } = true;
    /// <summary>
    /// Keep segments that arrive ahead of a hole and deliver them once it fills (RFC 9293 §3.10.7.4 allows it; Linux
    /// does it). Without SACK the sender still learns of the hole only through the cumulative ACK.
    /// </summary>
    public bool OutOfOrderQueue { get; init; } = true;
    /// <summary>
    /// With <see cref="SplitRetransmissions"/> false: retransmissions are cut into pieces of at most this many bytes
    /// (0: never), cutting original segments, as a Linux sender does after the path MTU shrank (DESIGN.md §6).
    /// </summary>
    public int RetransmitPiece { get; init; }
    /// <summary>Drop data beyond the advertised receive window (RFC 9293 §3.10.7.4: not acceptable) and count it.</summary>
    public bool EnforceWindow { get; init; }
    /// <summary>
    /// Send like Linux (see <see cref="SimTcp"/> remarks): a congestion window, a scoreboard with SACK when the peer
    /// granted it, one segment on a retransmission timeout with cwnd 1 and exponential back-off, then slow start.
    /// </summary>
    public bool LinuxSender { get; init; }
}

/// <summary>
/// A small TCP for the simulator: three-way handshake, cumulative ACKs, go-back-N retransmission on timeout and
/// on three duplicate ACKs (which coalesces and splits what it resends, since segment sizes are drawn anew),
/// RFC 7323 window scaling, timestamps with the PAWS check, FIN. In-order receive only.
/// </summary>
internal sealed partial class SimTcp
{
    private enum State { Closed, Listen, SynSent, SynReceived, Established }

    private readonly SimTcpOptions _o;
    private readonly Random _rng;
    private readonly Action<byte[]> _output;
    private readonly bool _v6;
    private readonly UInt128 _address;
    private readonly UInt128 _peerAddress;
    private readonly ushort _port;
    private ushort _peerPort;
    private State _state;
    private int _peerMss = 536;
    private bool _scale;
    private byte _peerScale;
    private bool _ts;
    private uint _tsRecent;
    private uint _finSeq;
    private int Rto { get => _rto; set => _rto = value; }
    private int _dupAcks;
    private int _rto = 200;
    private uint _peerWindow;
    private readonly SortedSet<long> _boundaries = [];
    private readonly Dictionary<uint, byte[]> _outOfOrder = [];
    private long _boundaryBase;
    private bool _sackOk;
    private readonly LinuxSender? _linux;

    public SimTcp(string name, SimTcpOptions options, Random rng, Action<byte[]> output, bool v6,
        UInt128 address, ushort port, UInt128 peerAddress, ushort peerPort)
    {
        Name = name;
        _o = options;
        _rng = rng;
        _output = output;
        _v6 = v6;
        _address = address;
        _port = port;
        _peerAddress = peerAddress;
        _peerPort = peerPort;
        Iss = (uint)rng.NextInt64(0, 1L << 32);
        if (options.LinuxSender)
            _linux = new LinuxSender(this);
    }

    /// <summary>Timeouts this endpoint took (the Linux sender counts them; the deadlock tests read it).</summary>
    public int Timeouts { get; private set; }
    /// <summary>Times the Linux sender undid a timeout because never-retransmitted data was SACKed (F-RTO, RFC 5682).</summary>
    public int FrtoUndos => _linux?.Undos ?? 0;
    public bool SackNegotiated => _sackOk;
    public Action<string>? Debug { get; set; }

    public string Name { get; }
    public uint Iss { get; }
    public uint SndUna;
    public uint SndNxt;
    public uint RcvNxt;
    /// <summary>Bytes from <see cref="SndUna"/> on: unacknowledged, then unsent.</summary>
    public List<byte> Outgoing { get; } = [];
    public List<byte> Received { get; } = [];
    public bool Closing { get; private set; }
    public bool FinSent { get; private set; }
    public bool FinAcked { get; private set; }
    public bool PeerFin { get; private set; }
    public bool Reset { get; private set; }
    public bool Established => _state == State.Established;
    public long RtoDeadline { get; private set; } = long.MaxValue;
    public int PawsRejects { get; private set; }
    /// <summary>Bytes that arrived beyond the advertised receive window.</summary>
    public long BeyondWindowBytes { get; private set; }
    public List<string> Errors { get; } = [];
    public Action? OnEstablished { get; set; }
    public Action<int>? OnData { get; set; }
    /// <summary>Called with every SYN this endpoint receives (the tests check what the engine did to it).</summary>
    public Action<Segment>? OnSyn { get; set; }

    public void Listen() => _state = State.Listen;

    public void Connect(long now)
    {
        _state = State.SynSent;
        SndUna = Iss;
        SndNxt = Iss + 1;
        SendControl(now, Iss, 0, TcpFlags.Syn, syn: true);
        RtoDeadline = now + _rto;
    }

    public void Write(ReadOnlySpan<byte> data, long now)
    {
        foreach (byte b in data) Outgoing.Add(b);
        Pump(now);
    }

    public void Close(long now)
    {
        Closing = true;
        Pump(now);
    }

    private int SendRoom => Math.Max(1, Math.Min(_peerMss, _o.Mss) - (_ts ? 12 : 0));

    public void OnPacket(byte[] packet, long now)
    {
        if (!SegmentCodec.VerifyTcpChecksum(packet))
        {
            Errors.Add($"{Name}: bad checksum");
            return;
        }
        SegmentCodec.TryParse(packet, out Segment seg);
        if (seg.Has(TcpFlags.Rst))
        {
            if (_state != State.Closed)
                Reset = true;
            return;
        }
        if (_state == State.Listen)
        {
            if (!seg.Has(TcpFlags.Syn) || seg.Has(TcpFlags.Ack))
                return;
            OnSyn?.Invoke(seg);
            _peerPort = seg.SourcePort;
            TakeSynOptions(ref seg);
            RcvNxt = seg.SequenceNumber + 1;
            SndUna = Iss;
            SndNxt = Iss + 1;
            _state = State.SynReceived;
            SendControl(now, Iss, RcvNxt, TcpFlags.Syn | TcpFlags.Ack, syn: true);
            RtoDeadline = now + _rto;
            return;
        }
        if (_state == State.SynSent)
        {
            if (!seg.Has(TcpFlags.Syn) || !seg.Has(TcpFlags.Ack) || seg.AcknowledgementNumber != Iss + 1)
                return;
            TakeSynOptions(ref seg);
            _sackOk = _o.OfferSack && seg.SackPermitted;
            RcvNxt = seg.SequenceNumber + 1;
            SndUna = Iss + 1;
            _peerWindow = seg.Window;
            _state = State.Established;
            RtoDeadline = long.MaxValue;
            SendAck(now);
            OnEstablished?.Invoke();
            Pump(now);
            return;
        }
        if (seg.Has(TcpFlags.Syn))
        {
            // A retransmitted SYN or SYN-ACK: our answer was lost.
            if (_state == State.SynReceived)
                SendControl(now, Iss, RcvNxt, TcpFlags.Syn | TcpFlags.Ack, syn: true);
            else
                SendAck(now);
            return;
        }
        // RFC 7323 §5.3: PAWS drops segments whose TSval is older than the last one accepted.
        if (_ts && seg.HasTimestamps && Seq.Lt(seg.TsVal, _tsRecent))
        {
            PawsRejects++;
            SendAck(now);
            return;
        }
        // RFC 7323 §4.3: TS.Recent is taken only from a segment that starts at or before the left edge.
        if (_ts && seg.HasTimestamps && Seq.Le(seg.SequenceNumber, RcvNxt))
            _tsRecent = seg.TsVal;
        if (_state == State.SynReceived)
        {
            if (!seg.Has(TcpFlags.Ack) || seg.AcknowledgementNumber != Iss + 1)
                return;
            _state = State.Established;
            SndUna = Iss + 1;
            RtoDeadline = long.MaxValue;
            OnEstablished?.Invoke();
        }
        if (seg.Has(TcpFlags.Ack) && _linux is not null)
            _linux.OnAck(seg.AcknowledgementNumber, (uint)seg.Window << (_scale ? _peerScale : 0), _sackOk ? SackEdges(packet) : [], seg.Payload.Length == 0 && !seg.Has(TcpFlags.Fin), now);
        else if (seg.Has(TcpFlags.Ack))
            OnAck(seg.AcknowledgementNumber, (uint)seg.Window << (_scale ? _peerScale : 0), seg.Payload.Length == 0 && !seg.Has(TcpFlags.Fin), now);
        if (seg.Payload.Length > 0 || seg.Has(TcpFlags.Fin))
        {
            uint seq = seg.SequenceNumber;
            int front = Seq.Diff(RcvNxt, seq);
            int beyond = Seq.Diff(seq + (uint)seg.Payload.Length, RcvNxt + (uint)AdvertisedWindow);
            if (beyond > 0 && seg.Payload.Length > 0)
            {
                // The sender went past the window this endpoint advertised (it never shrinks: the application reads
                // at once, so the right edge is RcvNxt + the window its ACKs carry).
                BeyondWindowBytes += Math.Min(beyond, seg.Payload.Length);
                if (_o.EnforceWindow)
                {
                    SendAck(now);
                    return;
                }
            }
            if (front < 0 && _o.OutOfOrderQueue && seg.Payload.Length > 0 && -front < _o.ReceiveWindow && _outOfOrder.Count < 256)
                _outOfOrder[seq] = seg.Payload.ToArray();
            if (front >= 0 && front <= seg.Payload.Length)
            {
                int n = seg.Payload.Length - front;
                if (n > 0 && !PeerFin)
                {
                    Received.AddRange(seg.Payload[front..].ToArray());
                    RcvNxt += (uint)n;
                    DrainOutOfOrder();
                    OnData?.Invoke(n);
                }
                if (seg.Has(TcpFlags.Fin) && !PeerFin)
                {
                    PeerFin = true;
                    RcvNxt++;
                }
            }
            SendAck(now);
        }
        Pump(now);
    }

    private void DrainOutOfOrder()
    {
        bool progress = true;
        while (progress && _outOfOrder.Count > 0)
        {
            progress = false;
            foreach ((uint start, byte[] bytes) in _outOfOrder)
            {
                int skip = Seq.Diff(RcvNxt, start);
                if (skip < 0)
                    continue;
                _outOfOrder.Remove(start);
                if (skip < bytes.Length)
                {
                    Received.AddRange(bytes.AsSpan(skip).ToArray());
                    RcvNxt += (uint)(bytes.Length - skip);
                }
                progress = true;
                break;
            }
        }
    }

    private void TakeSynOptions(ref Segment seg)
    {
        _peerMss = seg.Mss != 0 ? seg.Mss : 536;
        _scale = seg.WindowScale != 0xFF && _o.WindowScale != 0xFF;
        _peerScale = _scale ? seg.WindowScale : (byte)0;
        _ts = _o.Timestamps && seg.HasTimestamps;
        if (_ts)
            _tsRecent = seg.TsVal;
        _peerWindow = seg.Window;
    }

    private void OnAck(uint ack, uint window, bool pure, long now)
    {
        bool windowChanged = window != _peerWindow;
        _peerWindow = window;
        if (Seq.Gt(ack, SndUna) && Seq.Le(ack, SndNxt))
        {
            int acked = Seq.Diff(ack, SndUna);
            int data = Math.Min(acked, Outgoing.Count);
            Outgoing.RemoveRange(0, data);
            _boundaryBase += data;
            while (_boundaries.Count > 0 && _boundaries.Min <= _boundaryBase)
                _boundaries.Remove(_boundaries.Min);
            if (FinSent && ack == _finSeq + 1)
                FinAcked = true;
            SndUna = ack;
            _dupAcks = 0;
            _rto = 200;
            RtoDeadline = SndUna != SndNxt ? now + _rto : long.MaxValue;
            return;
        }
        if (ack == SndUna && pure && !windowChanged && SndUna != SndNxt && ++_dupAcks == 3)
        {
            GoBack();
            RtoDeadline = now + _rto;
        }
    }

    private void GoBack()
    {
        SndNxt = SndUna;
        if (FinSent && !FinAcked)
            FinSent = false;
    }

    private static List<(uint, uint)> SackEdges(byte[] packet)
    {
        var blocks = new List<(uint, uint)>();
        if (TcpPacket.TryParse(packet, out TcpPacket p) != TcpPacketStatus.Tcp)
            return blocks;
        var r = new TcpOptionReader(p.Tcp.Options);
        while (r.MoveNext())
        {
            if (r.Kind != TcpOptionKind.Sack)
                continue;
            for (int i = 0; i + 8 <= r.Data.Length; i += 8)
                blocks.Add((System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(r.Data[i..]), System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(r.Data[(i + 4)..])));
        }
        return blocks;
    }

    /// <summary>The earlier of the retransmission timer and the Linux sender's tail loss probe.</summary>
    public long TimerDeadline => Math.Min(RtoDeadline, _linux?.TlpDeadline ?? long.MaxValue);

    public int LossProbes => _linux?.Probes ?? 0;

    public void OnTimer(long now)
    {
        if (_linux is not null && _state == State.Established && now >= _linux.TlpDeadline && _linux.TlpDeadline <= RtoDeadline)
        {
            _linux.OnProbe(now);
            return;
        }
        if (now < RtoDeadline)
            return;
        if (_linux is not null && _state == State.Established)
        {
            Timeouts++;
            _linux.OnTimeout(now);
            return;
        }
        if (_state == State.SynSent)
        {
            SendControl(now, Iss, 0, TcpFlags.Syn, syn: true);
            _rto = Math.Min(_rto * 2, 3000);
            RtoDeadline = now + _rto;
            return;
        }
        if (_state == State.SynReceived)
        {
            SendControl(now, Iss, RcvNxt, TcpFlags.Syn | TcpFlags.Ack, syn: true);
            _rto = Math.Min(_rto * 2, 3000);
            RtoDeadline = now + _rto;
            return;
        }
        GoBack();
        _rto = Math.Min(_rto * 2, 3000);
        RtoDeadline = long.MaxValue;
        Pump(now, probe: true);
        if (RtoDeadline == long.MaxValue && (Outgoing.Count > 0 || (Closing && !FinAcked)))
            RtoDeadline = now + _rto;
    }

    private void Pump(long now, bool probe = false)
    {
        if (_state != State.Established)
            return;
        if (_linux is not null)
        {
            _linux.Pump(now);
            return;
        }
        while (true)
        {
            int inFlight = Seq.Diff(SndNxt, SndUna);
            int sentData = Math.Min(inFlight, Outgoing.Count);
            int unsent = Outgoing.Count - sentData;
            if (unsent <= 0)
                break;
            long allowed = Math.Min(_peerWindow, 256 * 1024) - inFlight;
            if (allowed <= 0)
            {
                // Zero window: one byte probes it when the timer fires (RFC 9293 §3.8.6.1).
                if (!probe || inFlight > 0)
                    break;
                allowed = 1;
            }
            probe = false;
            int n = (int)Math.Min(Math.Min(unsent, allowed), SendRoom);
            long offset = _boundaryBase + sentData;
            bool resend = !_o.SplitRetransmissions && _boundaries.Count > 0 && offset < _boundaries.Max;
            if (resend)
            {
                // Coalesce whole original segments up to n bytes; never cut one (at least one whole).
                long limit = offset + n;
                long end = offset;
                foreach (long b in _boundaries.GetViewBetween(offset + 1, long.MaxValue))
                {
                    if (b > limit && end > offset)
                        break;
                    end = b;
                    if (b >= limit)
                        break;
                }
                n = (int)(end - offset);
                if (n > unsent)
                    n = unsent;
                if (_o.RetransmitPiece > 0 && n > _o.RetransmitPiece)
                    n = _o.RetransmitPiece;
            }
            else if (_o.ShortSegments > 0 && n > 1 && _rng.NextDouble() < _o.ShortSegments)
            {
                n = _rng.Next(1, n);
            }
            if (!resend && !_o.SplitRetransmissions)
                _boundaries.Add(offset + n);
            SendData(now, SndNxt, Outgoing.GetRange(sentData, n).ToArray(), false);
            SndNxt += (uint)n;
        }
        if (Closing && !FinSent && Seq.Diff(SndNxt, SndUna) == Outgoing.Count)
        {
            _finSeq = SndNxt;
            SendData(now, SndNxt, [], true);
            SndNxt++;
            FinSent = true;
        }
        if (SndUna != SndNxt && RtoDeadline == long.MaxValue)
            RtoDeadline = now + _rto;
    }

    private void SendAck(long now) => SendControl(now, SndNxt, RcvNxt, TcpFlags.Ack, syn: false);

    private void SendData(long now, uint seq, byte[] payload, bool fin)
    {
        var o = Header(now, seq, RcvNxt, TcpFlags.Ack | (payload.Length > 0 ? TcpFlags.Psh : 0) | (fin ? TcpFlags.Fin : 0), syn: false);
        Emit(o, payload);
    }

    private void SendControl(long now, uint seq, uint ack, TcpFlags flags, bool syn) => Emit(Header(now, seq, ack, flags, syn), []);

    /// <summary>The window every non-SYN segment advertises, in bytes (the field, scaled back).</summary>
    private int AdvertisedWindow
    {
        get
        {
            int shift = _scale ? (_o.WindowScale == 0xFF ? 0 : _o.WindowScale) : 0;
            return Math.Min(65535, _o.ReceiveWindow >> shift) << shift;
        }
    }

    private OutSegment Header(long now, uint seq, uint ack, TcpFlags flags, bool syn)
    {
        int window = _o.ReceiveWindow;
        byte shift = _o.WindowScale == 0xFF ? (byte)0 : _o.WindowScale;
        ushort field = syn ? (ushort)Math.Min(65535, window) : (ushort)Math.Min(65535, window >> (_scale ? shift : 0));
        return new OutSegment
        {
            IsIPv6 = _v6,
            Ttl = 64,
            SourcePort = _port,
            DestinationPort = _peerPort,
            SequenceNumber = seq,
            AcknowledgementNumber = ack,
            Flags = flags,
            Window = field,
            Mss = syn ? (ushort)_o.Mss : (ushort)0,
            WindowScale = syn ? _o.WindowScale : (byte)0xFF,
            HasTimestamps = syn ? _o.Timestamps && (_state != State.SynReceived || _ts) : _ts,
            TsVal = unchecked((uint)now + _o.TsOffset),
            TsEcr = _tsRecent,
        };
    }

    private void Emit(OutSegment o, byte[] payload)
    {
        byte[] buffer = new byte[SegmentCodec.MaxHeaders + payload.Length + 8];
        payload.CopyTo(buffer, SegmentCodec.HeaderLength(o));
        int length = SegmentCodec.Write(buffer, o, _address, _peerAddress, payload.Length);
        if (o.Flags.HasFlag(TcpFlags.Syn) && _o.OfferSack && _state == State.SynSent)
            length = AddSackPermitted(buffer, length, o, payload.Length);
        _output(buffer.AsSpan(0, length).ToArray());
    }

    /// <summary>Clients offer SACK in their SYN; the engine must take it out. Rebuilds the SYN with the option.</summary>
    private int AddSackPermitted(byte[] buffer, int length, OutSegment o, int payloadLength)
    {
        Span<byte> options = stackalloc byte[40];
        var w = new TcpOptionWriter(options);
        w.WriteMss(o.Mss);
        w.WriteSackPermitted();
        if (o.HasTimestamps)
            w.WriteTimestamps(o.TsVal, o.TsEcr);
        if (o.WindowScale != 0xFF)
        {
            w.WriteNop();
            w.WriteWindowScale(o.WindowScale);
        }
        w.PadToWord();
        var spec = new TcpPacketSpec(o.IsIPv6, _address, _peerAddress, o.SourcePort, o.DestinationPort,
            new SeqNumber(o.SequenceNumber), new SeqNumber(o.AcknowledgementNumber), o.Flags, o.Window);
        return TcpPacketWriter.Write(buffer, spec, w.WrittenSpan, ReadOnlySpan<byte>.Empty);
    }
}
