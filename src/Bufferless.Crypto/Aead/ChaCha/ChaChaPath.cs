using System.Runtime.Intrinsics.X86;

namespace Bufferless.Crypto.Aead;

/// <summary>Which ChaCha20-Poly1305 implementation a key uses. Tests force each one the machine supports.</summary>
internal enum ChaChaPath
{
    /// <summary>The fastest path on this machine (<see cref="ChaChaPaths.Best"/>).</summary>
    Auto = 0,

    /// <summary>The system libcrypto through EVP (its own AVX-512 assembly).</summary>
    Evp = 1,

    /// <summary>Managed, no special instructions: one ChaCha20 block at a time, Poly1305 in radix 2^64.</summary>
    Portable = 2,

    /// <summary>Managed, AVX-512: 16 ChaCha20 blocks per pass, Poly1305 over 8 blocks per pass in radix 2^26.</summary>
    Wide = 3,

    /// <summary>
    /// One-call Seal and Open through libcrypto (its IFMA Poly1305 wins on whole records), the streaming opener and
    /// ApplyKeystream on <see cref="Wide"/> (no per-call cost on pieces).
    /// </summary>
    Hybrid = 4,
}

internal static class ChaChaPaths
{
    /// <summary>
    /// Chosen once per process, from measurements on AVX-512 (docs/BENCHMARKS.md §3): libcrypto is faster on whole
    /// records, the managed wide opener on records fed in 1448-byte pieces (EVP pays a per-call cost there), so
    /// Hybrid when AVX-512 is there; otherwise libcrypto, whose assembly beats the portable managed code.
    /// </summary>
    public static readonly ChaChaPath Best = IsSupported(ChaChaPath.Wide) ? ChaChaPath.Hybrid : ChaChaPath.Evp;

    public static bool IsSupported(ChaChaPath path) => path switch
    {
        ChaChaPath.Auto or ChaChaPath.Evp or ChaChaPath.Portable => true,
        ChaChaPath.Wide or ChaChaPath.Hybrid => Avx512F.IsSupported && Avx512F.VL.IsSupported && Avx512BW.IsSupported,
        _ => false,
    };

    public static ChaChaPath Resolve(ChaChaPath path)
    {
        if (path == ChaChaPath.Auto)
            return Best;
        if (!IsSupported(path))
            throw new PlatformNotSupportedException($"ChaCha20-Poly1305 path {path} is not supported on this CPU");
        return path;
    }
}
