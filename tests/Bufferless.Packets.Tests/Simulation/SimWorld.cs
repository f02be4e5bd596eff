using System.Text;
using Bufferless.Packets.Engine;
using Bufferless.Packets.Flows;
using Bufferless.Packets.Wire;
using Bufferless.Tls;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Packets.Tests.Simulation;

/// <summary>Faults on one hop of the simulated network.</summary>
internal sealed record SimHop(double Loss = 0, double Duplicate = 0, double Reorder = 0, int LatencyMs = 2, int JitterMs = 15);

/// <summary>Everything a seed decides.</summary>
internal sealed record SimScenario
{
    public int Seed { get; init; }
    public CutThroughMode Mode { get; init; }
    public bool IPv6 { get; init; }
    public TlsCipherSuite Suite { get; init; } = TlsCipherSuite.Aes128GcmSha256;
    /// <summary>TLS 1.2 (then <see cref="Suite"/> is a TLS 1.2 suite) instead of TLS 1.3.</summary>
    public bool Tls12 { get; init; }
    public SimHandshake Handshake { get; init; }
    public SimTcpOptions Client { get; init; } = new();
    public SimTcpOptions Server { get; init; } = new();
    public SimHop ClientToEngine { get; init; } = new();
    public SimHop EngineToClient { get; init; } = new();
    public SimHop ServerToEngine { get; init; } = new();
    public SimHop EngineToServer { get; init; } = new();
    public int ClientBytes { get; init; }
    public int ServerBytes { get; init; }
    /// <summary>Largest record the client writes (records are drawn 1..this).</summary>
    public int ClientMaxRecord { get; init; } = 16384;
    /// <summary>Every client record is exactly <see cref="ClientMaxRecord"/> bytes (the last one shorter).</summary>
    public bool FixedRecordSize { get; init; }
    /// <summary>TLS 1.3: the client sends a KeyUpdate after every this many records, alternately asking for the engine's (0: never).</summary>
    public int ClientKeyUpdateEvery { get; init; }
    /// <summary>The engine updates its own write key after this many records (0: the default limit).</summary>
    public long EngineKeyUpdateAfter { get; init; }

    /// <summary>Derives a scenario from a seed: clean for a tenth of seeds, otherwise faults on every hop.</summary>
    public static SimScenario FromSeed(int seed, CutThroughMode mode)
    {
        var r = new Random(seed);
        bool clean = seed % 10 == 0;
        SimHop Hop() => clean ? new SimHop() : new SimHop(
            Loss: r.NextDouble() * 0.06, Duplicate: r.NextDouble() * 0.04, Reorder: r.NextDouble() * 0.15,
            LatencyMs: r.Next(1, 6), JitterMs: r.Next(1, 30));
        SimTcpOptions Tcp(int[] mss, int[] windows) => new()
        {
            Mss = mss[r.Next(mss.Length)],
            WindowScale = r.Next(4) == 0 ? (byte)0xFF : (byte)r.Next(0, 8),
            Timestamps = r.Next(5) != 0,
            ReceiveWindow = windows[r.Next(windows.Length)],
            ShortSegments = clean ? 0 : r.NextDouble() * 0.5,
        };
        TlsCipherSuite[] suites = [TlsCipherSuite.Aes128GcmSha256, TlsCipherSuite.Aes256GcmSha384, TlsCipherSuite.ChaCha20Poly1305Sha256];
        SimScenario s = new SimScenario
        {
            Seed = seed,
            Mode = mode,
            IPv6 = r.Next(4) == 0,
            Suite = suites[r.Next(3)],
            // Timestamp clocks start anywhere in the 32-bit space, as Linux's per-connection offsets do (derived from
            // the seed apart from the generator so the other draws stay as they were).
            Client = Tcp([256, 536, 1000, 1460], [3000, 8192, 65535, 262144]) with { TsOffset = unchecked((uint)seed * 2654435761u) },
            Server = Tcp([300, 536, 1460, 8960], [4096, 65535, 262144]) with { SplitRetransmissions = false, TsOffset = unchecked((uint)(seed + 7) * 2246822519u) },
            ClientToEngine = Hop(),
            EngineToClient = Hop(),
            ServerToEngine = Hop(),
            EngineToServer = Hop(),
            ClientBytes = r.Next(3) == 0 ? r.Next(0, 200) : r.Next(0, 40_000),
            ServerBytes = r.Next(3) == 0 ? r.Next(0, 300) : r.Next(0, 120_000),
            ClientMaxRecord = r.Next(2) == 0 ? 16384 : r.Next(1, 3000),
        };
        // Drawn last so that the network of every older seed stays as it was: a quarter of seeds run TLS 1.2, and
        // a quarter of each version resume a session from a ticket.
        bool tls12 = r.Next(4) == 0;
        bool resumed = r.Next(4) == 0;
        // Then, for TLS 1.3, a fifth of seeds with client KeyUpdates and an eighth with engine KeyUpdates.
        int clientKeyUpdates = r.Next(5) == 0 ? r.Next(2, 12) : 0;
        long engineKeyUpdates = r.Next(8) == 0 ? r.Next(3, 40) : 0;
        // A quarter of seeds: the server cuts its retransmissions into pieces (a smaller path MTU, DESIGN.md §6).
        int retransmitPiece = r.Next(4) == 0 ? r.Next(100, 1000) : 0;
        s = s with { Server = s.Server with { RetransmitPiece = retransmitPiece } };
        if (!tls12)
        {
            return s with
            {
                Handshake = resumed ? SimHandshake.Tls13Resumed : SimHandshake.Full,
                ClientKeyUpdateEvery = clientKeyUpdates,
                EngineKeyUpdateAfter = engineKeyUpdates,
            };
        }
        TlsCipherSuite suite12 = s.Suite switch
        {
            TlsCipherSuite.Aes128GcmSha256 => TlsCipherSuite.EcdheRsaAes128GcmSha256,
            TlsCipherSuite.Aes256GcmSha384 => TlsCipherSuite.EcdheRsaAes256GcmSha384,
            _ => TlsCipherSuite.EcdheRsaChaCha20Poly1305Sha256,
        };
        return s with { Tls12 = true, Suite = suite12, Handshake = resumed ? SimHandshake.Tls12Resumed : SimHandshake.Full };
    }

