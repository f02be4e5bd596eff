namespace Bufferless.Crypto.KeyExchange;

/// <summary>The groups Bufferless implements: X25519, P-256, P-384 through libcrypto; the ML-KEM hybrid through BouncyCastle.</summary>
internal static class KeyAgreements
{
    public static KeyAgreement Get(NamedGroup group) => group switch
    {
        NamedGroup.X25519 => X25519KeyAgreement.Instance,
        NamedGroup.Secp256r1 => EcdhKeyAgreement.P256,
        NamedGroup.Secp384r1 => EcdhKeyAgreement.P384,
        NamedGroup.X25519MLKEM768 => X25519MLKem768KeyAgreement.Instance,
        _ => throw new NotSupportedException($"group {group} is not supported"),
    };

    public static bool IsSupported(NamedGroup group) => group is NamedGroup.X25519 or NamedGroup.Secp256r1 or NamedGroup.Secp384r1 or NamedGroup.X25519MLKEM768;
}
