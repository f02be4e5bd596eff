using Bufferless.Packets.Flows;

namespace Bufferless.Packets.Tests.Simulation;

internal sealed partial class SimTcp
{
    /// <summary>
    /// A sender that recovers from loss the way Linux does (tcp_input.c, tcp_timer.c), reduced to what matters to
    /// the engine: a congestion window in segments; a scoreboard of sent segments with SACKed, lost and retransmitted
    /// marks (RFC 6675); loss marked when a segment sent later was delivered (RACK, RFC 8985, with no reordering
    /// window); fast recovery with the window cut to 0.7 (CUBIC); and on a retransmission timeout (RFC 6298 §5,
    /// tcp_enter_loss): cwnd 1, every segment not SACKed marked lost (SACKed ones kept, unless the head itself is
    /// SACKed: reneging), only the head resent, the timeout doubled; slow start from the cumulative ACK. F-RTO
    /// (RFC 5682, on by default in Linux): after a timeout, an ACK that newly SACKs never-retransmitted data undoes
    /// it. Without SACK, three duplicate ACKs retransmit the head and partial ACKs the next (NewReno, RFC 6582).
    /// </summary>
    private sealed class LinuxSender(SimTcp t)
    {
        private enum Ca { Open, Recovery, Loss }

        private sealed class Seg
        {
            public uint Seq;
            public int Len;
            public bool Fin;
            public bool Sacked;
            public bool Lost;
            public bool Retrans;
            public bool EverRetrans;
            public long Xmit;
            public long SentAt;
            public uint End => Seq + (uint)Len + (Fin ? 1u : 0u);
        }

        private readonly List<Seg> _q = [];
        private int _cwnd = 10;
        private int _ssthresh = int.MaxValue;
        private int _prior;
        private int _priorSsthresh;
        private Ca _ca;
        private uint _high;
        private bool _frto;
        private long _xmit;
        private long _rackXmit = -1;
        private double _caCount;
        private int _dupAcks;

        public int Undos { get; private set; }

        /// <summary>When the tail loss probe fires (long.MaxValue: not armed).</summary>
        public long TlpDeadline { get; private set; } = long.MaxValue;

        public int Probes { get; private set; }

        private long _srtt;
        private uint? _tlpHigh;

        private int InFlight
        {
            get
            {
                int n = 0;
                foreach (Seg s in _q)
                    if (!s.Sacked && (!s.Lost || s.Retrans))
                        n++;
                return n;
            }
        }

        private void Send(Seg s, long now)
        {
            int offset = Seq.Diff(s.Seq, t.SndUna);
            byte[] payload = t.Outgoing.GetRange(offset, s.Len).ToArray();
            t.SendData(now, s.Seq, payload, s.Fin);
            s.Xmit = ++_xmit;
            s.SentAt = now;
        }

        public void Pump(long now, bool probe = false)
        {
            uint before = t.SndNxt;
            PumpSegments(now, probe);
            if (t.SndNxt != before)
                ScheduleProbe(now); // tcp_write_xmit arms the probe after new data
        }

        private void PumpSegments(long now, bool probe)
        {
            while (InFlight < _cwnd)
            {
                Seg? lost = _q.Find(s => s.Lost && !s.Retrans && !s.Sacked);
                if (lost is not null)
                {
                    Send(lost, now);
                    lost.Retrans = lost.EverRetrans = true;
                    if (lost == _q[0])
                        t.RtoDeadline = now + t.Rto; // tcp_xmit_retransmit_queue re-arms the RTO when it resends the head
                    continue;
                }
                int inFlightBytes = Seq.Diff(t.SndNxt, t.SndUna);
                int sentData = Math.Min(inFlightBytes, t.Outgoing.Count);
                int unsent = t.Outgoing.Count - sentData;
                if (unsent > 0)
                {
                    long allowed = Math.Min(t._peerWindow, 256 * 1024) - inFlightBytes;
                    if (allowed <= 0)
                    {
                        // Zero window: one byte probes it when the timer fires (RFC 9293 §3.8.6.1).
                        if (!probe || _q.Count > 0)
                            break;
                        allowed = 1;
                    }
                    probe = false;
                    int n = (int)Math.Min(Math.Min(unsent, allowed), t.SendRoom);
                    var seg = new Seg { Seq = t.SndNxt, Len = n };
                    _q.Add(seg);
                    Send(seg, now);
                    t.SndNxt += (uint)n;
                    continue;
                }
                if (t.Closing && !t.FinSent)
                {
                    t._finSeq = t.SndNxt;
                    var fin = new Seg { Seq = t.SndNxt, Fin = true };
                    _q.Add(fin);
                    Send(fin, now);
                    t.SndNxt++;
                    t.FinSent = true;
                    continue;
                }
                break;
            }
            if (_q.Count > 0 && t.RtoDeadline == long.MaxValue)
                t.RtoDeadline = now + t.Rto;
        }