    public override string ToString() =>
        $"seed {Seed} mode {Mode} v6 {IPv6} {(Tls12 ? "TLS1.2" : "TLS1.3")} {Handshake} {Suite} client mss {Client.Mss} ws {Client.WindowScale} ts {Client.Timestamps} win {Client.ReceiveWindow}; " +
        $"server mss {Server.Mss} ws {Server.WindowScale} ts {Server.Timestamps} win {Server.ReceiveWindow}; bytes {ClientBytes}/{ServerBytes}; " +
        $"keyupdates client every {ClientKeyUpdateEvery} engine after {EngineKeyUpdateAfter}; server retransmits in pieces of {Server.RetransmitPiece}; " +
        $"loss {ClientToEngine.Loss:F3}/{EngineToClient.Loss:F3}/{ServerToEngine.Loss:F3}/{EngineToServer.Loss:F3}";
}

/// <summary>
/// A seeded in-memory network: a client (TCP + TLS 1.3 test client), the engine, a plain server, and four hops
/// that lose, duplicate and reorder packets. Runs in virtual time; the same seed replays the same run.
/// Checks the invariants as it goes (via <see cref="IEngineObserver"/> and the packets themselves) and at the end.
/// </summary>
internal sealed class SimWorld : IPacketSink, IEngineObserver, IDisposable
{
    private enum Hop { ClientToEngine, EngineToClient, ServerToEngine, EngineToServer }

    private const ushort ClientPort = 40000;
    private static readonly UInt128 ClientV4 = 0xC6120102; // 198.18.1.2
    private static readonly UInt128 ServerV4 = 0xC6120202; // 198.18.2.2
    private static readonly UInt128 ClientV6 = new(0x2001_0002_0000_0001UL, 2); // 2001:2:0:1::2
    private static readonly UInt128 ServerV6 = new(0x2001_0002_0000_0002UL, 2); // 2001:2:0:2::2

