using System.Security.Cryptography;

namespace Bufferless.Packets.Engine;

/// <summary>
/// TLS 1.3 KeyUpdate arithmetic the engine needs after it took over the record layer (RFC 8446 §4.6.3, §7.2, §7.3):
/// the next application traffic secret and the key and IV derived from a secret. The hash follows from the
/// secret's length (32: SHA-256, 48: SHA-384), since every TLS 1.3 suite's secret is one hash long. Rare (one call
/// per KeyUpdate), so it favours plainness over speed; scratch is zeroed.
/// </summary>
internal static class TrafficKeyUpdate
{
    public const int MaxSecret = 48;

    private static HashAlgorithmName Hash(int secretLength) => secretLength == 48 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;

    /// <summary>RFC 8446 §7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length).</summary>
    public static void NextSecret(ReadOnlySpan<byte> secret, Span<byte> next) => ExpandLabel(secret, "traffic upd"u8, next[..secret.Length]);

    /// <summary>RFC 8446 §7.3: key = HKDF-Expand-Label(Secret, "key", "", key_length); iv = HKDF-Expand-Label(Secret, "iv", "", iv_length).</summary>
    public static void DeriveKeyAndIv(ReadOnlySpan<byte> secret, Span<byte> key, Span<byte> iv)
    {
        ExpandLabel(secret, "key"u8, key);
        ExpandLabel(secret, "iv"u8, iv);
    }

    /// <summary>
    /// RFC 8446 §7.1: HKDF-Expand-Label(Secret, Label, "", Length) = HKDF-Expand(Secret, HkdfLabel, Length) with
    /// HkdfLabel = uint16 length || opaque label&lt;7..255&gt; ("tls13 " + Label) || opaque context&lt;0..255&gt; (empty).
    /// </summary>
    private static void ExpandLabel(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> label, Span<byte> output)
    {
        ReadOnlySpan<byte> prefix = "tls13 "u8;
        Span<byte> info = stackalloc byte[2 + 1 + 6 + 16 + 1];
        int labelLength = prefix.Length + label.Length;
        info[0] = (byte)(output.Length >> 8);
        info[1] = (byte)output.Length;
        info[2] = (byte)labelLength;
        prefix.CopyTo(info[3..]);
        label.CopyTo(info[(3 + prefix.Length)..]);
        info[3 + labelLength] = 0;
        HKDF.Expand(Hash(secret.Length), secret, output, info[..(4 + labelLength)]);
    }
}
