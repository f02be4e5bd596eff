using System.Runtime.CompilerServices;

namespace Bufferless.Packets.Wire;

/// <summary>
/// A TCP sequence number: 32-bit arithmetic modulo 2^32, compared with wraparound (RFC 9293 §3.4: "a < b"
/// means <c>(int)(a - b) &lt; 0</c>). The order is only meaningful for numbers less than 2^31 apart, so the type
/// deliberately does not implement <see cref="IComparable{T}"/> (it is not transitive over the whole ring).
/// </summary>
public readonly record struct SeqNumber(uint Value)
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static SeqNumber operator +(SeqNumber a, int delta) => new(unchecked(a.Value + (uint)delta));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static SeqNumber operator -(SeqNumber a, int delta) => new(unchecked(a.Value - (uint)delta));

    /// <summary>Signed distance from <paramref name="b"/> to <paramref name="a"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int operator -(SeqNumber a, SeqNumber b) => unchecked((int)(a.Value - b.Value));

    public static bool operator <(SeqNumber a, SeqNumber b) => a - b < 0;
    public static bool operator >(SeqNumber a, SeqNumber b) => a - b > 0;
    public static bool operator <=(SeqNumber a, SeqNumber b) => a - b <= 0;
    public static bool operator >=(SeqNumber a, SeqNumber b) => a - b >= 0;

    public static SeqNumber Max(SeqNumber a, SeqNumber b) => a > b ? a : b;
    public static SeqNumber Min(SeqNumber a, SeqNumber b) => a < b ? a : b;

    /// <summary>True when <c>start &lt;= this &lt; start + length</c> (modulo 2^32).</summary>
    public bool IsInRange(SeqNumber start, uint length) => unchecked(Value - start.Value) < length;

    public override string ToString() => Value.ToString();
}
