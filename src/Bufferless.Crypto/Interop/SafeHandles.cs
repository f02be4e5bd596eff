using System.Runtime.InteropServices;

namespace Bufferless.Crypto.Interop;

/// <summary>EVP_PKEY*. EVP_PKEY_free clears private key material before releasing it.</summary>
internal sealed class EvpPKeyHandle : SafeHandle
{
    public EvpPKeyHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    internal EvpPKeyHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        LibCrypto.EVP_PKEY_free(handle);
        return true;
    }
}

/// <summary>EVP_PKEY_CTX*.</summary>
internal sealed class EvpPKeyCtxHandle : SafeHandle
{
    public EvpPKeyCtxHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        LibCrypto.EVP_PKEY_CTX_free(handle);
        return true;
    }
}

/// <summary>EVP_CIPHER_CTX*. EVP_CIPHER_CTX_free clears the key schedule.</summary>
internal sealed class EvpCipherCtxHandle : SafeHandle
{
    public EvpCipherCtxHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        LibCrypto.EVP_CIPHER_CTX_free(handle);
        return true;
    }
}
