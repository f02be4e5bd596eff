using System.CommandLine;
using Bufferless.Cli;

var root = new RootCommand("Bufferless: TLS offload engine (packet-by-packet TLS termination and a socket full proxy).");
root.Subcommands.Add(SelfTestCommand.Create());
return root.Parse(args).Invoke();
