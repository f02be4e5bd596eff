using System.Runtime.InteropServices;

namespace Bufferless.Crypto.Interop;

/// <summary>
/// The EVP_MD digest calls that <see cref="Hash.DigestContext"/> falls back to when libcrypto does not export its
/// low-level SHA-2 calls (<see cref="Hash.LowLevelSha2"/>). Digests are fetched once (EVP_MD_fetch) and contexts are
/// reused: OpenSSL 3.0 looks the algorithm up in its provider store on every call that names a digest implicitly
/// (EVP_sha256() in EVP_DigestInit_ex, HMAC(), EVP_KDF), and that lookup costs more than hashing a few blocks.
/// </summary>
internal static unsafe partial class LibCrypto
{
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr EVP_MD_fetch(IntPtr libctx, string algorithm, string? properties);

    [LibraryImport(Lib)]
    internal static partial void EVP_MD_free(IntPtr md);

    [LibraryImport(Lib)]
    internal static partial IntPtr EVP_MD_CTX_new();

    [LibraryImport(Lib)]
    internal static partial void EVP_MD_CTX_free(IntPtr ctx);

    [LibraryImport(Lib)]
    internal static partial int EVP_MD_CTX_copy_ex(IntPtr destination, IntPtr source);

    [LibraryImport(Lib)]
    internal static partial int EVP_DigestInit_ex(IntPtr ctx, IntPtr type, IntPtr engine);

    [LibraryImport(Lib)]
    internal static partial int EVP_DigestUpdate(IntPtr ctx, byte* data, nuint count);

    [LibraryImport(Lib)]
    internal static partial int EVP_DigestFinal_ex(IntPtr ctx, byte* md, uint* size);
}
