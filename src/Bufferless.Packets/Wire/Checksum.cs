using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Bufferless.Packets.Wire;

/// <summary>
/// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of the data
/// taken as big-endian 16-bit words. Partial sums are <see cref="uint"/> values in big-endian word order that
/// may exceed 16 bits; add them with <see cref="Add"/>, close them with <see cref="Finish"/>.
/// </summary>
/// <remarks>
/// The one's complement sum does not depend on byte order (RFC 1071 §2(B)): we add little-endian words, which
/// is what the vector units load, and swap the two bytes of the folded result once at the end. Each 32-bit
/// load is widened into a 64-bit lane, so no carry is lost for any buffer below 2^32 words.
/// </remarks>
public static class Checksum
{
    /// <summary>One's complement sum of <paramref name="data"/> (an odd last byte is padded with zero, RFC 1071 §4.1), added to <paramref name="initial"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static uint Sum(ReadOnlySpan<byte> data, uint initial = 0)
    {
        ulong le;
        if (Vector256.IsHardwareAccelerated && data.Length >= 64) le = SumVector256(data);
        else if (Vector128.IsHardwareAccelerated && data.Length >= 32) le = SumVector128(data);
        else le = SumScalar(data);
        return Add(initial, SwapFolded(le));
    }

    /// <summary>Adds two partial sums (end-around carry).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Add(uint a, uint b)
    {
        ulong s = (ulong)a + b;
        return (uint)((s & 0xFFFF_FFFF) + (s >> 32));
    }

    /// <summary>Folds a partial sum to 16 bits without complementing it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(uint sum)
    {
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>The checksum field value for a partial sum: the complement of its 16-bit fold.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Finish(uint sum) => (ushort)~Fold(sum);

    /// <summary>The checksum of <paramref name="data"/> alone (e.g. an IPv4 header with its checksum field zeroed).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Sum(data));

    /// <summary>
    /// The TCP/UDP pseudo-header sum for IPv4 (RFC 9293 §3.1): source, destination, zero, protocol, length.
    /// Addresses are numeric big-endian values (198.18.1.2 is 0xC6120102).
    /// </summary>
    public static uint PseudoHeaderV4(uint source, uint destination, byte protocol, int upperLayerLength)
    {
        ulong s = (source >> 16) + (source & 0xFFFF) + (destination >> 16) + (destination & 0xFFFF)
                  + protocol + (uint)upperLayerLength;
        return (uint)((s & 0xFFFF_FFFF) + (s >> 32));
    }

    /// <summary>The pseudo-header sum for IPv6 (RFC 8200 §8.1): 16-byte addresses, 32-bit length, next header.</summary>
    public static uint PseudoHeaderV6(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte protocol, int upperLayerLength)
    {
        uint s = Sum(source[..16]);
        s = Add(s, Sum(destination[..16]));
        s = Add(s, (uint)upperLayerLength >> 16);
        s = Add(s, (uint)upperLayerLength & 0xFFFF);
        return Add(s, protocol);
    }

    /// <summary>The pseudo-header sum for IPv6 with addresses as numeric big-endian 128-bit values.</summary>
    public static uint PseudoHeaderV6(UInt128 source, UInt128 destination, byte protocol, int upperLayerLength)
    {
        Span<byte> a = stackalloc byte[32];
        BinaryPrimitives.WriteUInt128BigEndian(a, source);
        BinaryPrimitives.WriteUInt128BigEndian(a[16..], destination);
        return PseudoHeaderV6(a[..16], a[16..], protocol, upperLayerLength);
    }

    /// <summary>RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit word changed from <paramref name="oldValue"/> to <paramref name="newValue"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Update(ushort checksum, ushort oldValue, ushort newValue)
        => (ushort)~Fold((uint)(ushort)~checksum + (ushort)~oldValue + newValue);

    /// <summary>RFC 1624 for a 32-bit field (sequence numbers, IPv4 addresses) that starts on a 16-bit boundary.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Update32(ushort checksum, uint oldValue, uint newValue)
    {
        uint s = (uint)(ushort)~checksum
                 + (ushort)~(oldValue >> 16) + (ushort)~oldValue
                 + (newValue >> 16) + (newValue & 0xFFFF);
        return (ushort)~Fold(s);
    }

    /// <summary>RFC 1624 for a region whose old and new partial sums are known (both summed from the same 16-bit alignment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort UpdateSum(ushort checksum, uint oldSum, uint newSum)
        => (ushort)~Fold(Add(Add((ushort)~checksum, (ushort)~Fold(oldSum)), newSum));

    /// <summary>RFC 1624 for an even-length field at an even offset (e.g. an IPv6 address).</summary>
    public static ushort Update(ushort checksum, ReadOnlySpan<byte> oldValue, ReadOnlySpan<byte> newValue)
        => UpdateSum(checksum, Sum(oldValue), Sum(newValue));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint SwapFolded(ulong le)
    {
        le = (le & 0xFFFF_FFFF) + (le >> 32);
        le = (le & 0xFFFF_FFFF) + (le >> 32);
        uint f = Fold((uint)le);
        return BinaryPrimitives.ReverseEndianness((ushort)f);
    }

    // The three paths below return a little-endian-order, unfolded 64-bit sum. They are internal so tests
    // can run each against the others on the same inputs whatever the machine supports.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static ulong SumScalar(ReadOnlySpan<byte> data)
    {
        ulong a = 0, b = 0;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            a += BinaryPrimitives.ReadUInt32LittleEndian(data[i..]);
            b += BinaryPrimitives.ReadUInt32LittleEndian(data[(i + 4)..]);
        }
        return a + b + Tail(data[i..]);
    }

