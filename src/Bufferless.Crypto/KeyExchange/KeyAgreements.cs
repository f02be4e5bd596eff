namespace Bufferless.Crypto.KeyExchange;

// PLACEHOLDER registry: replaced when the libcrypto (X25519, P-256, P-384) and ML-KEM implementations land.
internal static class KeyAgreements
{
    public static KeyAgreement Get(NamedGroup group) => throw new NotSupportedException($"group {group} not implemented yet");
    public static bool IsSupported(NamedGroup group) => false;
}
