using Bufferless.Packets.Engine;
using Bufferless.Packets.Flows;
using Bufferless.Packets.Tests.Simulation;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Engine;

/// <summary>
/// Bufferless mode: a client that resends its head after a timeout is acknowledged inside the record being assembled, up
/// to what the server acknowledged of it (tests/e2e/known-issues/README.md: a Linux client in the Loss state resends only
/// that head, which the engine could acknowledge only at the record's end). The record's state is then hard: losing it
/// resets the flow. One 16 KiB record (16,406 bytes of ciphertext) cut into 1,448-byte segments; segment 4 is the hole.
/// </summary>
public class RecordPartAckTests
{
    private const int Segment = EngineHarness.SegmentPayload;
    private const int RecordPlain = 16384;

    private sealed class Setup : IDisposable
    {
        public readonly EngineHarness H;
        public readonly byte[][] Segments;
        public readonly List<byte> Plain = [];
        public readonly uint RecordStart;

        public Setup(CutThroughMode mode, int aeadCacheSize = 1024)
        {
            CutThroughOptions defaults = EngineHarness.DefaultOptions(mode);
            H = new EngineHarness(new CutThroughOptions
            {
                TlsConfig = defaults.TlsConfig, Mode = mode, MaxFlows = defaults.MaxFlows, HashSeed = defaults.HashSeed, AeadCacheSize = aeadCacheSize,
            });
            H.Establish();
            RecordStart = H.ClientNext;
            // 12 segments: the first record (16,406 bytes) and the start of the next.
            byte[][] batch = H.BuildClientBatch(12, RecordPlain, Plain);
            Segments = batch.Where(p => SegmentCodec.TryParse(p, out Segment s) && s.DestinationPort == 443).ToArray();
            Assert.Equal(12, Segments.Length);
        }

        public CutThroughEngine Engine => H.Engine;

        /// <summary>A client segment again, as a retransmission sent now (new TSval).</summary>
        public byte[] Resend(int index)
        {
            SegmentCodec.TryParse(Segments[index], out Segment s);
            return H.Packet(true, s.SequenceNumber, s.AcknowledgementNumber, TcpFlags.Ack | TcpFlags.Psh, s.Payload);
        }

        public void Client(params int[] indexes)
        {
            foreach (int i in indexes)
                Engine.OnPacket(Segments[i], NowMs);
        }

        public void ClientAgain(int index) => Engine.OnPacket(Resend(index), NowMs);

        public long NowMs { get; private set; } = 1;

        public void Advance(uint ms)
        {
            H.Advance(ms);
            NowMs += ms;
            Engine.OnTimer(NowMs);
        }

        /// <summary>End (server sequence space) of what went to the server so far.</summary>
        public uint ForwardedEnd()
        {
            uint end = H.ClientIsn + 1;
            foreach (byte[] p in H.ToServer)
                if (SegmentCodec.TryParse(p, out Segment s) && s.Payload.Length > 0 && Seq.Gt(s.SequenceNumber + (uint)s.Payload.Length, end))
                    end = s.SequenceNumber + (uint)s.Payload.Length;
            return end;
        }

        public void ServerAcks(uint ack) => Engine.OnPacket(H.Packet(false, H.ServerNext, ack, TcpFlags.Ack, default), NowMs);

        public uint LastAckToClient()
        {
            for (int i = H.ToClient.Count - 1; i >= 0; i--)
                if (SegmentCodec.TryParse(H.ToClient[i], out Segment s) && s.Has(TcpFlags.Ack) && !s.Has(TcpFlags.Rst))
                    return s.AcknowledgementNumber;
            throw new InvalidOperationException("no ACK to the client");
        }

        public bool ResetTo(int port) => (port == 80 ? H.ToServer : H.ToClient).Any(p => SegmentCodec.TryParse(p, out Segment s) && s.Has(TcpFlags.Rst));

        public uint SegmentEnd(int index) => RecordStart + (uint)((index + 1) * Segment);

        /// <summary>Segments 0-3 and 5 arrive (4 is lost), the server acknowledges all it got; the client times out and resends 0.</summary>
        public void StuckOnHead(uint quietMs = 300)
        {
            Client(0, 1, 2, 3, 5);
            ServerAcks(ForwardedEnd());
            Assert.Equal(RecordStart, LastAckToClient());
            Advance(quietMs);
            ClientAgain(0);
        }

