using Bufferless.Packets.Engine;
using Bufferless.Packets.Flows;
using Bufferless.Packets.Wire;
using Bufferless.Tls;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Packets.Tests.Simulation;

/// <summary>
/// One flow through a real <see cref="CutThroughEngine"/>, with no network in between: a SYN, SYN-ACK and ACK, the
/// TLS 1.3 handshake against the test client, then batches of data packets built ahead of time so that only the
/// engine's work is measured. Shared by the zero-allocation tests and the benchmarks
/// (bench/Bufferless.Benchmarks/Packets links this file). Lossless and in order: every packet the engine sends is
/// taken as delivered. Timestamps and window scaling are on, both MSS 1460: client segments carry 1448 bytes.
/// </summary>
internal sealed class EngineHarness : IPacketSink, IDisposable
{
    /// <summary>The engine's sink when several harnesses (flows) share one engine: output goes to the flow being driven.</summary>
    public sealed class Router : IPacketSink
    {
        public EngineHarness? Current;
        public void Send(ReadOnlySpan<byte> ipPacket) => Current?.Send(ipPacket);
    }

    public const ushort ClientPort = 40000;
    public const int ClientMss = 1460;
    /// <summary>Payload of a full client segment: the MSS less the timestamp option (RFC 6691).</summary>
    public const int SegmentPayload = ClientMss - 12;
    private const int Overhead = CutThroughEngine.RecordOverhead;
    private static readonly UInt128 ClientAddress = 0xC6120102; // 198.18.1.2
    private static readonly UInt128 ServerAddress = 0xC6120202; // 198.18.2.2

    private readonly TlsTestClient _tls;
    private readonly int _clientPort;
    private uint _now = 1;
    private readonly List<byte> _c2sCarry = [];
    /// <summary>Client-space ends of client records not yet covered by a batch, and the plaintext total at each end.</summary>
    private readonly Queue<(long CipherEnd, long PlainEnd)> _recordEnds = new();
    private long _c2sCipherMade;
    private long _c2sPlainMade;
    private long _c2sCipherSent;
    private long _c2sPlainAcked;
    private readonly byte[] _serverChunk;
    private long _s2cPlainSent;
    /// <summary>Next byte the client's TLS stack and the server's reader take from captured packets.</summary>
    private uint _tlsRcvNxt;
    private uint _serverTakeNxt;

    private readonly Router _router;
    private readonly bool _ownsEngine;

    public EngineHarness(CutThroughOptions options, TlsCipherSuite suite = TlsCipherSuite.Aes128GcmSha256, int clientPort = ClientPort)
        : this(null, new Router(), suite, clientPort, options)
    {
    }

    /// <summary>One more flow on an engine another harness (or the test) made with <paramref name="router"/> as its sink.</summary>
    public EngineHarness(CutThroughEngine engine, Router router, int clientPort, TlsCipherSuite suite = TlsCipherSuite.Aes128GcmSha256)
        : this(engine, router, suite, clientPort, null)
    {
    }

    private EngineHarness(CutThroughEngine? engine, Router router, TlsCipherSuite suite, int clientPort, CutThroughOptions? options)
    {
        _clientPort = clientPort;
        _router = router;
        _router.Current = this;
        _ownsEngine = engine is null;
        Engine = engine ?? new CutThroughEngine(options!, router);
        _tls = new TlsTestClient(new TlsTestClientOptions { Suites = [suite] });
        _serverChunk = new byte[16384];
        new Random(5).NextBytes(_serverChunk);
    }

    /// <summary>Options the harness uses by default: the simulator's certificate, one suite.</summary>
    public static CutThroughOptions DefaultOptions(CutThroughMode mode, TlsCipherSuite suite = TlsCipherSuite.Aes128GcmSha256, int maxFlows = 16) => new()
    {
        TlsConfig = SimCertificate.WithSuites(suite),
        Mode = mode,
        MaxFlows = maxFlows,
        HashSeed = 3,
    };

    public CutThroughEngine Engine { get; }
    public TlsTestClient Tls => _tls;

    /// <summary>When true the engine's packets are kept (set-up, correctness checks); otherwise only counted.</summary>
    public bool Capture { get; set; } = true;
    public List<byte[]> ToClient { get; } = [];
    public List<byte[]> ToServer { get; } = [];
    public long PacketsOut { get; private set; }
    public long BytesOut { get; private set; }

    public uint ClientIsn { get; init; } = 0xFFFF_F000; // wraps during a run: sequence arithmetic is exercised
    public uint ServerIsn { get; } = 0x7FFF_FF00;
    /// <summary>Next client sequence number (ciphertext) and the client's ACK of the server stream (ciphertext).</summary>
    public uint ClientNext { get; private set; }
    public uint ClientRcvNxt { get; private set; }
    /// <summary>Next server sequence number (plaintext) and the server's ACK of the client stream (plaintext).</summary>
    public uint ServerNext { get; private set; }
    public uint ServerRcvNxt { get; private set; }

