namespace Bufferless.Packets.Flows;

/// <summary>A segment kept in a hold's buffer: where its bytes sit.</summary>
internal interface IHeldSegment
{
    int Offset { get; set; }
    int Length { get; }
}

/// <summary>Buffer upkeep shared by <see cref="ReorderHold"/> and <see cref="CipherHold"/>.</summary>
internal static class HeldSegments
{
    /// <summary>
    /// Moves the held bytes together at the front of <paramref name="buffer"/> (taken entries leave holes behind):
    /// an insertion sort of the entries by offset (a hold has few, no allocation), then each slid down in order.
    /// Returns the bytes in use afterwards.
    /// </summary>
    public static int Compact<T>(Span<T> entries, byte[] buffer) where T : struct, IHeldSegment
    {
        for (int i = 1; i < entries.Length; i++)
        {
            T e = entries[i];
            int j = i - 1;
            while (j >= 0 && entries[j].Offset > e.Offset)
            {
                entries[j + 1] = entries[j];
                j--;
            }
            entries[j + 1] = e;
        }
        int at = 0;
        for (int i = 0; i < entries.Length; i++)
        {
            ref T e = ref entries[i];
            if (e.Offset != at)
                Buffer.BlockCopy(buffer, e.Offset, buffer, at, e.Length);
            e.Offset = at;
            at += e.Length;
        }
        return at;
    }
}
