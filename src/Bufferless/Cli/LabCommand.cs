using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Bufferless.Packets.Io;

namespace Bufferless.Cli;

/// <summary>
/// <c>bufferless lab up|down</c>: the demo topology of ../shared/bench/lab.sh (same namespaces, veths, addresses,
/// state directory and backend nginx), plus IPv6 from 2001:2::/48 and, in bl-accel, the persistent TUN device
/// and the policy routing that sends TLS-port and plain-port-reply traffic through the engine:
/// <code>
///  bl-client 198.18.1.2 / 2001:2:1::2 --veth-- bl-accel 198.18.1.1 | 198.18.2.1 --veth-- bl-server 198.18.2.2 / 2001:2:2::2
///                                                 2001:2:1::1 | 2001:2:2::1               nginx :80
///  in bl-accel:  iif bl-a0 tcp dport 443 -> table 100;  iif bl-a1 tcp sport 80 -> table 100;  table 100: default dev bl-tun
/// </code>
/// The lab makes the TUN persistent (<c>ip tuntap add</c>), so the engine only attaches to it and can restart
/// without touching routing. Packets the engine writes back come in on bl-tun and follow the main table.
/// Every step shells out to ip/sysctl/openssl/nginx, checks the exit code, and on failure prints one line naming
/// the command. Running <c>up</c> twice is safe; <c>down</c> removes the namespaces (and everything in them).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class LabCommand
{
    // Namespace names: PREFIX-client, PREFIX-accel, PREFIX-server (default prefix "bl", as lab.sh). Another prefix
    // builds a second, independent copy of the lab (same addresses, separate namespaces) beside a running one.
    private static string NsClient = "bl-client", NsAccel = "bl-accel", NsServer = "bl-server";
    private const string ClientIp = "198.18.1.2", AccelCip = "198.18.1.1", AccelSip = "198.18.2.1", ServerIp = "198.18.2.2";
    private const string ClientIp6 = "2001:2:1::2", AccelCip6 = "2001:2:1::1", AccelSip6 = "2001:2:2::1", ServerIp6 = "2001:2:2::2";

    public static Command Create()
    {
        var state = new Option<string>("--state")
        {
            Description = "State directory (certs, www, configs, pids, logs); shared with ../shared/bench/lab.sh.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("BENCH_STATE") is { Length: > 0 } s ? s : "/tmp/bench-lab",
        };
        var tun = new Option<string>("--tun") { Description = "TUN device in bl-accel.", DefaultValueFactory = _ => "bl-tun" };
        var table = new Option<int>("--table") { Description = "Routing table for the intercepted traffic.", DefaultValueFactory = _ => 100 };
        var tlsPort = new Option<int>("--tls-port") { Description = "Client TCP port sent into the TUN.", DefaultValueFactory = _ => 443 };
        var plainPort = new Option<int>("--plain-port") { Description = "Server TCP port whose replies are sent into the TUN.", DefaultValueFactory = _ => 80 };
        var noIntercept = new Option<bool>("--no-intercept") { Description = "Build the lab without the TUN and the policy rules (plain lab.sh topology)." };
        var accessLog = new Option<bool>("--access-log") { Description = "Turn on nginx's access log (STATE/log/backend-access.log) to see client addresses." };
        var noBig = new Option<bool>("--no-256m") { Description = "Skip the 256 MiB test file." };
        var prefix = new Option<string>("--prefix")
        {
            Description = "Namespace name prefix: PREFIX-client, PREFIX-accel, PREFIX-server (use another prefix and --state for a second lab).",
            DefaultValueFactory = _ => "bl",
        };
        var up = new Command("up", "Create the namespaces, veths, addresses, routes, TUN, policy rules, certificates, files and the nginx backend (idempotent).")
        {
            state, tun, table, tlsPort, plainPort, noIntercept, accessLog, noBig, prefix,
        };
        up.SetAction(p => Guard(p.GetValue(prefix)!, () => Up(new Settings(p.GetValue(state)!, p.GetValue(tun)!, p.GetValue(table), p.GetValue(tlsPort),
            p.GetValue(plainPort), !p.GetValue(noIntercept), p.GetValue(accessLog), !p.GetValue(noBig)))));

        var purge = new Option<bool>("--purge") { Description = "Also delete the state directory." };
        var down = new Command("down", "Stop the backend and whatever runs in the lab namespaces, delete the namespaces.") { state, purge, prefix };
        down.SetAction(p => Guard(p.GetValue(prefix)!, () => Down(p.GetValue(state)!, p.GetValue(purge))));

        var cmd = new Command("lab", "Build or remove the demo lab (network namespaces bl-client, bl-accel, bl-server; needs root).")
        {
            up, down, CreateForward(),
        };
        return cmd;
    }

    /// <summary>
    /// Hidden: <c>bufferless lab forward --tun NAME [--loss P] [--duplicate P] [--reorder P] [--delay-ms N] [--seed N]</c>.
    /// Writes every packet read from the TUN back into it (a pass-through engine), optionally dropping,
    /// duplicating and delaying packets with a seeded generator: the plumbing check and the fault hop of the
    /// end-to-end tests. Counters are printed on SIGUSR1 and at exit.
    /// </summary>
    private static Command CreateForward()
    {
        var tun = new Option<string>("--tun") { Description = "TUN device to attach to (created if absent).", Required = true };
        var loss = new Option<double>("--loss") { Description = "Probability a packet is dropped." };
        var dup = new Option<double>("--duplicate") { Description = "Probability a packet is sent twice." };
        var reorder = new Option<double>("--reorder") { Description = "Probability a packet is held so later ones overtake it." };
        var delay = new Option<int>("--delay-ms") { Description = "How long a reordered packet is held.", DefaultValueFactory = _ => 3 };
        var seed = new Option<int>("--seed") { Description = "Seed of the fault generator.", DefaultValueFactory = _ => 1 };
        var offload = new Option<TunOffload>("--offload") { Description = "auto: TSO/checksum offload with virtio headers if the kernel allows; off: one packet per read and write.", DefaultValueFactory = _ => TunOffload.Auto };
        var cmd = new Command("forward", "Pass-through / fault-injecting TUN forwarder (debugging and tests).")
        {
            tun, loss, dup, reorder, delay, seed, offload,
        };
        cmd.Hidden = true;
        cmd.SetAction(p =>
        {
            var options = new FaultOptions(p.GetValue(loss), p.GetValue(dup), p.GetValue(reorder), p.GetValue(delay), p.GetValue(seed));
            TunDevice device;
            try { device = TunDevice.Open(p.GetValue(tun)!, p.GetValue(offload) == TunOffload.Auto); }
            catch (Exception e) when (e is IOException or ArgumentException) { return ProxyCommand.Fail(e.Message); }
            using (device)
            using (var shutdown = new Shutdown())
            {
                var sink = new TunPacketSink(device, device.VnetHeader);
                var forwarder = new FaultInjectingForwarder(sink, options);
                var loop = new PacketLoop(device, forwarder, vnetHeader: device.VnetHeader, output: sink);
                void Report() => Console.WriteLine(
                    $"forward {device.Name}: read={loop.PacketsRead} super_packets={loop.SuperPackets} segments={loop.Segments} sent={sink.Sent} writes={sink.Writes} send_failed={sink.Failed} dropped={forwarder.Dropped} duplicated={forwarder.Duplicated} reordered={forwarder.Reordered}");
                using var usr1 = PosixSignalRegistration.Create((PosixSignal)10 /* SIGUSR1 */, c => { c.Cancel = true; Report(); });
                Console.WriteLine($"forward {device.Name}: offload={(device.VnetHeader ? "on" : "off " + device.OffloadError)} loss={options.Loss} duplicate={options.Duplicate} reorder={options.Reorder} delay={options.ReorderDelayMs}ms seed={options.Seed}");
                loop.Run(shutdown.Token);
                Report();
            }
            return 0;
        });
        return cmd;
    }

    private sealed record Settings(string State, string Tun, int Table, int TlsPort, int PlainPort, bool Intercept, bool AccessLog, bool Big);

    private sealed class LabException(string message) : Exception(message);

    private static int Guard(string prefix, Action action)
    {
        if (prefix.Length is 0 or > 20 || !prefix.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            Console.Error.WriteLine("lab: --prefix must be 1 to 20 letters, digits or dashes");
            return 1;
        }
        (NsClient, NsAccel, NsServer) = (prefix + "-client", prefix + "-accel", prefix + "-server");
        try
        {
            action();
            return 0;
        }
        catch (LabException e)
        {
            Console.Error.WriteLine("lab: " + e.Message);
            return 1;
        }
    }

    // ---- up ------------------------------------------------------------------------------------------------------

    private static void Up(Settings s)
    {
        foreach (string ns in new[] { NsClient, NsAccel, NsServer })
        {
            if (!NamespaceExists(ns)) Run("ip", "netns", "add", ns);
            Run("ip", "-n", ns, "link", "set", "lo", "up");
        }
        // veth pairs are created directly inside the namespaces (never in the root namespace), as lab.sh does.
        if (!Try("ip", "-n", NsClient, "link", "show", "bl-c0"))
            Run("ip", "link", "add", "bl-c0", "netns", NsClient, "type", "veth", "peer", "name", "bl-a0", "netns", NsAccel);
        if (!Try("ip", "-n", NsAccel, "link", "show", "bl-a1"))
            Run("ip", "link", "add", "bl-a1", "netns", NsAccel, "type", "veth", "peer", "name", "bl-s0", "netns", NsServer);

        Address(NsClient, "bl-c0", ClientIp + "/24", ClientIp6 + "/64");
        Address(NsAccel, "bl-a0", AccelCip + "/24", AccelCip6 + "/64");
        Address(NsAccel, "bl-a1", AccelSip + "/24", AccelSip6 + "/64");
        Address(NsServer, "bl-s0", ServerIp + "/24", ServerIp6 + "/64");
        // Only the two lab networks are routed; no default route anywhere.
        Run("ip", "-n", NsClient, "route", "replace", "198.18.2.0/24", "via", AccelCip);
        Run("ip", "-n", NsServer, "route", "replace", "198.18.1.0/24", "via", AccelSip);
        Run("ip", "-n", NsClient, "-6", "route", "replace", "2001:2:2::/64", "via", AccelCip6);
        Run("ip", "-n", NsServer, "-6", "route", "replace", "2001:2:1::/64", "via", AccelSip6);

        Sysctl(NsAccel, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
            "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
            "net.ipv4.conf.bl-a0.rp_filter=0", "net.ipv4.conf.bl-a1.rp_filter=0");
        foreach (string ns in new[] { NsClient, NsAccel, NsServer })
            Sysctl(ns, "net.core.somaxconn=8192", "net.ipv4.tcp_max_syn_backlog=8192",
                "net.ipv4.ip_local_port_range=10000 65000", "net.ipv4.tcp_tw_reuse=1");

        MakeCertificates(s.State);
        MakeFiles(s.State, s.Big);
        StartBackend(s);
        if (s.Intercept) Intercept(s);
        Console.WriteLine($"lab up: {NsClient} {ClientIp} -> {NsAccel} {AccelCip}|{AccelSip} -> {NsServer} {ServerIp}:{s.PlainPort} " +
            $"(IPv6 {ClientIp6} -> {ServerIp6}; state {s.State})" +
            (s.Intercept ? $"; tcp dport {s.TlsPort} and sport {s.PlainPort} go through {s.Tun} (table {s.Table}): start the engine on it" : ""));
    }

    private static void Address(string ns, string dev, string v4, string v6)
    {
        Run("ip", "-n", ns, "addr", "replace", v4, "dev", dev);
        Run("ip", "-n", ns, "addr", "replace", v6, "dev", dev, "nodad");
        Run("ip", "-n", ns, "link", "set", dev, "up");
    }

    private static void Intercept(Settings s)
    {
        if (!Try("ip", "-n", NsAccel, "link", "show", s.Tun))
            Run("ip", "netns", "exec", NsAccel, "ip", "tuntap", "add", "dev", s.Tun, "mode", "tun");
        // The TUN's transmit queue is what the kernel holds for the engine to read: the default 500 packets
        // overflow during a burst of 64 KiB TSO-split segments (seen as TX drops on the device), which is real
        // loss on the path. The engine survives loss, but a lab that loses packets by itself measures nothing.
        Run("ip", "-n", NsAccel, "link", "set", s.Tun, "txqueuelen", "10000", "up");
        // Packets the engine writes back enter on the TUN with the client's or server's source address: no
        // reverse-path filtering on it (DESIGN.md §5).
        Sysctl(NsAccel, $"net.ipv4.conf.{s.Tun}.rp_filter=0");
        string table = s.Table.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (string family in new[] { "-4", "-6" })
        {
            // ip rule has no "replace": remove ours, then add them again.
            for (int i = 0; i < 16 && Try("ip", "-n", NsAccel, family, "rule", "del", "table", table); i++) { }
            Run("ip", "-n", NsAccel, family, "rule", "add", "iif", "bl-a0", "ipproto", "tcp", "dport", s.TlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "table", table);
            Run("ip", "-n", NsAccel, family, "rule", "add", "iif", "bl-a1", "ipproto", "tcp", "sport", s.PlainPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "table", table);
            Run("ip", "-n", NsAccel, family, "route", "replace", "default", "dev", s.Tun, "table", table);
        }
    }

    private static void MakeCertificates(string state)
    {
        string d = Path.Combine(state, "certs");
        Directory.CreateDirectory(d);
        string san = $"subjectAltName=DNS:bench.lab,IP:{AccelCip},IP:{ServerIp},IP:{ServerIp6}";
        foreach (var (name, keyArgs) in new[] { ("ecdsa", new[] { "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1" }), ("rsa", new[] { "-newkey", "rsa:2048" }) })
        {
            string pem = Path.Combine(d, name + ".pem");
            if (File.Exists(pem) && new FileInfo(pem).Length > 0) continue;
            Run(["openssl", "req", "-x509", .. keyArgs, "-nodes", "-days", "3650", "-subj", "/CN=bench.lab", "-addext", san,
                "-keyout", Path.Combine(d, name + ".key"), "-out", Path.Combine(d, name + ".crt")]);
            File.WriteAllText(pem, File.ReadAllText(Path.Combine(d, name + ".crt")) + File.ReadAllText(Path.Combine(d, name + ".key")));
            foreach (string f in new[] { name + ".key", name + ".pem" })
                File.SetUnixFileMode(Path.Combine(d, f), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static void MakeFiles(string state, bool big)
    {
        string w = Path.Combine(state, "www");
        Directory.CreateDirectory(w);
        foreach (var (name, size) in new[] { ("0b", 0L), ("1k", 1024L), ("64k", 65536L), ("1m", 1L << 20), ("256m", 256L << 20) })
        {
            if (name == "256m" && !big) continue;
            string path = Path.Combine(w, name);
            if (File.Exists(path) && new FileInfo(path).Length == size) continue;
            using var f = File.Create(path);
            var chunk = new byte[1 << 20];
            for (long left = size; left > 0; left -= chunk.Length)
            {
                RandomNumberGenerator.Fill(chunk);
                f.Write(chunk, 0, (int)Math.Min(chunk.Length, left));
            }
        }
        var dirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
                      | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(state, dirMode);
        File.SetUnixFileMode(w, dirMode);
        foreach (string f in Directory.GetFiles(w))
            File.SetUnixFileMode(f, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    private static void StartBackend(Settings s)
    {
        string d = Path.Combine(s.State, "backend");
        foreach (string sub in new[] { Path.Combine(d, "tmp"), Path.Combine(s.State, "log"), Path.Combine(s.State, "run") })
            Directory.CreateDirectory(sub);
        // nginx workers run unprivileged: the upload directory and body temp path must be theirs to write.
        foreach (string dir in new[] { Path.Combine(s.State, "upload"), Path.Combine(d, "tmp") })
        {
            Directory.CreateDirectory(dir);
            File.SetUnixFileMode(dir, (UnixFileMode)0x1FF); // 0777: a throwaway lab directory under /tmp
        }
        string conf = Path.Combine(d, "nginx.conf");
        string accessLog = s.AccessLog ? $"access_log {s.State}/log/backend-access.log;" : "access_log off;";
        File.WriteAllText(conf, $$"""
            # plaintext backend (bl-server), written by `bufferless lab up` (same layout as bench/lab.sh, plus IPv6)
            worker_processes 1;
            worker_rlimit_nofile 20000;
            pid {{s.State}}/run/backend.pid;
            error_log {{s.State}}/log/backend-error.log warn;
            events { worker_connections 19500; }
            http {
                {{accessLog}}
                sendfile on; tcp_nopush on; tcp_nodelay on;
                keepalive_timeout 600s; keepalive_requests 100000000;
                client_header_timeout 600s;
                client_max_body_size 0;
                default_type application/octet-stream;
                types { }
                client_body_temp_path {{d}}/tmp/body; proxy_temp_path {{d}}/tmp/proxy;
                fastcgi_temp_path {{d}}/tmp/fcgi; uwsgi_temp_path {{d}}/tmp/uwsgi; scgi_temp_path {{d}}/tmp/scgi;
                server {
                    listen {{ServerIp}}:{{s.PlainPort}} backlog=8192;
                    listen [{{ServerIp6}}]:{{s.PlainPort}} backlog=8192;
                    root {{s.State}}/www;
                    location / { }
                    # uploads for the end-to-end tests: PUT /upload/NAME writes STATE/upload/NAME
                    location /upload/ { root {{s.State}}; dav_methods PUT; create_full_put_path on; dav_access user:rw all:r; }
                }
            }

            """);
        if (!BackendRunning(s.State))
            Run(inherit: true, "ip", "netns", "exec", NsServer, "nginx", "-c", conf);
        // Checked from bl-accel: its own connections are delivered by the local table before any policy rule,
        // so the check holds whether or not the interception (and an engine) is in place.
        string url = $"http://{ServerIp}:{s.PlainPort}/1k";
        for (int i = 0; i < 50; i++)
        {
            if (Try("ip", "netns", "exec", NsAccel, "curl", "-sf", "-o", "/dev/null", "--max-time", "1", url)) return;
            Thread.Sleep(100);
        }
        Run("ip", "netns", "exec", NsAccel, "curl", "-sSf", "-o", "/dev/null", "--max-time", "2", url); // fails with curl's message
    }

    private static bool BackendRunning(string state)
    {
        string pidFile = Path.Combine(state, "run", "backend.pid");
        return File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid) && Directory.Exists($"/proc/{pid}");
    }

    // ---- down ----------------------------------------------------------------------------------------------------

    private static void Down(string state, bool purge)
    {
        string pidFile = Path.Combine(state, "run", "backend.pid");
        if (BackendRunning(state))
        {
            int pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Try("kill", "-QUIT", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            for (int i = 0; i < 50 && Directory.Exists($"/proc/{pid}"); i++) Thread.Sleep(100);
            if (Directory.Exists($"/proc/{pid}")) Try("kill", "-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        if (File.Exists(pidFile)) File.Delete(pidFile);
        foreach (string ns in new[] { NsClient, NsAccel, NsServer })
        {
            if (!NamespaceExists(ns)) continue;
            // Anything still running in the namespace was started for the lab: stop it by pid, never by name.
            var (_, pids) = Capture("ip", "netns", "pids", ns);
            foreach (string pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                Try("kill", pid);
            Run("ip", "netns", "del", ns); // takes the veths, the TUN, rules and routes with it
        }
        if (purge && Directory.Exists(state)) Directory.Delete(state, recursive: true);
        Console.WriteLine("lab down");
    }

    // ---- commands ------------------------------------------------------------------------------------------------

    private static bool NamespaceExists(string ns)
    {
        var (_, list) = Capture("ip", "netns", "list");
        foreach (string line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (line.Split(' ')[0] == ns) return true;
        return false;
    }

    private static void Sysctl(string ns, params string[] settings)
    {
        foreach (string setting in settings) Run("ip", "netns", "exec", ns, "sysctl", "-qw", setting);
    }

    private static void Run(params string[] args) => Run(inherit: false, args);

    /// <summary>Runs a command; on a non-zero exit throws with one line: the command and its first error line.</summary>
    private static void Run(bool inherit, params string[] args)
    {
        int code;
        string err;
        if (inherit)
        {
            // Daemons (nginx) keep inherited pipes open after they fork: never redirect their output.
            using var p = Start(args, redirect: false);
            p.WaitForExit();
            code = p.ExitCode;
            err = "";
        }
        else (code, _, err) = Exec(args);
        if (code == 0) return;
        string first = err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        throw new LabException($"command failed (exit {code}): {string.Join(' ', args.Select(Quote))}{(first.Length > 0 ? ": " + first : "")}");
    }

    private static bool Try(params string[] args) => Exec(args).Code == 0;

    private static (int Code, string Output) Capture(params string[] args)
    {
        var (code, output, _) = Exec(args);
        return (code, output);
    }

    private static (int Code, string Output, string Error) Exec(string[] args)
    {
        try
        {
            using var p = Start(args, redirect: true);
            var stderr = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout, stderr.GetAwaiter().GetResult());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, "", $"{args[0]}: {e.Message}");
        }
    }

    private static Process Start(string[] args, bool redirect)
    {
        var psi = new ProcessStartInfo(args[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = redirect,
            RedirectStandardError = redirect,
        };
        foreach (string a in args.Skip(1)) psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new LabException($"cannot start {args[0]}");
    }

    private static string Quote(string a) => a.Contains(' ') ? $"'{a}'" : a;
}
