using System.Text;
using Bufferless.Crypto.Hash;

namespace Bufferless.Tls.KeySchedule;

internal static class HkdfLabel
{
    private static ReadOnlySpan<byte> Prefix => "tls13 "u8;

    /// <summary>
    /// RFC 8446 §7.1: HKDF-Expand-Label(Secret, Label, Context, Length) =
    /// HKDF-Expand(Secret, HkdfLabel{ uint16 length; opaque label&lt;7..255&gt; = "tls13 " + Label; opaque context&lt;0..255&gt; }, Length).
    /// </summary>
    public static void Expand(Sha2Kind hash, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> label, ReadOnlySpan<byte> context, Span<byte> output)
    {
        int labelLength = Prefix.Length + label.Length;
        if (labelLength > 255 || context.Length > 255)
            throw new ArgumentException("label or context too long");
        Span<byte> info = stackalloc byte[2 + 1 + labelLength + 1 + context.Length];
        info[0] = (byte)(output.Length >> 8);
        info[1] = (byte)output.Length;
        info[2] = (byte)labelLength;
        Prefix.CopyTo(info[3..]);
        label.CopyTo(info[(3 + Prefix.Length)..]);
        info[3 + labelLength] = (byte)context.Length;
        context.CopyTo(info[(4 + labelLength)..]);
        Hkdf.Expand(hash, secret, info, output);
    }

    public static void Expand(Sha2Kind hash, ReadOnlySpan<byte> secret, string label, ReadOnlySpan<byte> context, Span<byte> output)
    {
        Span<byte> labelBytes = stackalloc byte[Encoding.ASCII.GetByteCount(label)];
        Encoding.ASCII.GetBytes(label, labelBytes);
        Expand(hash, secret, labelBytes, context, output);
    }
}