        public void Dispose() => H.Dispose();
    }

    private static byte[] Payloads(List<byte[]> packets)
    {
        var bytes = new List<byte>();
        foreach (byte[] p in packets)
            if (SegmentCodec.TryParse(p, out Segment s) && s.Payload.Length > 0)
                bytes.AddRange(s.Payload.ToArray());
        return [.. bytes];
    }

    [Fact]
    public void Bufferless_HeadResentAfterTimeout_AckedUpToTheHole()
    {
        using var t = new Setup(CutThroughMode.Bufferless);
        t.StuckOnHead();
        // What the server acknowledged, and the held tail (the possible content type byte): exactly up to the hole.
        Assert.Equal(t.SegmentEnd(3), t.LastAckToClient());
        Assert.Equal(1, t.Engine.Counters.RecordPartAcks);
        // The hole and the rest of the record: it completes, the server has the record's plaintext exactly.
        t.Client(4, 5, 6, 7, 8, 9, 10, 11);
        Assert.Equal(1, t.Engine.Counters.RecordsDecrypted);
        Assert.Equal(0, t.Engine.Counters.TagFailures);
        byte[] server = t.H.TakeServerBytes();
        Assert.True(server.Length >= RecordPlain, $"server got {server.Length}");
        Assert.Equal(t.Plain.GetRange(0, RecordPlain), server[..RecordPlain]);
        Assert.Equal(0, t.Engine.Counters.LostRecordStateResets);
    }

    [Fact]
    public void Bufferless_HeadResentInFastRecovery_NotAckedInsideRecord()
    {
        using var t = new Setup(CutThroughMode.Bufferless);
        // Resent 20 ms later on the client's clock: fast recovery, not a timeout; the record stays soft state.
        t.StuckOnHead(quietMs: 20);
        Assert.Equal(t.RecordStart, t.LastAckToClient());
        Assert.Equal(0, t.Engine.Counters.RecordPartAcks);
    }

    [Fact]
    public void Bufferless_ServerAckLags_PartAckWaitsForServerToHaveAllForwarded()
    {
        using var t = new Setup(CutThroughMode.Bufferless);
        t.Client(0, 1, 2, 3, 5);
        uint forwarded = t.ForwardedEnd();
        Assert.Equal(t.H.ClientIsn + 1 + 4 * Segment - 5 - 1, forwarded); // all but the header and the held last byte
        // The server acknowledges only the first 1,000 bytes. A part ACK now would leave what it lacks beyond them in
        // nobody's hands (the copy starts at the part ACK), so there is none yet.
        t.ServerAcks(t.H.ClientIsn + 1 + 1000);
        // A timeout's quiet on the client's clock, but within the rewind holdoff (past it the engine would take the
        // server's lag for a loss and process the record again from its start, which the client still sends).
        t.Advance(160);
        t.ClientAgain(0);
        Assert.Equal(t.RecordStart, t.LastAckToClient());
        Assert.Equal(0, t.Engine.Counters.RecordPartAcks);
        // The server catches up: its ACK grants the part ACK at once (the client need not time out again), up to the hole.
        t.ServerAcks(forwarded);
        Assert.Equal(t.SegmentEnd(3), t.LastAckToClient());
        Assert.Equal(1, t.Engine.Counters.RecordPartAcks);
    }

    [Fact]
    public void Verified_HeadResentAfterTimeout_NeverAckedInsideRecord()
    {
        using var t = new Setup(CutThroughMode.Verified);
        t.StuckOnHead();
        // Invariant 3: the server has nothing of the record before its tag, so nothing of it can be acknowledged.
        Assert.Equal(t.H.ClientIsn + 1, t.ForwardedEnd());
        Assert.Equal(t.RecordStart, t.LastAckToClient());
        Assert.Equal(0, t.Engine.Counters.RecordPartAcks);
    }