    /// <summary>Up to 31 trailing bytes; the slice starts at an even offset of the whole buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong Tail(ReadOnlySpan<byte> data)
    {
        ulong s = 0;
        int i = 0;
        for (; i + 4 <= data.Length; i += 4) s += BinaryPrimitives.ReadUInt32LittleEndian(data[i..]);
        if (i + 2 <= data.Length) { s += BinaryPrimitives.ReadUInt16LittleEndian(data[i..]); i += 2; }
        if (i < data.Length) s += data[i]; // RFC 1071 §4.1: the odd byte is the high byte of a padded word
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static ulong SumVector128(ReadOnlySpan<byte> data)
    {
        if (!Vector128.IsHardwareAccelerated) return SumScalar(data);
        ref byte p = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(data);
        var acc0 = Vector128<ulong>.Zero;
        var acc1 = Vector128<ulong>.Zero;
        int i = 0;
        for (; i + 32 <= data.Length; i += 32)
        {
            var v0 = Vector128.LoadUnsafe(ref p, (nuint)i).AsUInt32();
            var v1 = Vector128.LoadUnsafe(ref p, (nuint)(i + 16)).AsUInt32();
            var (l0, h0) = Vector128.Widen(v0);
            var (l1, h1) = Vector128.Widen(v1);
            acc0 += l0 + h0;
            acc1 += l1 + h1;
        }
        if (i + 16 <= data.Length)
        {
            var (l, h) = Vector128.Widen(Vector128.LoadUnsafe(ref p, (nuint)i).AsUInt32());
            acc0 += l + h;
            i += 16;
        }
        return Vector128.Sum(acc0 + acc1) + Tail(data[i..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static ulong SumVector256(ReadOnlySpan<byte> data)
    {
        if (!Vector256.IsHardwareAccelerated) return SumVector128(data);
        ref byte p = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(data);
        var acc0 = Vector256<ulong>.Zero;
        var acc1 = Vector256<ulong>.Zero;
        int i = 0;
        for (; i + 64 <= data.Length; i += 64)
        {
            var (l0, h0) = Vector256.Widen(Vector256.LoadUnsafe(ref p, (nuint)i).AsUInt32());
            var (l1, h1) = Vector256.Widen(Vector256.LoadUnsafe(ref p, (nuint)(i + 32)).AsUInt32());
            acc0 += l0 + h0;
            acc1 += l1 + h1;
        }
        if (i + 32 <= data.Length)
        {
            var (l, h) = Vector256.Widen(Vector256.LoadUnsafe(ref p, (nuint)i).AsUInt32());
            acc0 += l + h;
            i += 32;
        }
        return Vector256.Sum(acc0 + acc1) + Tail(data[i..]);
    }
}
