using System.Buffers.Binary;

namespace Bufferless.Crypto.Aead;

public static class RecordNonce
{
    /// <summary>RFC 8446 §5.3: the 64-bit record number, big-endian, left-padded to the IV length and XORed with the IV.</summary>
    public static void Compute(ReadOnlySpan<byte> iv, ulong recordNumber, Span<byte> nonce)
    {
        if (iv.Length != AeadAlgorithmInfo.NonceSize || nonce.Length < AeadAlgorithmInfo.NonceSize)
            throw new ArgumentException("IV and nonce are 12 bytes");
        iv.CopyTo(nonce);
        ulong tail = BinaryPrimitives.ReadUInt64BigEndian(nonce[4..]) ^ recordNumber;
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], tail);
    }
}