    /// <summary>Moves this harness's clock (its TSvals and the time it gives the engine) forward.</summary>
    public void Advance(uint ms) => _now += ms;

    public void Send(ReadOnlySpan<byte> ipPacket)
    {
        PacketsOut++;
        BytesOut += ipPacket.Length;
        if (!Capture)
            return;
        byte[] copy = ipPacket.ToArray();
        SegmentCodec.TryParse(copy, out Segment seg);
        (seg.DestinationPort == 80 ? ToServer : ToClient).Add(copy);
    }

    public byte[] Packet(bool fromClient, uint seq, uint ack, TcpFlags flags, ReadOnlySpan<byte> payload, bool syn = false)
    {
        var o = new OutSegment
        {
            Ttl = 64,
            SourcePort = fromClient ? (ushort)_clientPort : (ushort)80,
            DestinationPort = fromClient ? (ushort)443 : (ushort)_clientPort,
            SequenceNumber = seq,
            AcknowledgementNumber = ack,
            Flags = flags,
            Window = syn ? (ushort)65535 : (ushort)2048, // 2048 << 7: 256 KiB
            Mss = syn ? (ushort)ClientMss : (ushort)0,
            WindowScale = syn ? (byte)7 : (byte)0xFF,
            HasTimestamps = true,
            TsVal = _now,
            TsEcr = syn && !fromClient ? 1u : _now,
        };
        byte[] packet = new byte[SegmentCodec.MaxHeaders + payload.Length];
        payload.CopyTo(packet.AsSpan(SegmentCodec.HeaderLength(o)));
        int n = SegmentCodec.Write(packet, o, fromClient ? ClientAddress : ServerAddress, fromClient ? ServerAddress : ClientAddress, payload.Length);
        return n == packet.Length ? packet : packet[..n];
    }

    /// <summary>TCP set-up and the TLS handshake through the engine; afterwards the flow is in cut-through.</summary>
    public void Establish()
    {
        _router.Current = this;
        long completed = Engine.Counters.HandshakesCompleted;
        Engine.OnPacket(Packet(true, ClientIsn, 0, TcpFlags.Syn, default, syn: true), _now);
        Engine.OnPacket(Packet(false, ServerIsn, ClientIsn + 1, TcpFlags.Syn | TcpFlags.Ack, default, syn: true), _now);
        ClientNext = ClientIsn + 1;
        ClientRcvNxt = ServerIsn + 1;
        _tlsRcvNxt = ClientRcvNxt;
        ServerNext = ServerIsn + 1;
        ServerRcvNxt = ClientIsn + 1;
        _serverTakeNxt = ServerRcvNxt;
        ToClient.Clear();
        ToServer.Clear();
        _tls.Start();
        ClientWrite(_tls.TakeOutput());
        for (int round = 0; round < 20 && Engine.Counters.HandshakesCompleted == completed; round++)
        {
            DeliverToClient();
            byte[] output = _tls.TakeOutput();
            if (output.Length == 0)
                break;
            ClientWrite(output);
        }
        if (Engine.Counters.HandshakesCompleted != completed + 1 || !_tls.HandshakeComplete || _tls.Error is not null)
            throw new InvalidOperationException($"handshake through the engine failed: {_tls.Error}; {Engine.Counters}");
        DeliverToClient();
        ClientRcvNxt = _tlsRcvNxt;
        ToServer.Clear();
    }

    /// <summary>Client bytes in segments of at most 1448, acknowledging what the client has.</summary>
    public void ClientWrite(ReadOnlySpan<byte> bytes)
    {
        _router.Current = this;
        while (!bytes.IsEmpty)
        {
            int n = Math.Min(SegmentPayload, bytes.Length);
            Engine.OnPacket(Packet(true, ClientNext, _tlsRcvNxt, TcpFlags.Ack | TcpFlags.Psh, bytes[..n]), _now);
            ClientNext += (uint)n;
            bytes = bytes[n..];
        }
    }

    /// <summary>Feeds the captured packets towards the client to its TLS stack, in order (the harness loses nothing).</summary>
    public void DeliverToClient()
    {
        foreach (byte[] p in ToClient)
        {
            SegmentCodec.TryParse(p, out Segment seg);
            if (seg.Payload.IsEmpty || seg.Has(TcpFlags.Rst))
                continue;
            int front = Seq.Diff(_tlsRcvNxt, seg.SequenceNumber);
            if (front < 0 || front >= seg.Payload.Length)
                continue;
            _tls.Feed(seg.Payload[front..]);
            _tlsRcvNxt = seg.SequenceNumber + (uint)seg.Payload.Length;
        }
        ToClient.Clear();
    }

