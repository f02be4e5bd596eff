using System.Runtime.InteropServices;

namespace Bufferless.Crypto.Interop;

/// <summary>
/// P/Invoke surface of the system libcrypto (OpenSSL 3.0.x, <c>libcrypto.so.3</c>): the EVP_PKEY API for key
/// agreement and the EVP_CIPHER API for ChaCha20-Poly1305. Only what Bufferless calls is declared.
/// Functions return 1 on success unless noted; callers check and clear the thread's error queue on failure
/// (<see cref="ClearErrors"/>) so a bad peer input leaves nothing behind.
/// </summary>
internal static unsafe partial class LibCrypto
{
    internal const string Lib = "libcrypto.so.3";

    // include/openssl/obj_mac.h
    internal const int NID_X25519 = 1034;

    // include/openssl/evp.h: selections for EVP_PKEY_fromdata (OSSL_KEYMGMT_SELECT_*)
    internal const int EVP_PKEY_PUBLIC_KEY = 0x86;
    internal const int EVP_PKEY_KEYPAIR = 0x87;

    // include/openssl/evp.h: EVP_CIPHER_CTX_ctrl commands
    internal const int EVP_CTRL_AEAD_GET_TAG = 0x10;
    internal const int EVP_CTRL_AEAD_SET_TAG = 0x11;

    // ---- errors ----
    [LibraryImport(Lib)]
    internal static partial void ERR_clear_error();

    internal static void ClearErrors() => ERR_clear_error();

    // ---- EVP_PKEY ----
    [LibraryImport(Lib)]
    internal static partial void EVP_PKEY_free(IntPtr pkey);

    [LibraryImport(Lib)]
    internal static partial EvpPKeyHandle EVP_PKEY_new_raw_private_key(int type, IntPtr engine, byte* key, nuint keylen);

    [LibraryImport(Lib)]
    internal static partial EvpPKeyHandle EVP_PKEY_new_raw_public_key(int type, IntPtr engine, byte* key, nuint keylen);

    [LibraryImport(Lib)]
    internal static partial EvpPKeyHandle EVP_PKEY_dup(EvpPKeyHandle pkey);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_set1_encoded_public_key(EvpPKeyHandle pkey, byte* pub, nuint publen);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_get_raw_public_key(EvpPKeyHandle pkey, byte* pub, nuint* len);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int EVP_PKEY_get_octet_string_param(EvpPKeyHandle pkey, string keyName, byte* buf, nuint maxBufSize, nuint* outLen);

    // ---- EVP_PKEY_CTX ----
    [LibraryImport(Lib)]
    internal static partial void EVP_PKEY_CTX_free(IntPtr ctx);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial EvpPKeyCtxHandle EVP_PKEY_CTX_new_from_name(IntPtr libctx, string name, string? propquery);

    [LibraryImport(Lib)]
    internal static partial EvpPKeyCtxHandle EVP_PKEY_CTX_new_from_pkey(IntPtr libctx, EvpPKeyHandle pkey, IntPtr propquery);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_keygen_init(EvpPKeyCtxHandle ctx);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_keygen(EvpPKeyCtxHandle ctx, IntPtr* ppkey);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int EVP_PKEY_CTX_set_group_name(EvpPKeyCtxHandle ctx, string name);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_fromdata_init(EvpPKeyCtxHandle ctx);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_fromdata(EvpPKeyCtxHandle ctx, IntPtr* ppkey, int selection, OsslParam* param);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_public_check_quick(EvpPKeyCtxHandle ctx);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_derive_init(EvpPKeyCtxHandle ctx);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_derive_set_peer_ex(EvpPKeyCtxHandle ctx, EvpPKeyHandle peer, int validatePeer);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_derive(EvpPKeyCtxHandle ctx, byte* key, nuint* keylen);

    // ---- signing (Signing/EvpSigner) ----
    // include/openssl/rsa.h
    internal const int RSA_PKCS1_PSS_PADDING = 6;
    internal const int RSA_PSS_SALTLEN_DIGEST = -1;

    [LibraryImport(Lib)]
    internal static partial IntPtr d2i_AutoPrivateKey(IntPtr* a, byte** pp, long length);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_get_size(EvpPKeyHandle pkey);

