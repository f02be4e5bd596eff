using System.CommandLine;
using System.Runtime.InteropServices;
using Bufferless.Packets.Engine;
using Bufferless.Packets.Io;
using Bufferless.Proxy;
using Bufferless.Tls;
using Microsoft.Extensions.Logging;

namespace Bufferless.Cli;

/// <summary>
/// <c>bufferless cut-through</c>: the packet engine in direct mode (patent Fig. 5) on a TUN device. The client
/// talks TLS to the server's own address on --tls-port; the server answers in clear on --plain-port and sees the
/// client's real address. Policy routing must send those packets into the TUN (<c>bufferless lab up</c> does).
/// SIGUSR1 logs the counters; SIGTERM/SIGINT stop the loop and log them a last time.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class CutThroughCommand
{
    public static Command Create()
    {
        var tun = new Option<string>("--tun") { Description = "TUN device to attach to (e.g. bl-tun, made by `bufferless lab up`).", Required = true };
        var cert = new Option<FileInfo>("--cert") { Description = "PEM certificate chain, leaf first.", Required = true };
        var key = new Option<FileInfo>("--key") { Description = "PEM private key (PKCS#8, SEC1 EC or PKCS#1 RSA).", Required = true };
        var mode = new Option<CutThroughMode>("--mode")
        {
            Description = "verified (default): no plaintext of a record reaches the server before its tag checks; bufferless: earlier segments go on first, the final one only after the check.",
            DefaultValueFactory = _ => CutThroughMode.Verified,
        };
        var tlsPort = new Option<ushort>("--tls-port") { Description = "TCP port clients use for TLS.", DefaultValueFactory = _ => 443 };
        var plainPort = new Option<ushort>("--plain-port") { Description = "TCP port the server listens on in clear.", DefaultValueFactory = _ => 80 };
        var maxFlows = new Option<int>("--max-flows") { Description = "Flow table size (preallocated).", DefaultValueFactory = _ => 65536 };
        var offload = new Option<TunOffload>("--offload")
        {
            Description = "auto (default): open the TUN with virtio headers and TSO/checksum offload (64 KiB super-packets are cut and rebuilt in the packet loop), falling back to plain packets if the kernel refuses; off: one packet per read and write.",
            DefaultValueFactory = _ => TunOffload.Auto,
        };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error, None.", DefaultValueFactory = _ => LogLevel.Information };
        var metrics = MetricsEndpoint.CreateOption();
        var logFormat = Logging.CreateFormatOption();
        var cmd = new Command("cut-through", "Run the cut-through packet engine (TLS terminated packet by packet) on a TUN device. Needs CAP_NET_ADMIN.")
        {
            tun, cert, key, mode, tlsPort, plainPort, maxFlows, offload, metrics, logLevel, logFormat,
        };
        cmd.SetAction(p =>
        {
            if (!ProxyCommand.TryLoadCertificate(p.GetValue(cert)!, p.GetValue(key)!, out var certificate, out string error))
                return ProxyCommand.Fail(error);
            var options = new CutThroughOptions
            {
                TlsConfig = new TlsServerConfig { Certificates = [certificate!] },
                Mode = p.GetValue(mode),
                TlsPort = p.GetValue(tlsPort),
                PlainPort = p.GetValue(plainPort),
                MaxFlows = Math.Max(16, p.GetValue(maxFlows)),
            };
            return Run(p.GetValue(tun)!, options, p.GetValue(offload), p.GetValue(logLevel), p.GetValue(logFormat), p.GetValue(metrics));
        });
        return cmd;
    }

    /// <summary>Handshakes since the last trim that make an idle moment worth a full collection.</summary>
    private const int TrimAfterHandshakes = 256;

    private static int Run(string tunName, CutThroughOptions options, TunOffload offload, LogLevel level, LogFormat logFormat, string? metricsAddress)
    {
        using var loggers = Logging.Create(level, logFormat);
        var log = loggers.CreateLogger("cut-through");
        // TUNSETIFF would create a missing device, one with no address and no routes: the engine would wait forever
        // for packets that cannot come. A mistyped name gets a clear error instead.
        if (OperatingSystem.IsLinux() && !File.Exists($"/sys/class/net/{tunName}/tun_flags"))
        {
            return ProxyCommand.Fail(Directory.Exists($"/sys/class/net/{tunName}")
                ? $"'{tunName}' is not a TUN device"
                : $"TUN device '{tunName}' does not exist: create it first (`bufferless lab up` makes bl-tun with its routes; or `ip tuntap add dev {tunName} mode tun`)");
        }
        TunDevice device;
        try { device = TunDevice.Open(tunName, offload == TunOffload.Auto); }
        catch (Exception e) when (e is IOException or ArgumentException) { return ProxyCommand.Fail(e.Message); }
        using var ownedDevice = device;
        if (device.OffloadError is not null) log.LogWarning("TUN offload not enabled ({Error}); one packet per read and write", device.OffloadError);
        foreach (string warning in CertificateExpiry.Warnings(options.TlsConfig.Certificates, DateTimeOffset.UtcNow))
            log.LogWarning("{Warning}", warning);
        // The engine's handshakes run the same TLS server code: compile it before the first client (no tickets here).
        var warm = HandshakeWarmup.Run(options.TlsConfig, rounds: 1);
        log.LogInformation("warm-up: {Handshakes} in-memory handshake in {Ms:F0} ms{Failure}", warm.Handshakes, warm.Elapsed.TotalMilliseconds,
            warm.Failure is null ? "" : " (" + warm.Failure + ")");
        var sink = new TunPacketSink(device, device.VnetHeader);
        using (var engine = new CutThroughEngine(options, sink))
        using (var shutdown = new Shutdown())
        {
            // After a burst of handshakes, once the loop has been idle for half a second, give the burst's garbage heap
            // and OpenSSL's native heap back to the OS (idle established flows need only their slab entry). The
            // first idle moment after start-up trims too (configuration, certificate loading, JIT leftovers).
            long trimmedAt = -TrimAfterHandshakes;
            var loop = new PacketLoop(device, engine, vnetHeader: device.VnetHeader, output: sink)
            {
                IdleMs = 500,
                OnIdle = () =>
                {
                    long done = engine.Counters.HandshakesCompleted + engine.Counters.HandshakesFailed;
                    if (done - trimmedAt < TrimAfterHandshakes) return;
                    trimmedAt = done;
                    long before = Environment.WorkingSet, t0 = Environment.TickCount64;
                    MemoryTrim.Now();
                    log.LogDebug("memory trim after {Handshakes} handshakes: RSS {Before} -> {After} bytes in {Ms} ms",
                        done, before, Environment.WorkingSet, Environment.TickCount64 - t0);
                },
            };
            MetricsEndpoint? metrics = null;
            if (metricsAddress is not null)
            {
                if (!MetricsEndpoint.TryStart(metricsAddress, m => RegisterMetrics(m, engine, loop, sink, options), out metrics, out string error))
                    return ProxyCommand.Fail(error);
                log.LogInformation("metrics on {Url}", metrics!.Url);
            }
            using var metricsLifetime = metrics;
            var counters = loggers.CreateLogger(Logging.CountersCategory);
            void Report() => counters.LogInformation("counters: {Counters}; tun read={Read} super_packets={Super} segments={Segments} offload_errors={OffloadErrors} written={Written} writes={Writes} write_failed={Failed} acks_superseded={AcksSuperseded} wakeups={Wakeups}",
                engine.Counters, loop.PacketsRead, loop.SuperPackets, loop.Segments, loop.OffloadErrors, sink.Sent, sink.Writes, sink.Failed, sink.AcksSuperseded, loop.Wakeups);
            using var usr1 = PosixSignalRegistration.Create((PosixSignal)10 /* SIGUSR1 */, c => { c.Cancel = true; Report(); });
            log.LogInformation("cut-through on {Tun}: mode {Mode}, offload {Offload}, TLS port {TlsPort} -> plain port {PlainPort}, {MaxFlows} flows ({Bytes} bytes fixed state per flow slot)",
                device.Name, options.Mode, device.VnetHeader ? "on" : "off", options.TlsPort, options.PlainPort, options.MaxFlows, CutThroughEngine.FixedBytesPerFlow);
            try
            {
                loop.Run(shutdown.Token);
            }
            catch (IOException e)
            {
                log.LogError("packet loop stopped: {Message}", e.Message);
                Report();
                return 1;
            }
            Report();
        }
        return 0;
    }

    /// <summary>
    /// The engine's counters (the SIGUSR1 line) as Prometheus metrics. They are plain fields the packet thread writes;
    /// a scrape reads them as they are (a value may lag by a packet).
    /// </summary>
    private static void RegisterMetrics(MetricsEndpoint m, CutThroughEngine engine, PacketLoop loop, TunPacketSink sink, CutThroughOptions options)
    {
        CutThroughCounters c = engine.Counters;
        m.Counter("bufferless_engine_packets_in_total", "Packets the engine handled (after GSO super-packets are cut).", () => c.PacketsIn);
        m.Counter("bufferless_engine_packets_out_total", "Packets the engine sent.", () => c.PacketsOut);
        m.Counter("bufferless_engine_passed_through_total", "Server-port packets of flows the engine does not translate, sent on unchanged.", () => c.PassedThrough);
        m.Counter("bufferless_engine_tun_reads_total", "Reads from the TUN device.", () => loop.PacketsRead);
        m.Counter("bufferless_engine_tun_write_failures_total", "Packets the TUN device refused.", () => sink.Failed);
        m.Counter("bufferless_engine_flows_created_total", "TCP flows the engine started to track.", () => c.FlowsCreated);
        m.Gauge("bufferless_engine_flows", "Flows in the table now, by state.", "state",
            () => Enum.GetValues<Packets.Flows.FlowState>().Where(s => s != Packets.Flows.FlowState.Free)
                .Select(s => (MetricsEndpoint.SnakeCase(s.ToString()), (double)c.Flows(s))));
        m.Gauge("bufferless_engine_flows_max", "The --max-flows table size.", () => options.MaxFlows);
        m.Counter("bufferless_engine_flows_expired_total", "Flows ended by a timeout: idle, closing (a normal end after both FINs) or handshake.", "timeout",
            () => [("idle", c.FlowsExpiredIdle), ("closing", c.FlowsExpiredClosing), ("handshake", c.FlowsExpiredHandshake)]);
        m.Counter("bufferless_engine_handshakes_total", "TLS handshakes completed.", () => c.HandshakesCompleted);
        m.Counter("bufferless_engine_handshake_failures_total", "TLS handshakes that failed (an alert sent).", () => c.HandshakesFailed);
        m.Counter("bufferless_engine_records_decrypted_total", "Client records decrypted.", () => c.RecordsDecrypted);
        m.Counter("bufferless_engine_records_encrypted_total", "Server segments encrypted into records.", () => c.RecordsEncrypted);
        m.Counter("bufferless_engine_records_reencrypted_total", "Server retransmissions encrypted again under their original record numbers.", () => c.RetransmissionsReEncrypted);
        m.Counter("bufferless_engine_client_to_server_bytes_total", "Plaintext bytes forwarded to servers.", () => c.BytesClientToServer);
        m.Counter("bufferless_engine_server_to_client_bytes_total", "Plaintext bytes encrypted for clients.", () => c.BytesServerToClient);
        m.Counter("bufferless_engine_tag_failures_total", "Client records whose authentication tag did not verify.", () => c.TagFailures);
        m.Counter("bufferless_engine_resets_total", "RSTs seen, by the side that sent them.", "from",
            () => [("client", c.ResetsFromClient), ("server", c.ResetsFromServer)]);
        m.Counter("bufferless_engine_drops_total", "Packets dropped, by reason.", "reason",
            () => Enum.GetValues<DropReason>().Select(r => (MetricsEndpoint.SnakeCase(r.ToString()), c.Drops(r))));
        m.Gauge("bufferless_engine_held_bytes", "Buffer bytes the engine holds now (out-of-order, window and retransmission holds).", () => c.HeldBytesTotal);
        m.CertificateExpiry(() => options.TlsConfig.Certificates.Select(cert => (cert.Subject, cert.NotAfter)));
    }
}

/// <summary>Whether the TUN is opened with virtio headers and TSO/checksum offload.</summary>
internal enum TunOffload
{
    Auto,
    Off,
}
