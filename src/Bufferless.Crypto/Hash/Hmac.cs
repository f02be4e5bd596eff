using System.Security.Cryptography;

namespace Bufferless.Crypto.Hash;

/// <summary>HMAC (RFC 2104) over <see cref="Sha2"/>: no allocation, no per-call algorithm lookup.</summary>
public static class Hmac
{
    private const byte InnerPad = 0x36;
    private const byte OuterPad = 0x5c;

    /// <summary>HMAC(key, data) into <paramref name="destination"/>; returns the MAC length (the hash length).</summary>
    public static int Compute(Sha2Kind kind, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> destination) =>
        Compute(kind, key, data, default, default, destination);

    /// <summary>HMAC(key, data1 || data2 || data3): HKDF-Expand chains T(i-1), info and its counter without copying them.</summary>
    internal static int Compute(Sha2Kind kind, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data1, ReadOnlySpan<byte> data2,
        ReadOnlySpan<byte> data3, Span<byte> destination)
    {
        int blockSize = Sha2.BlockSize(kind);
        int hashSize = Sha2.HashSize(kind);
        if (destination.Length < hashSize)
            throw new ArgumentException("destination too small", nameof(destination));
        DigestContext ctx = Sha2.Scratch;
        Span<byte> pad = stackalloc byte[Sha2.MaxBlockSize];
        Span<byte> inner = stackalloc byte[Sha2.MaxHashSize];
        pad = pad[..blockSize];
        try
        {
            // RFC 2104 §2: a key longer than the block is hashed first; the key is then zero-padded to the block size.
            pad.Clear();
            if (key.Length > blockSize)
                Sha2.HashData(kind, key, pad);
            else
                key.CopyTo(pad);
            Xor(pad, InnerPad);
            ctx.Init(kind);
            ctx.Update(pad);
            ctx.Update(data1);
            ctx.Update(data2);
            ctx.Update(data3);
            ctx.Final(inner);

            Xor(pad, InnerPad ^ OuterPad);
            ctx.Init(kind);
            ctx.Update(pad);
            ctx.Update(inner[..hashSize]);
            return ctx.Final(destination);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pad);
            CryptographicOperations.ZeroMemory(inner);
        }
    }

    private static void Xor(Span<byte> block, byte value)
    {
        // Block sizes are 64 and 128 bytes: eight bytes at a time.
        ulong pattern = value * 0x0101010101010101UL;
        foreach (ref ulong word in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(block))
            word ^= pattern;
    }
}

/// <summary>HKDF (RFC 5869) over <see cref="Hmac"/>.</summary>
public static class Hkdf
{
    /// <summary>RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); an empty salt means HashLen zero bytes.</summary>
    public static int Extract(Sha2Kind kind, ReadOnlySpan<byte> ikm, ReadOnlySpan<byte> salt, Span<byte> prk)
    {
        // HMAC pads a short key with zeros, so an empty salt and HashLen zeros give the same PRK.
        return Hmac.Compute(kind, salt, ikm, prk);
    }

    /// <summary>RFC 5869 §2.3: OKM = T(1) || T(2) || ..., T(i) = HMAC-Hash(PRK, T(i-1) || info || i); L &lt;= 255 * HashLen.</summary>
    public static void Expand(Sha2Kind kind, ReadOnlySpan<byte> prk, ReadOnlySpan<byte> info, Span<byte> output)
    {
        int hashSize = Sha2.HashSize(kind);
        if (output.Length > 255 * hashSize)
            throw new ArgumentException("HKDF-Expand output longer than 255 * HashLen", nameof(output));
        if (prk.Length < hashSize)
            throw new ArgumentException("PRK shorter than HashLen", nameof(prk));
        Span<byte> t = stackalloc byte[Sha2.MaxHashSize];
        Span<byte> previous = stackalloc byte[Sha2.MaxHashSize];
        Span<byte> counter = stackalloc byte[1];
        try
        {
            int produced = 0;
            for (int i = 1; produced < output.Length; i++)
            {
                counter[0] = (byte)i;
                ReadOnlySpan<byte> tPrevious = i == 1 ? default : previous[..hashSize];
                Hmac.Compute(kind, prk, tPrevious, info, counter, t);
                int n = Math.Min(hashSize, output.Length - produced);
                t[..n].CopyTo(output[produced..]);
                produced += n;
                t[..hashSize].CopyTo(previous);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(t);
            CryptographicOperations.ZeroMemory(previous);
        }
    }
}
