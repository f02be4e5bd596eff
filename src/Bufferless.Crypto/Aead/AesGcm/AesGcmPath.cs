using System.Runtime.Intrinsics.X86;
using AesNi = System.Runtime.Intrinsics.X86.Aes;

namespace Bufferless.Crypto.Aead;

/// <summary>Which implementation of the GCM core a key uses. Tests force each one the machine supports.</summary>
internal enum AesGcmPath
{
    /// <summary>The fastest path this machine supports (<see cref="AesGcmPaths.Best"/>).</summary>
    Auto = 0,

    /// <summary>No special instructions: AES from the platform (ECB transform), constant-time software GHASH.</summary>
    Portable = 1,

    /// <summary>AES-NI and 128-bit PCLMULQDQ, 8 blocks in flight, GHASH woven between the AES rounds.</summary>
    Accelerated = 2,

    /// <summary>As <see cref="Accelerated"/>, with GHASH on 512-bit carry-less multiplies (4 blocks per instruction).</summary>
    /// <remarks>.NET 10 exposes VPCLMULQDQ (<c>Pclmulqdq.V512</c>) but no VAES, so AES rounds stay 128-bit.</remarks>
    Wide = 3,
}

internal static class AesGcmPaths
{
    /// <summary>Chosen once per process.</summary>
    public static readonly AesGcmPath Best =
        IsSupported(AesGcmPath.Wide) ? AesGcmPath.Wide :
        IsSupported(AesGcmPath.Accelerated) ? AesGcmPath.Accelerated :
        AesGcmPath.Portable;

    public static bool IsSupported(AesGcmPath path) => path switch
    {
        AesGcmPath.Auto or AesGcmPath.Portable => true,
        AesGcmPath.Accelerated => AesNi.IsSupported && Pclmulqdq.IsSupported && Ssse3.IsSupported && Sse41.IsSupported,
        AesGcmPath.Wide => IsSupported(AesGcmPath.Accelerated) && Pclmulqdq.V512.IsSupported && Avx512BW.IsSupported,
        _ => false,
    };

    public static AesGcmPath Resolve(AesGcmPath path)
    {
        if (path == AesGcmPath.Auto)
            return Best;
        if (!IsSupported(path))
            throw new PlatformNotSupportedException($"AES-GCM path {path} is not supported on this CPU");
        return path;
    }
}
