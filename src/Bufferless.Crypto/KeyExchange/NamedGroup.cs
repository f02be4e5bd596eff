namespace Bufferless.Crypto.KeyExchange;

/// <summary>TLS supported_groups code points (RFC 8446 §4.2.7, draft-ietf-tls-ecdhe-mlkem).</summary>
public enum NamedGroup : ushort
{
    Secp256r1 = 0x0017,
    Secp384r1 = 0x0018,
    X25519 = 0x001D,
    X25519MLKEM768 = 0x11EC,
}
