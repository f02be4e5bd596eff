using System.CommandLine;
using System.Net;
using Bufferless.Demo;

namespace Bufferless.Cli;

/// <summary><c>bufferless demo</c>: a self-signed certificate, a built-in HTTP backend on loopback and the proxy in front.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "TLS port on 127.0.0.1.", DefaultValueFactory = _ => 8443 };
        var stateDir = new Option<DirectoryInfo>("--state-dir") { Description = "Where the demo certificate is kept.", DefaultValueFactory = _ => new DirectoryInfo(DefaultStateDir()) };
        var common = new CommonProxyOptions();
        var cmd = new Command("demo", "Start a self-contained demo: TLS on 127.0.0.1:8443 in front of a built-in plain-HTTP backend.") { port, stateDir };
        common.AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var (certPath, keyPath) = DemoCertificate.Ensure(parse.GetValue(stateDir)!.FullName);

            using var backend = new DemoHttpBackend();
            using var stopBackend = new CancellationTokenSource();
            var backendTask = backend.RunAsync(stopBackend.Token);
            var options = common.Build(parse, [new IPEndPoint(IPAddress.Loopback, parse.GetValue(port))], [backend.EndPoint]);
            int rc = await ProxyCommand.RunAsync(options, new TlsConfigLoader([new FileInfo(certPath)], [new FileInfo(keyPath)]), common.GetLogLevel(parse), server =>
            {
                var ep = server.BoundEndPoints[0];
                Console.WriteLine($"bufferless demo: TLS on {ep} -> built-in HTTP backend on {backend.EndPoint}");
                Console.WriteLine($"certificate: {certPath}");
                Console.WriteLine("try:");
                Console.WriteLine($"  curl --cacert {certPath} https://localhost:{ep.Port}/");
                Console.WriteLine("stop with Ctrl+C");
            }, common.GetMetrics(parse), common.GetLogFormat(parse)).ConfigureAwait(false);
            stopBackend.Cancel();
            await backendTask.ConfigureAwait(false);
            return rc;
        });
        return cmd;
    }

    private static string DefaultStateDir()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        string baseDir = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        return Path.Combine(baseDir, "bufferless", "demo");
    }
}
