using System.CommandLine;

namespace Bufferless.Cli;

internal static class SelfTestCommand
{
    public static Command Create()
    {
        var cmd = new Command("selftest", "Checks every crypto primitive against known answers and prints the measured throughput.");
        cmd.SetAction(_ =>
        {
            Console.WriteLine("selftest: not implemented yet");
            return 0;
        });
        return cmd;
    }
}