    /// <summary>The plaintext the server received, in order, from the captured packets.</summary>
    public byte[] TakeServerBytes()
    {
        var bytes = new List<byte>();
        foreach (byte[] p in ToServer)
        {
            SegmentCodec.TryParse(p, out Segment seg);
            int front = Seq.Diff(_serverTakeNxt, seg.SequenceNumber);
            if (seg.Payload.IsEmpty || front < 0 || front >= seg.Payload.Length)
                continue;
            bytes.AddRange(seg.Payload[front..].ToArray());
            _serverTakeNxt = seg.SequenceNumber + (uint)seg.Payload.Length;
        }
        ToServer.Clear();
        return [.. bytes];
    }

    /// <summary>
    /// Client to server: <paramref name="packets"/> full segments (1448 bytes) cut from a stream of records of
    /// <paramref name="recordSize"/> plaintext bytes (1426 gives one record per segment), each second one followed by
    /// the server's ACK of the plaintext of the records completed so far. Returns them in the order to feed them.
    /// The plaintext is <paramref name="plaintext"/> appended record by record.
    /// </summary>
    public byte[][] BuildClientBatch(int packets, int recordSize, List<byte>? plaintext = null)
    {
        var rng = new Random((int)_c2sCipherMade);
        byte[] content = new byte[recordSize];
        while (_c2sCarry.Count < packets * SegmentPayload)
        {
            rng.NextBytes(content);
            plaintext?.AddRange(content);
            _tls.SendApplicationData(content);
            byte[] record = _tls.TakeOutput();
            _c2sCarry.AddRange(record);
            _c2sCipherMade += record.Length;
            _c2sPlainMade += recordSize;
            _recordEnds.Enqueue((_c2sCipherMade, _c2sPlainMade));
        }
        var batch = new List<byte[]>(packets * 3 / 2 + 1);
        byte[] stream = _c2sCarry.GetRange(0, packets * SegmentPayload).ToArray();
        _c2sCarry.RemoveRange(0, packets * SegmentPayload);
        for (int i = 0; i < packets; i++)
        {
            batch.Add(Packet(true, ClientNext, ClientRcvNxt, TcpFlags.Ack | TcpFlags.Psh, stream.AsSpan(i * SegmentPayload, SegmentPayload)));
            ClientNext += SegmentPayload;
            _c2sCipherSent += SegmentPayload;
            while (_recordEnds.Count > 0 && _recordEnds.Peek().CipherEnd <= _c2sCipherSent)
                _c2sPlainAcked = _recordEnds.Dequeue().PlainEnd;
            if (i % 2 == 1)
                batch.Add(Packet(false, ServerNext, ClientIsn + 1 + (uint)_c2sPlainAcked, TcpFlags.Ack, default));
        }
        ServerRcvNxt = ClientIsn + 1 + (uint)_c2sPlainAcked;
        _now++;
        return [.. batch];
    }

    /// <summary>
    /// Server to client: <paramref name="packets"/> segments of <paramref name="size"/> plaintext bytes (1426 fills
    /// one 1448-byte client segment with one record), each second one followed by the client's ACK of the records
    /// sealed so far.
    /// </summary>
    public byte[][] BuildServerBatch(int packets, int size = SegmentPayload - Overhead)
    {
        var batch = new List<byte[]>(packets * 3 / 2 + 1);
        for (int i = 0; i < packets; i++)
        {
            int offset = (int)(_s2cPlainSent % (_serverChunk.Length - size));
            batch.Add(Packet(false, ServerNext, ServerRcvNxt, TcpFlags.Ack | TcpFlags.Psh, _serverChunk.AsSpan(offset, size)));
            ServerNext += (uint)size;
            _s2cPlainSent += size;
            uint cEnd = ClientRcvNxt + (uint)((i + 1) * (size + Overhead));
            if (i % 2 == 1 || i == packets - 1)
                batch.Add(Packet(true, ClientNext, cEnd, TcpFlags.Ack, default));
        }
        ClientRcvNxt += (uint)(packets * (size + Overhead));
        _now++;
        return [.. batch];
    }

    /// <summary>The server plaintext a batch of <see cref="BuildServerBatch"/> carried, from offset <paramref name="from"/>.</summary>
    public byte[] ServerPlaintext(long from, int packets, int size = SegmentPayload - Overhead)
    {
        var bytes = new List<byte>();
        for (int i = 0; i < packets; i++)
        {
            int offset = (int)((from + (long)i * size) % (_serverChunk.Length - size));
            bytes.AddRange(_serverChunk.AsSpan(offset, size).ToArray());
        }
        return [.. bytes];
    }

    public long ServerPlainSent => _s2cPlainSent;

    public void Feed(byte[][] batch)
    {
        _router.Current = this;
        foreach (byte[] p in batch)
            Engine.OnPacket(p, _now);
    }

    /// <summary>Drops the client's TLS state (the flow stays in the engine): thousands of flows need not keep it.</summary>
    public void ReleaseClient()
    {
        if (!_clientReleased)
            _tls.Dispose();
        _clientReleased = true;
    }

    private bool _clientReleased;

    public void Dispose()
    {
        if (_ownsEngine)
            Engine.Dispose();
        ReleaseClient();
    }
}
