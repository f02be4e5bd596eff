using System.Runtime;
using System.Runtime.InteropServices;

namespace Bufferless.Packets.Io;

/// <summary>
/// Gives memory back to the operating system after a burst of handshakes. A handshake leaves tens of kilobytes
/// of garbage (TLS messages, certificate chain, key exchange); the engine's steady state per established flow
/// is a few hundred bytes of preallocated slab. Without a trim, the garbage heap the burst grew and the native
/// heap OpenSSL used stay resident (RSS) long after the flows went idle.
/// </summary>
public static partial class MemoryTrim
{
    /// <summary>
    /// A blocking, compacting collection in <see cref="GCCollectionMode.Aggressive"/> mode (the GC releases every
    /// free region it can), then glibc's <c>malloc_trim(0)</c> for the native heap. Costs a pause of a few
    /// milliseconds per tens of megabytes of heap: call it when the packet loop is idle, not per packet.
    /// </summary>
    public static void Now()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (OperatingSystem.IsLinux())
        {
            try { MallocTrim(0); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { } // not glibc (musl): nothing to trim
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