        public void OnAck(uint ack, uint window, List<(uint Left, uint Right)> sacks, bool pure, long now)
        {
            bool windowChanged = window != t._peerWindow;
            t._peerWindow = window;
            int acked = 0;
            bool advanced = false;
            if (Seq.Gt(ack, t.SndUna) && Seq.Le(ack, t.SndNxt))
            {
                int data = Math.Min(Seq.Diff(ack, t.SndUna), t.Outgoing.Count);
                t.Outgoing.RemoveRange(0, data);
                if (t.FinSent && ack == t._finSeq + 1)
                    t.FinAcked = true;
                t.SndUna = ack;
                advanced = true;
                while (_q.Count > 0 && Seq.Le(_q[0].End, ack))
                {
                    if (!_q[0].Sacked)
                        acked++;
                    if (!_q[0].EverRetrans && !_q[0].Sacked)
                        RttSample(now - _q[0].SentAt);
                    _rackXmit = Math.Max(_rackXmit, _q[0].Xmit);
                    _q.RemoveAt(0);
                }
                if (_q.Count > 0 && Seq.Lt(_q[0].Seq, ack))
                {
                    _q[0].Len -= Seq.Diff(ack, _q[0].Seq);
                    _q[0].Seq = ack;
                }
                t.Rto = 200;
                t.RtoDeadline = _q.Count > 0 ? now + t.Rto : long.MaxValue;
                _dupAcks = 0;
            }
            bool origSacked = false;
            foreach ((uint left, uint right) in sacks)
            {
                // tcp_is_sackblock_valid: a block must start after SND.UNA (start == SND.UNA is refused) and end by SND.NXT.
                if (!Seq.Gt(left, t.SndUna) || Seq.Gt(right, t.SndNxt) || !Seq.Lt(left, right))
                    continue;
                foreach (Seg s in _q)
                {
                    if (s.Sacked || Seq.Lt(s.Seq, left) || Seq.Gt(s.End, right))
                        continue;
                    s.Sacked = true;
                    if (!s.EverRetrans)
                    {
                        origSacked = true; // also a valid RTT sample (tcp_sacktag_one: sack_rtt_us)
                        RttSample(now - s.SentAt);
                    }
                    _rackXmit = Math.Max(_rackXmit, s.Xmit);
                }
            }
            if (origSacked && !advanced)
            {
                // tcp_ack_update_rtt: a SACK of never-retransmitted data is a valid RTT measurement, so the RTO is
                // computed afresh and its backoff reset (RFC 6298 §5.7 applies the backoff only until one arrives). The
                // armed timer keeps its deadline; the next retransmission of the head re-arms it (tcp_xmit_retransmit_queue).
                t.Rto = 200;
            }
            if (!t._sackOk && !advanced && pure && !windowChanged && _q.Count > 0 && ack == t.SndUna)
                _dupAcks++;
            switch (_ca)
            {
                case Ca.Loss:
                    if (advanced && Seq.Ge(t.SndUna, _high))
                    {
                        _ca = Ca.Open;
                        _cwnd = Math.Max(_cwnd, Math.Min(_ssthresh, _cwnd + acked));
                    }
                    else if (_frto && origSacked)
                    {
                        // RFC 5682 §3.1 (SACK-enhanced), tcp_process_loss: never-retransmitted data arrived, so the
                        // timeout was spurious: restore the window and forget the loss marks.
                        _cwnd = Math.Max(_cwnd, _prior);
                        _ssthresh = Math.Max(_ssthresh, _priorSsthresh);
                        foreach (Seg s in _q)
                            s.Lost = false;
                        _ca = Ca.Open;
                        Undos++;
                    }
                    else if (advanced)
                    {
                        _cwnd += acked; // slow start from the cumulative ACK
                    }
                    break;
                case Ca.Recovery:
                    if (advanced && Seq.Ge(t.SndUna, _high))
                    {
                        _ca = Ca.Open;
                        _cwnd = _ssthresh;
                    }
                    else if (advanced && !t._sackOk && _q.Count > 0)
                    {
                        _q[0].Lost = true; // NewReno partial ACK: the next hole
                        _q[0].Retrans = false;
                    }
                    break;
                default:
                    if (advanced)
                        Grow(acked);
                    break;
            }
            if (_ca != Ca.Loss)
            {
                MarkLost();
                if (_ca == Ca.Open && !t._sackOk && _dupAcks >= 3 && _q.Count > 0)
                {
                    _q[0].Lost = true;
                    _dupAcks = 0;
                }
                if (_ca == Ca.Open && _q.Exists(s => s.Lost && !s.Sacked))
                    EnterRecovery();
            }
            // tcp_process_tlp_ack: the episode ends once the cumulative ACK reaches what was outstanding at the probe.
            if (_tlpHigh is uint high && Seq.Ge(t.SndUna, high))
                _tlpHigh = null;
            t.Debug?.Invoke($"ack {ack} adv {advanced} sacks {sacks.Count} orig {origSacked} ca {_ca} cwnd {_cwnd} inflight {InFlight} q {_q.Count} sacked {_q.Count(x => x.Sacked)} lost {_q.Count(x => x.Lost)} retr {_q.Count(x => x.Retrans)}");
            Pump(now);
            if (advanced || origSacked)
                ScheduleProbe(now); // FLAG_SET_XMIT_TIMER: an ACK or a SACK RTT sample re-arms the probe
        }

