namespace Bufferless.Packets.Flows;

/// <summary>
/// TCP sequence arithmetic on raw <see cref="uint"/> values (RFC 9293 §3.4: comparisons are modulo 2^32).
/// The flow slab stores sequence numbers as <c>uint</c> to stay compact; these helpers keep every comparison
/// wraparound-safe.
/// </summary>
internal static class Seq
{
    public static bool Lt(uint a, uint b) => (int)(a - b) < 0;
    public static bool Le(uint a, uint b) => (int)(a - b) <= 0;
    public static bool Gt(uint a, uint b) => (int)(a - b) > 0;
    public static bool Ge(uint a, uint b) => (int)(a - b) >= 0;
    public static int Diff(uint a, uint b) => (int)(a - b);
    public static uint Max(uint a, uint b) => Gt(a, b) ? a : b;
    public static uint Min(uint a, uint b) => Lt(a, b) ? a : b;
}