    [LibraryImport(Lib)]
    internal static partial EvpPKeyCtxHandle EVP_PKEY_CTX_dup(EvpPKeyCtxHandle ctx);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_sign_init(EvpPKeyCtxHandle ctx);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_sign(EvpPKeyCtxHandle ctx, byte* sig, nuint* siglen, byte* tbs, nuint tbslen);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_CTX_set_signature_md(EvpPKeyCtxHandle ctx, IntPtr md);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_CTX_set_rsa_padding(EvpPKeyCtxHandle ctx, int padding);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_CTX_set_rsa_pss_saltlen(EvpPKeyCtxHandle ctx, int saltlen);

    [LibraryImport(Lib)]
    internal static partial int EVP_PKEY_CTX_set_rsa_mgf1_md(EvpPKeyCtxHandle ctx, IntPtr md);

    // ---- provider dispatch (KeyExchange/X25519Provider) ----
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr EVP_KEYEXCH_fetch(IntPtr libctx, string algorithm, string? properties);

    [LibraryImport(Lib)]
    internal static partial IntPtr EVP_KEYEXCH_get0_provider(IntPtr exchange);

    [LibraryImport(Lib)]
    internal static partial IntPtr OSSL_PROVIDER_get0_provider_ctx(IntPtr provider);

    [LibraryImport(Lib)]
    internal static partial OsslAlgorithm* OSSL_PROVIDER_query_operation(IntPtr provider, int operationId, int* noCache);

    // ---- EVP_CIPHER ----
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr EVP_CIPHER_fetch(IntPtr libctx, string algorithm, string? properties);

    [LibraryImport(Lib)]
    internal static partial EvpCipherCtxHandle EVP_CIPHER_CTX_new();

    [LibraryImport(Lib)]
    internal static partial void EVP_CIPHER_CTX_free(IntPtr ctx);

    [LibraryImport(Lib)]
    internal static partial int EVP_CipherInit_ex(EvpCipherCtxHandle ctx, IntPtr cipher, IntPtr engine, byte* key, byte* iv, int enc);

    [LibraryImport(Lib)]
    internal static partial int EVP_CipherUpdate(EvpCipherCtxHandle ctx, byte* output, int* outl, byte* input, int inl);

    [LibraryImport(Lib)]
    internal static partial int EVP_CipherFinal_ex(EvpCipherCtxHandle ctx, byte* output, int* outl);

    [LibraryImport(Lib)]
    internal static partial int EVP_CIPHER_CTX_ctrl(EvpCipherCtxHandle ctx, int type, int arg, void* ptr);

    // ---- EVP_MAC (Poly1305 for the hybrid ChaCha20-Poly1305 opener; raw pointers: called per piece) ----
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr EVP_MAC_fetch(IntPtr libctx, string algorithm, string? properties);

    [LibraryImport(Lib)]
    internal static partial IntPtr EVP_MAC_CTX_new(IntPtr mac);

    [LibraryImport(Lib)]
    internal static partial void EVP_MAC_CTX_free(IntPtr ctx);

    [LibraryImport(Lib)]
    internal static partial int EVP_MAC_init(IntPtr ctx, byte* key, nuint keylen, IntPtr parameters);

    [LibraryImport(Lib)]
    internal static partial int EVP_MAC_update(IntPtr ctx, byte* data, nuint datalen);

    [LibraryImport(Lib)]
    internal static partial int EVP_MAC_final(IntPtr ctx, byte* output, nuint* outl, nuint outsize);
}

/// <summary>OSSL_PARAM (include/openssl/core.h), laid out as the C struct on 64-bit Linux.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OsslParam
{
    public const uint UnsignedInteger = 2;
    public const uint Utf8String = 4;
    public const uint OctetString = 5;

    public byte* Key;
    public uint DataType;
    public void* Data;
    public nuint DataSize;
    public nuint ReturnSize;

    public static OsslParam Create(byte* key, uint type, void* data, nuint size) =>
        new() { Key = key, DataType = type, Data = data, DataSize = size, ReturnSize = unchecked((nuint)ulong.MaxValue) };

    public static OsslParam End => default;
}

/// <summary>OSSL_ALGORITHM (include/openssl/core.h).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OsslAlgorithm
{
    public byte* Names;
    public byte* PropertyDefinition;
    public OsslDispatch* Implementation;
    public byte* Description;
}

/// <summary>OSSL_DISPATCH (include/openssl/core.h): a function id and its function.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OsslDispatch
{
    public int FunctionId;
    public void* Function;
}
