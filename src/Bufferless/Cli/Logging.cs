using System.CommandLine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Bufferless.Cli;

/// <summary>How log lines are written to standard output.</summary>
internal enum LogFormat
{
    Text,
    Json,
}

internal static class Logging
{
    /// <summary>The category of the counter lines asked for with SIGUSR1: shown at every --log-level but None.</summary>
    public const string CountersCategory = "Bufferless.Counters";

    public static ILoggerFactory Create(LogLevel level, LogFormat format = LogFormat.Text) => LoggerFactory.Create(b =>
    {
        b.SetMinimumLevel(level).AddFilter(CountersCategory, level == LogLevel.None ? LogLevel.None : LogLevel.Information);
        if (format == LogFormat.Json)
        {
            // One JSON object per line; a connection line's fields (client, sni, version, suite, bytes, ms, end...)
            // are the properties of its "State".
            b.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
                o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });
        }
        else
        {
            b.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }
    });

    /// <summary>The shared --log-format option.</summary>
    public static Option<LogFormat> CreateFormatOption() => new("--log-format")
    {
        Description = "text (default): one line per event; json: one JSON object per line, with each field of a connection line as a property (for log shippers).",
        DefaultValueFactory = _ => LogFormat.Text,
    };
}