    private readonly SimScenario _s;
    private readonly Random _net;
    private readonly Random _app;
    private readonly PriorityQueue<(Hop Hop, byte[] Packet), (long, long)> _queue = new();
    private long _order;
    private long _now;
    private readonly byte[] _clientData;
    private readonly byte[] _serverData;
    private readonly Dictionary<(int Epoch, ulong Record), byte[]> _sealed = [];
    private readonly Dictionary<ulong, bool> _partialReleased = [];
    private int _clientFed;
    private bool _clientSentData;
    private bool _serverAnswered;
    private uint? _lastTsToClient;
    private readonly HashSet<uint> _serverTsVals = [];
    private long _clientWritten;

    /// <summary>Client sequence number of the first application-data record (set when the client sends it).</summary>
    public uint? DataStartSeq { get; private set; }

    public SimWorld(SimScenario scenario, CutThroughOptions? options = null)
    {
        _s = scenario;
        _net = new Random(scenario.Seed * 7919 + 1);
        _app = new Random(scenario.Seed * 104729 + 3);
        _clientData = new byte[scenario.ClientBytes];
        _serverData = new byte[scenario.ServerBytes];
        _app.NextBytes(_clientData);
        _app.NextBytes(_serverData);
        Engine = new CutThroughEngine(options ?? new CutThroughOptions
        {
            TlsConfig = SimTickets.ServerConfig(scenario.Suite, scenario.Tls12),
            Mode = scenario.Mode,
            MaxFlows = 16,
            HashSeed = 1,
            KeyUpdateAfterRecords = scenario.EngineKeyUpdateAfter > 0 ? scenario.EngineKeyUpdateAfter : 1L << 24,
        }, this) { Observer = this };
        UInt128 ca = scenario.IPv6 ? ClientV6 : ClientV4;
        UInt128 sa = scenario.IPv6 ? ServerV6 : ServerV4;
        var tcpRng = new Random(scenario.Seed * 31 + 5);
        Client = new SimTcp("client", scenario.Client, tcpRng, p => Transmit(Hop.ClientToEngine, p), scenario.IPv6, ca, ClientPort, sa, 443);
        Server = new SimTcp("server", scenario.Server, tcpRng, p => Transmit(Hop.ServerToEngine, p), scenario.IPv6, sa, 80, ca, ClientPort);
        Tls = scenario.Handshake switch
        {
            SimHandshake.Tls13Resumed => new SimTls13Client(new TlsTestClientOptions { Suites = [scenario.Suite], Resume = SimTickets.Tls13Ticket(scenario.Suite) }),
            SimHandshake.Tls12Resumed => Tls12Resumed(scenario.Suite),
            _ when scenario.Tls12 => new SimTls12Client(new Tls12TestClientOptions { Suites = [scenario.Suite], SessionTicket = [] }, null),
            _ => new SimTls13Client(new TlsTestClientOptions { Suites = [scenario.Suite] }),
        };
        Client.OnEstablished = () =>
        {
            Tls.Start();
            byte[] hello = Tls.TakeOutput();
            _clientWritten += hello.Length;
            Client.Write(hello, _now);
        };
        Client.OnData = _ => FeedClientTls();
        // Like an HTTP server: it answers once the request starts arriving, and closes after the client's FIN.
        Server.OnData = _ =>
        {
            if (!_serverAnswered)
            {
                _serverAnswered = true;
                Server.Write(_serverData, _now);
            }
        };
        Server.OnSyn = CheckSynAtServer;
        Client.Debug = m => { if (TraceEnabled) Trace.Add($"{_now,7} client: {m}"); };
        Server.Listen();
    }

    private static SimTls12Client Tls12Resumed(TlsCipherSuite suite)
    {
        (byte[] ticket, byte[] master) = SimTickets.Tls12Ticket(suite);
        return new SimTls12Client(new Tls12TestClientOptions { Suites = [suite], SessionTicket = ticket, SessionId = [1, 2, 3, 4, 5, 6, 7, 8] }, master);
    }

    public CutThroughEngine Engine { get; }
    public SimTcp Client { get; }
    public SimTcp Server { get; }
    public ISimTlsClient Tls { get; }
    public List<string> Violations { get; } = [];
    public int ClientKeyUpdatesSent { get; private set; }
    public long Now => _now;

    /// <summary>Optional fault injector for focused tests: may change a packet on its way (return null to drop it).</summary>
    public Func<int, byte[], byte[]?>? Tamper { get; set; }

