using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Bufferless.Crypto.Interop;

namespace Bufferless.Crypto.Hash;

/// <summary>The two hash functions TLS 1.3 and 1.2 use here (RFC 8446 §B.4, RFC 5289).</summary>
public enum Sha2Kind
{
    Sha256,
    Sha384,
}

/// <summary>
/// SHA-256 and SHA-384 (FIPS 180-4) on libcrypto. Each call runs on a <see cref="DigestContext"/> kept per thread
/// (libcrypto's low-level SHA-2 calls, or EVP with the digests fetched once per process when those are missing), so
/// nothing is allocated and no provider lookup happens per call.
/// </summary>
public static unsafe class Sha2
{
    public const int MaxHashSize = 48;
    public const int MaxBlockSize = 128;

    private static readonly IntPtr s_sha256 = Fetch("SHA256");
    private static readonly IntPtr s_sha384 = Fetch("SHA384");

    // RFC 8446 §7.1 Derive-Secret(., "derived", "") hashes the empty string at every stage: these are constants.
    private static ReadOnlySpan<byte> EmptySha256 =>
    [
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
        0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
    ];

    private static ReadOnlySpan<byte> EmptySha384 =>
    [
        0x38, 0xb0, 0x60, 0xa7, 0x51, 0xac, 0x96, 0x38, 0x4c, 0xd9, 0x32, 0x7e, 0xb1, 0xb1, 0xe3, 0x6a,
        0x21, 0xfd, 0xb7, 0x11, 0x14, 0xbe, 0x07, 0x43, 0x4c, 0x0c, 0xc7, 0xbf, 0x63, 0xf6, 0xe1, 0xda,
        0x27, 0x4e, 0xde, 0xbf, 0xe7, 0x6f, 0x65, 0xfb, 0xd5, 0x1a, 0xd2, 0xf1, 0x48, 0x98, 0xb9, 0x5b,
    ];

    [ThreadStatic]
    private static DigestContext? t_scratch;

    public static int HashSize(Sha2Kind kind) => kind == Sha2Kind.Sha384 ? 48 : 32;

    public static int BlockSize(Sha2Kind kind) => kind == Sha2Kind.Sha384 ? 128 : 64;

    /// <summary>The kind for a .NET hash name; throws for anything but SHA-256 and SHA-384.</summary>
    public static Sha2Kind FromName(HashAlgorithmName name) =>
        name == HashAlgorithmName.SHA256 ? Sha2Kind.Sha256
        : name == HashAlgorithmName.SHA384 ? Sha2Kind.Sha384
        : throw new ArgumentOutOfRangeException(nameof(name), name.Name, "only SHA-256 and SHA-384");

    /// <summary>Hash of the empty string.</summary>
    public static ReadOnlySpan<byte> Empty(Sha2Kind kind) => kind == Sha2Kind.Sha384 ? EmptySha384 : EmptySha256;

    /// <summary>One-shot hash of <paramref name="data"/>; returns the hash length.</summary>
    public static int HashData(Sha2Kind kind, ReadOnlySpan<byte> data, Span<byte> destination) => HashData(kind, data, default, destination);

    /// <summary>One-shot hash of <paramref name="first"/> || <paramref name="second"/>; returns the hash length.</summary>
    public static int HashData(Sha2Kind kind, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Span<byte> destination)
    {
        DigestContext ctx = Scratch;
        ctx.Init(kind);
        ctx.Update(first);
        ctx.Update(second);
        return ctx.Final(destination);
    }

    internal static IntPtr Md(Sha2Kind kind) => kind == Sha2Kind.Sha384 ? s_sha384 : s_sha256;

    /// <summary>This thread's reusable context (HMAC, HKDF, current transcript hash).</summary>
    internal static DigestContext Scratch => t_scratch ??= new DigestContext();

    private static IntPtr Fetch(string name)
    {
        IntPtr md = LibCrypto.EVP_MD_fetch(IntPtr.Zero, name, null);
        if (md == IntPtr.Zero)
        {
            LibCrypto.ClearErrors();
            throw new CryptographicException($"libcrypto has no {name}");
        }
        // Held for the life of the process, like the digests OpenSSL itself caches.
        return md;
    }
}

/// <summary>
/// A SHA-256 / SHA-384 context. Not thread-safe; freed by Dispose or, for per-thread scratch contexts, by the finalizer.
/// Runs on libcrypto's low-level SHA256_Init/Update/Final and SHA384_* calls on a state block of its own when the
/// library exports them (<see cref="LowLevelSha2"/>), else on an EVP_MD_CTX.
/// </summary>
/// <remarks>
/// Why the low-level calls: the handshake hashes many short inputs (some 30 HMACs and the transcript per TLS 1.3
/// handshake), and for those the EVP layer's dispatch costs more than the hashing; the compression function underneath
/// is the same (the default provider's SHA-2 is these calls). The state is plain data, so a copy is a memory copy. It
/// holds HMAC key material between calls: it is zeroed before it is freed.
/// </remarks>
internal sealed unsafe class DigestContext : IDisposable
{
    private IntPtr _ctx;
    private byte* _state;

    public DigestContext()
    {
        if (LowLevelSha2.Functions is not null)
        {
            _state = (byte*)NativeMemory.AllocZeroed(LowLevelSha2.StateSize);
            return;
        }
        _ctx = LibCrypto.EVP_MD_CTX_new();
        if (_ctx == IntPtr.Zero)
            throw new OutOfMemoryException("EVP_MD_CTX_new");
    }

    ~DigestContext() => Free();