        private void RttSample(long sample)
        {
            sample = Math.Max(1, sample);
            _srtt = _srtt == 0 ? sample : (7 * _srtt + sample) / 8;
        }

        /// <summary>
        /// Tail loss probe (RFC 8985 §7, tcp_schedule_loss_probe; on by default, tcp_early_retrans 3): with SACK, in the
        /// open state and data out, a probe after two smoothed RTTs (plus the delayed-ACK allowance when one segment is
        /// out), never later than the RTO would fire.
        /// </summary>
        private void ScheduleProbe(long now)
        {
            TlpDeadline = long.MaxValue;
            if (!t._sackOk || _q.Count == 0 || _ca != Ca.Open || _tlpHigh is not null)
                return;
            long timeout = _srtt > 0 ? 2 * _srtt + (_q.Count == 1 ? 200 : 2) : 1000;
            if (t.RtoDeadline != long.MaxValue)
                timeout = Math.Min(timeout, Math.Max(0, t.RtoDeadline - now));
            TlpDeadline = now + timeout;
        }

        /// <summary>
        /// tcp_send_loss_probe: one new segment if the window allows, else the highest one sent again; then the RTO is
        /// armed afresh. One probe until the ACK passes what was outstanding (tcp_process_tlp_ack), a recovery or a timeout.
        /// </summary>
        public void OnProbe(long now)
        {
            TlpDeadline = long.MaxValue;
            if (_q.Count == 0 || _ca != Ca.Open || _tlpHigh is not null)
                return;
            int inFlightBytes = Seq.Diff(t.SndNxt, t.SndUna);
            int unsent = t.Outgoing.Count - Math.Min(inFlightBytes, t.Outgoing.Count);
            long allowed = Math.Min(t._peerWindow, 256 * 1024) - inFlightBytes;
            if (unsent > 0 && allowed > 0)
            {
                int n = (int)Math.Min(Math.Min(unsent, allowed), t.SendRoom);
                var seg = new Seg { Seq = t.SndNxt, Len = n };
                _q.Add(seg);
                Send(seg, now);
                t.SndNxt += (uint)n;
            }
            else
            {
                Seg tail = _q[^1];
                Send(tail, now);
                tail.EverRetrans = true;
                if (!tail.Sacked)
                    tail.Retrans = true;
            }
            Probes++;
            _tlpHigh = t.SndNxt;
            t.RtoDeadline = now + t.Rto;
        }

        private void Grow(int acked)
        {
            if (_cwnd < _ssthresh)
            {
                _cwnd += acked;
                return;
            }
            _caCount += (double)acked / _cwnd;
            if (_caCount >= 1)
            {
                _cwnd++;
                _caCount = 0;
            }
        }

        /// <summary>RACK without a reordering window: a segment sent before one that was delivered is lost.</summary>
        private void MarkLost()
        {
            foreach (Seg s in _q)
            {
                if (s.Sacked || s.Xmit >= _rackXmit)
                    continue;
                if (s.Lost && s.Retrans)
                    s.Retrans = false; // the retransmission was lost too
                else
                    s.Lost = true;
            }
        }

        private void EnterRecovery()
        {
            _prior = _cwnd;
            _priorSsthresh = _ssthresh;
            _ssthresh = Math.Max(2, _cwnd * 7 / 10);
            _cwnd = _ssthresh;
            _high = t.SndNxt;
            _ca = Ca.Recovery;
            _tlpHigh = null; // tcp_init_cwnd_reduction
            TlpDeadline = long.MaxValue;
        }

        public void OnTimeout(long now)
        {
            t.RtoDeadline = long.MaxValue;
            if (_q.Count == 0)
            {
                t.Rto = Math.Min(t.Rto * 2, 3000);
                Pump(now, probe: true);
                if (t.RtoDeadline == long.MaxValue && (t.Outgoing.Count > 0 || (t.Closing && !t.FinAcked)))
                    t.RtoDeadline = now + t.Rto;
                return;
            }
            if (_ca != Ca.Loss)
            {
                _prior = _cwnd;
                _priorSsthresh = _ssthresh;
                _ssthresh = Math.Max(2, _cwnd * 7 / 10);
            }
            Seg head = _q[0];
            if (head.Sacked)
            {
                // tcp_timeout_mark_lost: the receiver reneged on its SACKs; forget them all.
                foreach (Seg s in _q)
                    s.Sacked = false;
            }
            foreach (Seg s in _q)
            {
                if (s.Sacked)
                    continue;
                s.Lost = true;
                s.Retrans = false;
            }
            _cwnd = 1;
            _ca = Ca.Loss;
            _tlpHigh = null; // tcp_enter_loss
            TlpDeadline = long.MaxValue;
            _high = t.SndNxt;
            _frto = true;
            _dupAcks = 0;
            Send(head, now);
            head.Retrans = head.EverRetrans = true;
            t.Rto = Math.Min(t.Rto * 2, 3000);
            t.RtoDeadline = now + t.Rto;
        }
    }
}
