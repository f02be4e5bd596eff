using System.Security.Cryptography;
using System.Text;
using Bufferless.Crypto.Interop;

namespace Bufferless.Crypto.KeyExchange;

/// <summary>
/// The server side of X25519 straight on the provider's dispatch functions (include/openssl/core_dispatch.h):
/// keymgmt new/import/free and keyexch newctx/init/set_peer/derive/freectx of the provider that
/// EVP_KEYEXCH_fetch("X25519") chooses, found once per process with OSSL_PROVIDER_query_operation.
/// </summary>
/// <remarks>
/// Why: in OpenSSL 3.0 the EVP layer around one X25519 server respond (two EVP_PKEY_fromdata, a derive context
/// with its provider fetch, EVP_PKEY objects, the SafeHandles) cost ~5.5 µs next to ~64 µs of ladder work.
/// These are the calls libcrypto itself makes underneath, on the provider's own objects (ECX_KEY), so the result
/// is the same computation; the provider functions are thread-safe for distinct objects, and the base-point
/// key is only read (set_peer takes a reference with an atomic count). <see cref="IsAvailable"/> is false when
/// the lookup fails (another provider layout), and <see cref="X25519KeyAgreement"/> then stays on the EVP path.
/// The provider frees a key's private half with OPENSSL_secure_clear_free, so it is zeroed on free.
/// </remarks>
internal static unsafe class X25519Provider
{
    private const int OSSL_OP_KEYMGMT = 10;
    private const int OSSL_OP_KEYEXCH = 11;
    private const int OSSL_FUNC_KEYMGMT_NEW = 1;
    private const int OSSL_FUNC_KEYMGMT_FREE = 10;
    private const int OSSL_FUNC_KEYMGMT_IMPORT = 40;
    private const int OSSL_FUNC_KEYEXCH_NEWCTX = 1;
    private const int OSSL_FUNC_KEYEXCH_INIT = 2;
    private const int OSSL_FUNC_KEYEXCH_DERIVE = 3;
    private const int OSSL_FUNC_KEYEXCH_SET_PEER = 4;
    private const int OSSL_FUNC_KEYEXCH_FREECTX = 5;

    private static readonly Functions? s_functions = Functions.TryLoad();

    public static bool IsAvailable => s_functions is not null;

    /// <summary>
    /// X25519KeyAgreement's server respond: <paramref name="serverShare"/> = X25519(k, 9) and
    /// <paramref name="sharedSecret"/> = X25519(k, client). False when the client share is refused or the
    /// result is all zero (RFC 8446 §7.4.2); the secret is zeroed then.
    /// </summary>
    public static bool TryRespond(ReadOnlySpan<byte> clientShare, ReadOnlySpan<byte> privateKey, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        Functions f = s_functions ?? throw new InvalidOperationException("X25519 provider functions are not available");
        IntPtr peer = IntPtr.Zero, key = IntPtr.Zero, ctx = IntPtr.Zero;
        try
        {
            peer = f.Import(clientShare, ReadOnlySpan<byte>.Empty);
            if (peer == IntPtr.Zero)
                return false;
            // Given a public half (the base point as a placeholder), the import skips libcrypto's slow fixed-base
            // computation; the real public key comes from the ladder below (see X25519KeyAgreement).
            key = f.Import(X25519KeyAgreement.BasePointU, privateKey);
            ctx = key == IntPtr.Zero ? IntPtr.Zero : f.NewCtx(f.ProvCtx);
            if (ctx == IntPtr.Zero || f.Init(ctx, key, null) != 1 || !f.TryDerive(ctx, f.BasePoint, serverShare))
            {
                LibCrypto.ClearErrors();
                throw new CryptographicException("X25519 key set-up failed");
            }
            if (f.TryDerive(ctx, peer, sharedSecret) && !EvpKeys.IsAllZero(sharedSecret))
                return true;
            LibCrypto.ClearErrors();
            CryptographicOperations.ZeroMemory(sharedSecret);
            return false;
        }
        finally
        {
            if (ctx != IntPtr.Zero)
                f.FreeCtx(ctx);
            if (key != IntPtr.Zero)
                f.FreeKey(key);
            if (peer != IntPtr.Zero)
                f.FreeKey(peer);
        }
    }

    private sealed class Functions
    {
        public IntPtr ProvCtx;
        public IntPtr BasePoint;
        public delegate* unmanaged<IntPtr, IntPtr> NewKey;
        public delegate* unmanaged<IntPtr, void> FreeKey;
        public delegate* unmanaged<IntPtr, int, OsslParam*, int> ImportKey;
        public delegate* unmanaged<IntPtr, IntPtr> NewCtx;
        public delegate* unmanaged<IntPtr, IntPtr, OsslParam*, int> Init;
        public delegate* unmanaged<IntPtr, IntPtr, int> SetPeer;
        public delegate* unmanaged<IntPtr, byte*, nuint*, nuint, int> Derive;
        public delegate* unmanaged<IntPtr, void> FreeCtx;

