using System.Security.Cryptography;

namespace Bufferless.Crypto;

/// <summary>
/// Random bytes from the platform CSPRNG (<see cref="RandomNumberGenerator"/>), drawn 1 KiB at a time into a
/// per-thread pinned buffer and handed out from there. Every byte is handed out once: it is zeroed in the buffer as it
/// is taken, so what stays in memory is only bytes nobody has used yet.
/// </summary>
/// <remarks>
/// Why: one <see cref="RandomNumberGenerator.Fill"/> call of 32 bytes costs 873 ns, this one 44 ns
/// (`dotnet run -c Release --project bench/Bufferless.Benchmarks -- --filter '*SecretMemoryBenchmarks*' --job short`;
/// libcrypto's DRBG checks for a fork with getpid on every call), and a TLS 1.3 handshake asks four
/// times for a few bytes (server random, key share, ticket nonce, ticket age_add). Buffered, the four cost one call per
/// dozen handshakes. The buffer is pinned, so the GC never leaves a copy of bytes that later become a private key;
/// not-yet-used bytes of a thread that ends are never used by anyone. Requests larger than a quarter of the buffer go
/// straight to the platform RNG.
/// </remarks>
public static class RandomBytes
{
    private const int BufferSize = 1024;
    private const int DirectThreshold = BufferSize / 4;

    [ThreadStatic] private static byte[]? t_buffer;
    [ThreadStatic] private static int t_position;

    /// <summary>Fills <paramref name="destination"/> with cryptographically secure random bytes.</summary>
    public static void Fill(Span<byte> destination)
    {
        if (destination.Length > DirectThreshold)
        {
            RandomNumberGenerator.Fill(destination);
            return;
        }
        byte[]? buffer = t_buffer;
        int position = t_position;
        if (buffer is null || BufferSize - position < destination.Length)
        {
            buffer ??= t_buffer = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
            RandomNumberGenerator.Fill(buffer);
            position = 0;
        }
        Span<byte> taken = buffer.AsSpan(position, destination.Length);
        taken.CopyTo(destination);
        CryptographicOperations.ZeroMemory(taken);
        t_position = position + destination.Length;
    }

    /// <summary>The unused rest of this thread's buffer, for tests.</summary>
    internal static ReadOnlySpan<byte> UnusedForTest => t_buffer is null ? default : t_buffer.AsSpan(t_position);

    /// <summary>This thread's whole buffer, used part included, for tests.</summary>
    internal static ReadOnlySpan<byte> BufferForTest => t_buffer;
}
