using System.CommandLine;
using Bufferless.Cli;

RuntimeTuning.Apply();

var root = new RootCommand("Bufferless: TLS offload engine (packet-by-packet TLS termination and a socket full proxy).");
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(ProxyCommand.Create());
root.Subcommands.Add(SelfTestCommand.Create());
if (OperatingSystem.IsLinux()) { root.Subcommands.Add(LabCommand.Create()); root.Subcommands.Add(CutThroughCommand.Create()); }
return await root.Parse(args).InvokeAsync();