        /// <summary>A provider key from a public key and, when given, a private key; zero when refused.</summary>
        public IntPtr Import(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> privateKey)
        {
            if (publicKey.Length != X25519KeyAgreement.KeySize)
                return IntPtr.Zero;
            IntPtr key = NewKey(ProvCtx);
            if (key == IntPtr.Zero)
                return IntPtr.Zero;
            fixed (byte* pubKeyZ = "pub\0"u8)
            fixed (byte* privKeyZ = "priv\0"u8)
            fixed (byte* pub = publicKey)
            fixed (byte* priv = privateKey)
            {
                OsslParam* parameters = stackalloc OsslParam[3];
                parameters[0] = OsslParam.Create(pubKeyZ, OsslParam.OctetString, pub, (nuint)publicKey.Length);
                parameters[1] = privateKey.IsEmpty ? OsslParam.End : OsslParam.Create(privKeyZ, OsslParam.OctetString, priv, (nuint)privateKey.Length);
                parameters[2] = OsslParam.End;
                int selection = privateKey.IsEmpty ? LibCrypto.EVP_PKEY_PUBLIC_KEY : LibCrypto.EVP_PKEY_KEYPAIR;
                if (ImportKey(key, selection, parameters) == 1)
                    return key;
            }
            FreeKey(key);
            LibCrypto.ClearErrors();
            return IntPtr.Zero;
        }

        public bool TryDerive(IntPtr ctx, IntPtr peer, Span<byte> secret)
        {
            nuint length = 0;
            fixed (byte* p = secret)
            {
                return SetPeer(ctx, peer) == 1
                    && Derive(ctx, p, &length, (nuint)secret.Length) == 1
                    && length == (nuint)secret.Length;
            }
        }

        public static Functions? TryLoad()
        {
            try
            {
                IntPtr exchange = LibCrypto.EVP_KEYEXCH_fetch(IntPtr.Zero, "X25519", null);
                if (exchange == IntPtr.Zero)
                    return Fail();
                // The fetched method is kept (never freed): it holds the provider for the life of the process.
                IntPtr provider = LibCrypto.EVP_KEYEXCH_get0_provider(exchange);
                var f = new Functions { ProvCtx = LibCrypto.OSSL_PROVIDER_get0_provider_ctx(provider) };
                OsslDispatch* keymgmt = Find(provider, OSSL_OP_KEYMGMT);
                OsslDispatch* keyexch = Find(provider, OSSL_OP_KEYEXCH);
                if (keymgmt is null || keyexch is null)
                    return Fail();
                f.NewKey = (delegate* unmanaged<IntPtr, IntPtr>)Lookup(keymgmt, OSSL_FUNC_KEYMGMT_NEW);
                f.FreeKey = (delegate* unmanaged<IntPtr, void>)Lookup(keymgmt, OSSL_FUNC_KEYMGMT_FREE);
                f.ImportKey = (delegate* unmanaged<IntPtr, int, OsslParam*, int>)Lookup(keymgmt, OSSL_FUNC_KEYMGMT_IMPORT);
                f.NewCtx = (delegate* unmanaged<IntPtr, IntPtr>)Lookup(keyexch, OSSL_FUNC_KEYEXCH_NEWCTX);
                f.Init = (delegate* unmanaged<IntPtr, IntPtr, OsslParam*, int>)Lookup(keyexch, OSSL_FUNC_KEYEXCH_INIT);
                f.SetPeer = (delegate* unmanaged<IntPtr, IntPtr, int>)Lookup(keyexch, OSSL_FUNC_KEYEXCH_SET_PEER);
                f.Derive = (delegate* unmanaged<IntPtr, byte*, nuint*, nuint, int>)Lookup(keyexch, OSSL_FUNC_KEYEXCH_DERIVE);
                f.FreeCtx = (delegate* unmanaged<IntPtr, void>)Lookup(keyexch, OSSL_FUNC_KEYEXCH_FREECTX);
                if (f.NewKey is null || f.FreeKey is null || f.ImportKey is null || f.NewCtx is null
                    || f.Init is null || f.SetPeer is null || f.Derive is null || f.FreeCtx is null)
                {
                    return Fail();
                }
                f.BasePoint = f.Import(X25519KeyAgreement.BasePointU, ReadOnlySpan<byte>.Empty);
                return f.BasePoint == IntPtr.Zero ? Fail() : f;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return null;
            }
        }

        private static Functions? Fail()
        {
            LibCrypto.ClearErrors();
            return null;
        }

        /// <summary>The dispatch table of the provider's algorithm named X25519 for <paramref name="operation"/>.</summary>
        private static OsslDispatch* Find(IntPtr provider, int operation)
        {
            int noCache = 0;
            OsslAlgorithm* algorithms = LibCrypto.OSSL_PROVIDER_query_operation(provider, operation, &noCache);
            for (OsslAlgorithm* a = algorithms; a is not null && a->Names is not null; a++)
            {
                // algorithm_names is a colon-separated list ("X25519:1.3.101.110").
                string names = Encoding.ASCII.GetString(System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpanFromNullTerminated(a->Names));
                foreach (string name in names.Split(':'))
                {
                    if (string.Equals(name, "X25519", StringComparison.OrdinalIgnoreCase))
                        return a->Implementation;
                }
            }
            return null;
        }

        private static void* Lookup(OsslDispatch* table, int functionId)
        {
            for (OsslDispatch* d = table; d->FunctionId != 0; d++)
            {
                if (d->FunctionId == functionId)
                    return d->Function;
            }
            return null;
        }
    }
}
