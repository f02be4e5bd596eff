using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Bufferless.Crypto.Interop;

namespace Bufferless.Crypto.Aead;

/// <summary>
/// A libcrypto Poly1305 context (EVP_MAC "POLY1305", its AVX-512 IFMA code), re-keyed per record with
/// EVP_MAC_init. EVP_MAC_CTX_free clears the one-time key and accumulator.
/// </summary>
internal sealed class Poly1305Mac : SafeHandle
{
    private static IntPtr s_mac;

    private Poly1305Mac() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>The raw EVP_MAC_CTX*; valid while this handle is alive (the owner keeps it alive).</summary>
    public IntPtr Context => handle;

    public static Poly1305Mac Create()
    {
        // A race fetches twice and leaks one reference to a provider-owned method object: harmless.
        IntPtr mac = s_mac != IntPtr.Zero ? s_mac : s_mac = LibCrypto.EVP_MAC_fetch(IntPtr.Zero, "POLY1305", null);
        var h = new Poly1305Mac();
        if (mac != IntPtr.Zero)
            h.SetHandle(LibCrypto.EVP_MAC_CTX_new(mac));
        if (h.IsInvalid)
        {
            LibCrypto.ClearErrors();
            throw new CryptographicException("libcrypto has no Poly1305 MAC");
        }
        return h;
    }

    protected override bool ReleaseHandle()
    {
        LibCrypto.EVP_MAC_CTX_free(handle);
        return true;
    }
}
