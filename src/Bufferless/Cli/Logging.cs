using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Bufferless.Cli;

internal static class Logging
{
    /// <summary>The category of the counter lines asked for with SIGUSR1: shown at every --log-level but None.</summary>
    public const string CountersCategory = "Bufferless.Counters";

    public static ILoggerFactory Create(LogLevel level) => LoggerFactory.Create(b => b
        .SetMinimumLevel(level)
        .AddFilter(CountersCategory, level == LogLevel.None ? LogLevel.None : LogLevel.Information)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
            o.ColorBehavior = LoggerColorBehavior.Disabled;
        }));
}
