using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;

namespace Bufferless.Crypto.Aead;

/// <summary>
/// Per-message GCM state (NIST SP 800-38D §7): the next counter block, the GHASH accumulator, E(K, J0) for the
/// tag, and the carry of a partial block between calls. A value type so openers embed it and one-shot calls keep
/// it on the stack: nothing is allocated per record.
/// </summary>
internal struct GcmState
{
    /// <summary>Next counter block, in wire byte order (the last 4 bytes are the big-endian 32-bit counter).</summary>
    public Vector128<byte> Counter;

    /// <summary>GHASH accumulator in the representation of the key's path.</summary>
    public Vector128<byte> Acc;

    /// <summary>E(K, J0), XORed into the GHASH result to form the tag.</summary>
    public Vector128<byte> TagMask;

    /// <summary>Keystream block of the current partial block (valid when <see cref="PartialLength"/> &gt; 0).</summary>
    public Vector128<byte> Keystream;

    /// <summary>Ciphertext bytes of the current partial block, zero padded: GHASH input once the block completes.</summary>
    public Vector128<byte> Partial;

    /// <summary>Bytes of the current block already processed (0..15).</summary>
    public int PartialLength;

    public ulong AadBytes;
    public ulong TextBytes;

    public static ref byte Bytes(ref Vector128<byte> v) => ref Unsafe.As<Vector128<byte>, byte>(ref v);

    /// <summary>Zeroes every field (keystream, E(K, J0) and GHASH state are secret-derived).</summary>
    public static void Clear(ref GcmState state) =>
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref state, 1)));
}