    private void CheckSynAtServer(Segment syn)
    {
        if (syn.SackPermitted && !_s.Client.OfferSack)
            Violations.Add("SACK-permitted reached the server although the client did not offer it");
        if (syn.Mss > _s.Client.Mss - CutThroughEngine.MaxRecordOverhead)
            Violations.Add($"server saw MSS {syn.Mss}, not clamped below {_s.Client.Mss} - 29");
    }

    private void FeedClientTls()
    {
        var received = Client.Received;
        if (_clientFed < received.Count)
        {
            Tls.Feed(received.GetRange(_clientFed, received.Count - _clientFed).ToArray());
            _clientFed = received.Count;
        }
        byte[] output = Tls.TakeOutput();
        _clientWritten += output.Length;
        if (output.Length > 0)
            Client.Write(output, _now);
        if (Tls.HandshakeComplete && !_clientSentData)
        {
            _clientSentData = true;
            DataStartSeq = Client.Iss + 1 + (uint)_clientWritten;
            int offset = 0;
            int records = 0;
            while (offset < _clientData.Length)
            {
                int n = Math.Min(_s.FixedRecordSize ? _s.ClientMaxRecord : _app.Next(1, _s.ClientMaxRecord + 1), _clientData.Length - offset);
                Tls.SendApplicationData(_clientData.AsSpan(offset, n));
                offset += n;
                if (_s.ClientKeyUpdateEvery > 0 && ++records % _s.ClientKeyUpdateEvery == 0)
                {
                    // RFC 8446 §4.6.3: every other one asks the engine to update its keys too.
                    Tls.SendKeyUpdate(request: records / _s.ClientKeyUpdateEvery % 2 == 1);
                    ClientKeyUpdatesSent++;
                }
            }
            Tls.SendCloseNotify();
            Client.Write(Tls.TakeOutput(), _now);
            Client.Close(_now);
        }
    }

    // ---- network ----

    private int _sent;

    private void Transmit(Hop hop, byte[] packet)
    {
        if (hop == Hop.ServerToEngine && SegmentCodec.TryParse(packet, out Segment sent) && sent.HasTimestamps)
            _serverTsVals.Add(sent.TsVal);
        if (Tamper is not null)
        {
            byte[]? changed = Tamper(hop == Hop.ClientToEngine ? 0 : hop == Hop.EngineToClient ? 1 : hop == Hop.ServerToEngine ? 2 : 3, packet);
            if (changed is null)
                return;
            packet = changed;
        }
        SimHop h = hop switch
        {
            Hop.ClientToEngine => _s.ClientToEngine,
            Hop.EngineToClient => _s.EngineToClient,
            Hop.ServerToEngine => _s.ServerToEngine,
            _ => _s.EngineToServer,
        };
        _sent++;
        if (_net.NextDouble() < h.Loss)
            return;
        int copies = _net.NextDouble() < h.Duplicate ? 2 : 1;
        for (int i = 0; i < copies; i++)
        {
            long delay = h.LatencyMs + (_net.NextDouble() < h.Reorder ? _net.Next(1, h.JitterMs + 1) : 0);
            _queue.Enqueue((hop, packet), (_now + delay, _order++));
        }
    }

    /// <summary>The engine's output: towards the server when addressed to the plain port, else the client.</summary>
    public bool TraceEnabled { get; set; }
    public List<string> Trace { get; } = [];

    private void Log(string hop, byte[] packet)
    {
        if (!TraceEnabled)
            return;
        SegmentCodec.TryParse(packet, out Segment seg);
        string sack = "";
        if (TcpPacket.TryParse(packet, out TcpPacket p) == TcpPacketStatus.Tcp)
        {
            var r = new TcpOptionReader(p.Tcp.Options);
            while (r.MoveNext())
            {
                if (r.Kind == TcpOptionKind.SackPermitted)
                    sack += " sackok";
                if (r.Kind != TcpOptionKind.Sack)
                    continue;
                for (int i = 0; i + 8 <= r.Data.Length; i += 8)
                    sack += $" sack {System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(r.Data[i..])}-{System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(r.Data[(i + 4)..])}";
            }
        }
        Trace.Add($"{_now,7} {hop} {seg.Flags,-22} seq {seg.SequenceNumber} ack {seg.AcknowledgementNumber} win {seg.Window} len {seg.Payload.Length} tsval {seg.TsVal}{sack} | {Engine.DescribeFlow(0)}");
    }