    [Fact]
    public void Bufferless_PartAckedRecordLosesMacState_FlowResets()
    {
        // Two AEAD cache entries: the flow's read and write keys share one, so sealing a server record takes the read
        // direction's entry and with it the running MAC state of the record being assembled.
        using var t = new Setup(CutThroughMode.Bufferless, aeadCacheSize: 2);
        t.StuckOnHead();
        Assert.Equal(t.SegmentEnd(3), t.LastAckToClient());
        t.Engine.OnPacket(t.H.Packet(false, t.H.ServerNext, t.ForwardedEnd(), TcpFlags.Ack | TcpFlags.Psh, new byte[100]), t.NowMs);
        Assert.Equal(0, t.Engine.Counters.Drops(DropReason.KeyCacheEvicted));
        t.H.ToServer.Clear();
        t.Client(4);
        // The client will not send the record's start again: the flow ends, both sides told, never a silent gap.
        Assert.Equal(1, t.Engine.Counters.Drops(DropReason.KeyCacheEvicted));
        Assert.Equal(1, t.Engine.Counters.LostRecordStateResets);
        Assert.True(t.ResetTo(80), "RST to the server");
        Assert.True(t.ResetTo(443), "RST to the client");
        Assert.Equal(0, t.Engine.Counters.RecordsDecrypted);
    }

    [Fact]
    public void Bufferless_SoftRecordLosesMacState_ClientSendsItAgain()
    {
        // The same loss of MAC state without a part ACK is soft state: the record is forgotten and comes again.
        using var t = new Setup(CutThroughMode.Bufferless, aeadCacheSize: 2);
        t.Client(0, 1, 2, 3);
        t.ServerAcks(t.ForwardedEnd());
        t.Engine.OnPacket(t.H.Packet(false, t.H.ServerNext, t.ForwardedEnd(), TcpFlags.Ack | TcpFlags.Psh, new byte[100]), t.NowMs);
        t.Client(4);
        Assert.Equal(1, t.Engine.Counters.Drops(DropReason.KeyCacheEvicted));
        Assert.Equal(0, t.Engine.Counters.LostRecordStateResets);
        Assert.False(t.ResetTo(443));
        Assert.Equal(t.RecordStart, t.LastAckToClient());
    }

    [Fact]
    public void Bufferless_ServerLosesPlaintextOfPartAckedRecord_SentAgainFromTheCopy()
    {
        using var t = new Setup(CutThroughMode.Bufferless);
        t.StuckOnHead();
        uint acked = t.LastAckToClient();
        Assert.Equal(t.SegmentEnd(3), acked);
        uint copyFrom = t.ForwardedEnd();
        // The hole and two more arrive and go to the server, which loses them (it never acknowledges).
        t.H.ToServer.Clear();
        t.Client(4, 5, 6, 7);
        t.H.ToClient.Clear();
        uint lostEnd = t.ForwardedEnd();
        byte[] lost = Payloads(t.H.ToServer);
        Assert.True(lost.Length > 3 * Segment, $"forwarded {lost.Length}");
        Assert.True(t.Engine.Counters.PartAckCopyBytes > 0);
        // The client resends from its ACK (inside the record). Within the rewind holdoff it is only a duplicate...
        t.H.ToServer.Clear();
        t.Advance(100);
        t.ClientAgain(4);
        Assert.DoesNotContain(t.H.ToServer, p => SegmentCodec.TryParse(p, out Segment s) && s.Payload.Length > 0);
        // ...past it the server gets again, from the copy, what it lacks: byte for byte what it lost, the last byte
        // (held as the possible content type) and the rest of the record still to come.
        t.H.ToServer.Clear();
        t.Advance(300);
        t.ClientAgain(4);
        Assert.Equal(1, t.Engine.Counters.PartAckReplays);
        Assert.Equal(0, t.Engine.Counters.LostRecordStateResets);
        Assert.False(t.ResetTo(80));
        uint replayStart = t.H.ToServer.Select(p => SegmentCodec.TryParse(p, out Segment s) && s.Payload.Length > 0 ? s.SequenceNumber : 0).First(x => x != 0);
        Assert.Equal(copyFrom, replayStart);
        Assert.Equal(lostEnd, t.ForwardedEnd());
        Assert.Equal(lost, Payloads(t.H.ToServer));
        // Once the server acknowledges it all and the record is complete, the copy goes back.
        t.Client(8, 9, 10, 11);
        Assert.Equal(1, t.Engine.Counters.RecordsDecrypted);
        t.ServerAcks(t.ForwardedEnd());
        Assert.Equal(0, t.Engine.Counters.PartAckCopyBytes);
    }
}
