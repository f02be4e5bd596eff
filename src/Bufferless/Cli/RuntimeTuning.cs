namespace Bufferless.Cli;

/// <summary>
/// Runtime settings that must be in place before the first socket is made. Each can be overridden by setting the
/// variable in the environment.
/// </summary>
internal static class RuntimeTuning
{
    public static void Apply()
    {
        // Run socket continuations on the epoll thread that saw the event (one epoll engine per core) instead of
        // hopping to a thread-pool worker: every TLS record is a short, non-blocking piece of work, and the hop
        // (a context switch per event) cost more CPU than the work itself in the handshake benchmark.
        SetDefault("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
    }

    private static void SetDefault(string name, string value)
    {
        if (Environment.GetEnvironmentVariable(name) is null)
            Environment.SetEnvironmentVariable(name, value);
    }
}