    public void Send(ReadOnlySpan<byte> ipPacket)
    {
        byte[] copy = ipPacket.ToArray();
        if (!SegmentCodec.VerifyTcpChecksum(copy))
            Violations.Add("engine sent a packet with a bad checksum");
        SegmentCodec.TryParse(copy, out Segment seg);
        // RFC 7323 §5: what the engine sends towards the client must never carry a TSval older than before
        // (PAWS). Reordering on the network may still make the client drop some, as with any TCP.
        if (seg.DestinationPort != 80 && seg.HasTimestamps)
        {
            if (_lastTsToClient is uint last && Bufferless.Packets.Flows.Seq.Lt(seg.TsVal, last))
                Violations.Add($"engine TSval to the client went back from {last} to {seg.TsVal}");
            _lastTsToClient = seg.TsVal;
            // The client's PAWS state follows the server's clock: the engine may only repeat values the server sent.
            if (_serverTsVals.Count > 0 && !_serverTsVals.Contains(seg.TsVal))
                Violations.Add($"engine TSval {seg.TsVal} to the client is not a value the server sent");
        }
        // RFC 7323 §3.2: an ACK echoes the peer's TSval; the server's loss recovery and RTT estimate read it.
        if (seg.DestinationPort == 80 && seg.HasTimestamps && !seg.Has(TcpFlags.Syn) && _serverTsVals.Count > 0
            && !_serverTsVals.Contains(seg.TsEcr))
            Violations.Add($"engine TSecr {seg.TsEcr} to the server is not a value the server sent");
        Transmit(seg.DestinationPort == 80 ? Hop.EngineToServer : Hop.EngineToClient, copy);
    }

    // ---- invariants seen from inside ----

    void IEngineObserver.OnSeal(int flow, int keyEpoch, ulong recordNumber, byte contentType, ReadOnlySpan<byte> content)
    {
        byte[] bytes = [contentType, .. content];
        if (_sealed.TryGetValue((keyEpoch, recordNumber), out byte[]? before))
        {
            if (!before.AsSpan().SequenceEqual(bytes))
                Violations.Add($"record {recordNumber} of key generation {keyEpoch} sealed with two different plaintexts (invariant 2)");
            return;
        }
        _sealed[(keyEpoch, recordNumber)] = bytes;
    }

    void IEngineObserver.OnRelease(int flow, ulong recordNumber, bool final, bool tagChecked)
    {
        if (final && !tagChecked)
            Violations.Add($"record {recordNumber}: final piece released before its tag checked (invariant 3)");
        if (!final && !tagChecked && _s.Mode == CutThroughMode.Verified)
            Violations.Add($"record {recordNumber}: plaintext released before its tag checked in verified mode (invariant 3)");
    }

    /// <summary>The highest record number the engine sealed under any one key (-1: none).</summary>
    public long MaxRecordNumberPerKey => _sealed.Count == 0 ? -1 : (long)_sealed.Keys.Max(k => k.Record);

    /// <summary>Largest number of record bytes the engine held at once (ArrayPool sizes).</summary>
    public long MaxHeldBytes { get; private set; }

    /// <summary>
    /// DESIGN.md §6 and invariant 3: bufferless mode decrypts each segment as it arrives and holds no record
    /// (only a few bytes of tail inside the flow slot); verified mode holds at most one record per flow.
    /// </summary>
    private void CheckHold()
    {
        long held = Engine.Counters.HeldBytes;
        MaxHeldBytes = Math.Max(MaxHeldBytes, held);
        if (_s.Mode == CutThroughMode.Bufferless && held != 0)
            Violations.Add($"bufferless engine holds {held} record bytes");
        if (held > 32 * 1024)
            Violations.Add($"engine holds {held} bytes, more than one record");
    }

    // ---- running ----

    public bool Done =>
        Client.PeerFin && Server.PeerFin && Client.FinAcked && Server.FinAcked
        && Server.Received.Count == _clientData.Length && Tls.ApplicationData.Count == _serverData.Length;