    public Sha2Kind Kind { get; private set; }

    public void Init(Sha2Kind kind)
    {
        Kind = kind;
        if (LowLevelSha2.Functions is { } f)
            Check(kind == Sha2Kind.Sha384 ? f.Sha384Init(State) : f.Sha256Init(State));
        else
            Check(LibCrypto.EVP_DigestInit_ex(Handle, Sha2.Md(kind), IntPtr.Zero));
    }

    public void Update(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
            return;
        fixed (byte* p = data)
        {
            if (LowLevelSha2.Functions is { } f)
                Check(Kind == Sha2Kind.Sha384 ? f.Sha384Update(State, p, (nuint)data.Length) : f.Sha256Update(State, p, (nuint)data.Length));
            else
                Check(LibCrypto.EVP_DigestUpdate(Handle, p, (nuint)data.Length));
        }
    }

    /// <summary>Writes the hash and leaves the context needing <see cref="Init"/>.</summary>
    public int Final(Span<byte> destination)
    {
        int size = Sha2.HashSize(Kind);
        if (destination.Length < size)
            throw new ArgumentException("destination too small", nameof(destination));
        fixed (byte* p = destination)
        {
            if (LowLevelSha2.Functions is { } f)
            {
                Check(Kind == Sha2Kind.Sha384 ? f.Sha384Final(p, State) : f.Sha256Final(p, State));
            }
            else
            {
                uint written;
                Check(LibCrypto.EVP_DigestFinal_ex(Handle, p, &written));
            }
        }
        return size;
    }

    /// <summary>This context becomes a copy of <paramref name="source"/> (same kind, same data so far).</summary>
    public void CopyFrom(DigestContext source)
    {
        Kind = source.Kind;
        if (LowLevelSha2.Functions is not null)
            Buffer.MemoryCopy(source.State, State, LowLevelSha2.StateSize, LowLevelSha2.StateSize);
        else
            Check(LibCrypto.EVP_MD_CTX_copy_ex(Handle, source.Handle));
        GC.KeepAlive(source);
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private IntPtr Handle => _ctx != IntPtr.Zero ? _ctx : throw new ObjectDisposedException(nameof(DigestContext));

    private byte* State => _state != null ? _state : throw new ObjectDisposedException(nameof(DigestContext));

    private void Free()
    {
        IntPtr ctx = Interlocked.Exchange(ref _ctx, IntPtr.Zero);
        if (ctx != IntPtr.Zero)
            LibCrypto.EVP_MD_CTX_free(ctx);
        byte* state = _state;
        _state = null;
        if (state != null)
        {
            CryptographicOperations.ZeroMemory(new Span<byte>(state, LowLevelSha2.StateSize));
            NativeMemory.Free(state);
        }
    }

    private static void Check(int result)
    {
        if (result != 1)
        {
            LibCrypto.ClearErrors();
            throw new CryptographicException("libcrypto digest call failed");
        }
    }
}

/// <summary>
/// libcrypto's low-level SHA-2 calls (include/openssl/sha.h: SHA256_Init/Update/Final, SHA384_Init/Update/Final),
/// looked up once. OpenSSL 3.0 marks them deprecated but exports them; a build without them leaves
/// <see cref="Functions"/> null and <see cref="DigestContext"/> on EVP.
/// </summary>
internal static unsafe class LowLevelSha2
{
    /// <summary>Room for SHA512_CTX (216 bytes on LP64), which also holds SHA256_CTX (112).</summary>
    public const int StateSize = 256;

    public static readonly Table? Functions = Load();

    public sealed class Table
    {
        public delegate* unmanaged<byte*, int> Sha256Init;
        public delegate* unmanaged<byte*, byte*, nuint, int> Sha256Update;
        public delegate* unmanaged<byte*, byte*, int> Sha256Final;
        public delegate* unmanaged<byte*, int> Sha384Init;
        public delegate* unmanaged<byte*, byte*, nuint, int> Sha384Update;
        public delegate* unmanaged<byte*, byte*, int> Sha384Final;
    }

    private static Table? Load()
    {
        if (Environment.GetEnvironmentVariable("BUFFERLESS_SHA2_EVP") == "1")
            return null; // for tests and A/B runs of the EVP path
        if (!NativeLibrary.TryLoad(LibCrypto.Lib, typeof(LowLevelSha2).Assembly, null, out IntPtr lib))
            return null;
        var t = new Table();
        if (!NativeLibrary.TryGetExport(lib, "SHA256_Init", out IntPtr a) || !NativeLibrary.TryGetExport(lib, "SHA256_Update", out IntPtr b)
            || !NativeLibrary.TryGetExport(lib, "SHA256_Final", out IntPtr c) || !NativeLibrary.TryGetExport(lib, "SHA384_Init", out IntPtr d)
            || !NativeLibrary.TryGetExport(lib, "SHA384_Update", out IntPtr e) || !NativeLibrary.TryGetExport(lib, "SHA384_Final", out IntPtr f))
        {
            return null;
        }
        t.Sha256Init = (delegate* unmanaged<byte*, int>)a;
        t.Sha256Update = (delegate* unmanaged<byte*, byte*, nuint, int>)b;
        t.Sha256Final = (delegate* unmanaged<byte*, byte*, int>)c;
        t.Sha384Init = (delegate* unmanaged<byte*, int>)d;
        t.Sha384Update = (delegate* unmanaged<byte*, byte*, nuint, int>)e;
        t.Sha384Final = (delegate* unmanaged<byte*, byte*, int>)f;
        return t;
    }
}