    public void Run(long limitMs = 600_000)
    {
        Client.Connect(0);
        while (_now < limitMs && !Done && !Client.Reset && !Server.Reset)
        {
            long next = Math.Min(Math.Min(Engine.NextTimerMs, Client.TimerDeadline), Server.TimerDeadline);
            if (_queue.TryPeek(out _, out var at))
                next = Math.Min(next, at.Item1);
            if (next == long.MaxValue)
                break;
            _now = Math.Max(_now, next);
            while (_queue.TryPeek(out var item, out var when) && when.Item1 <= _now)
            {
                _queue.Dequeue();
                Log(item.Hop.ToString(), item.Packet);
                switch (item.Hop)
                {
                    case Hop.ClientToEngine or Hop.ServerToEngine:
                        Engine.OnPacket(item.Packet, _now);
                        CheckHold();
                        break;
                    case Hop.EngineToClient:
                        Client.OnPacket(item.Packet, _now);
                        break;
                    default:
                        Server.OnPacket(item.Packet, _now);
                        break;
                }
            }
            if (Server.PeerFin && !Server.Closing)
            {
                if (!_serverAnswered)
                {
                    _serverAnswered = true;
                    Server.Write(_serverData, _now);
                }
                Server.Close(_now);
            }
            if (Engine.NextTimerMs <= _now)
                Engine.OnTimer(_now);
            Client.OnTimer(_now);
            Server.OnTimer(_now);
        }
    }

    /// <summary>Lets every engine timer run out (linger, expiry) so the table must end empty.</summary>
    public void Drain()
    {
        for (int i = 0; i < 100 && Engine.NextTimerMs != long.MaxValue; i++)
        {
            _now = Math.Max(_now, Engine.NextTimerMs);
            Engine.OnTimer(_now);
        }
    }

    /// <summary>All end-of-run checks; returns a description of every failure (empty when the run is good).</summary>
    public List<string> Check()
    {
        var failures = new List<string>(Violations);
        if (Client.Reset || Server.Reset)
            failures.Add($"connection reset (client {Client.Reset}, server {Server.Reset})");
        if (!Done)
            failures.Add($"did not finish by {_now} ms: server got {Server.Received.Count}/{_clientData.Length}, client got {Tls.ApplicationData.Count}/{_serverData.Length}, fins {Client.PeerFin}/{Server.PeerFin}, fin acks {Client.FinAcked}/{Server.FinAcked}");
        if (!System.Runtime.InteropServices.CollectionsMarshal.AsSpan(Server.Received).SequenceEqual(_clientData.AsSpan(0, Math.Min(_clientData.Length, Server.Received.Count))) || Server.Received.Count > _clientData.Length)
            failures.Add("server received bytes the client did not send");
        if (!System.Runtime.InteropServices.CollectionsMarshal.AsSpan(Tls.ApplicationData).SequenceEqual(_serverData.AsSpan(0, Math.Min(_serverData.Length, Tls.ApplicationData.Count))) || Tls.ApplicationData.Count > _serverData.Length)
            failures.Add("client received bytes the server did not send");
        if (Tls.Error is not null)
            failures.Add("TLS client: " + Tls.Error);
        if (_s.Handshake != SimHandshake.Full && Tls.HandshakeComplete && !Tls.Resumed)
            failures.Add("the client's session was not resumed");
        if (Done && Tls.ReceivedAlert != TlsAlertDescription.CloseNotify)
            failures.Add($"client did not get close_notify (alert {Tls.ReceivedAlert})");
        if (Client.BeyondWindowBytes > 0)
            failures.Add($"engine sent {Client.BeyondWindowBytes} bytes beyond the client's window");
        failures.AddRange(Client.Errors);
        failures.AddRange(Server.Errors);
        if (Engine.Counters.Drops(DropReason.InternalError) > 0)
            failures.Add("engine internal error");
        if (Engine.Counters.TagFailures > 0 || Engine.Counters.RetransmissionMismatches > 0 || Engine.Counters.ProtocolErrors > 0)
            failures.Add($"engine: tag failures {Engine.Counters.TagFailures}, mismatches {Engine.Counters.RetransmissionMismatches}, protocol errors {Engine.Counters.ProtocolErrors}");
        return failures;
    }

    public string Describe() => $"{_s}\n  engine: {Engine.Counters}";

    public void Dispose()
    {
        Engine.Dispose();
        Tls.Dispose();
    }
}
