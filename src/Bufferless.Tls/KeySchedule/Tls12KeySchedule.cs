using System.Security.Cryptography;
using Bufferless.Crypto.Hash;

namespace Bufferless.Tls.KeySchedule;

/// <summary>
/// The TLS 1.2 key derivation (RFC 5246 §5, §6.3, §7.4.9) with the extended master secret (RFC 7627 §4):
/// PRF = P_hash(secret, label + seed) with the suite's PRF hash.
/// </summary>
internal static class Tls12KeySchedule
{
    public const int MasterSecretLength = 48;
    public const int VerifyDataLength = 12;

    /// <summary>RFC 5246 §5: PRF(secret, label, seed) = P_&lt;hash&gt;(secret, label + seed), as many bytes as <paramref name="output"/> holds.</summary>
    public static void Prf(HashAlgorithmName hash, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> label, ReadOnlySpan<byte> seed, Span<byte> output)
    {
        int hashLength = hash == HashAlgorithmName.SHA384 ? 48 : 32;
        Span<byte> labelSeed = stackalloc byte[label.Length + seed.Length];
        label.CopyTo(labelSeed);
        seed.CopyTo(labelSeed[label.Length..]);
        Span<byte> a = stackalloc byte[hashLength];
        Span<byte> block = stackalloc byte[hashLength];
        Span<byte> input = stackalloc byte[hashLength + labelSeed.Length];
        // A(1) = HMAC(secret, A(0)) with A(0) = seed.
        Hmac(hash, secret, labelSeed, a);
        int written = 0;
        while (written < output.Length)
        {
            // P_hash block i = HMAC(secret, A(i) + seed); A(i+1) = HMAC(secret, A(i)).
            a.CopyTo(input);
            labelSeed.CopyTo(input[hashLength..]);
            Hmac(hash, secret, input, block);
            int n = Math.Min(hashLength, output.Length - written);
            block[..n].CopyTo(output[written..]);
            written += n;
            Hmac(hash, secret, a, a);
        }
        CryptographicOperations.ZeroMemory(a);
        CryptographicOperations.ZeroMemory(block);
        CryptographicOperations.ZeroMemory(input);
    }

    private static void Hmac(HashAlgorithmName hash, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> output)
    {
        Span<byte> result = stackalloc byte[48];
        int n = Crypto.Hash.Hmac.Compute(Sha2.FromName(hash), key, data, result);
        result[..n].CopyTo(output);
        CryptographicOperations.ZeroMemory(result);
    }

    /// <summary>RFC 7627 §4: master_secret = PRF(pre_master_secret, "extended master secret", session_hash)[0..47].</summary>
    public static byte[] ExtendedMasterSecret(HashAlgorithmName hash, ReadOnlySpan<byte> preMasterSecret, ReadOnlySpan<byte> sessionHash)
    {
        byte[] master = new byte[MasterSecretLength];
        Prf(hash, preMasterSecret, "extended master secret"u8, sessionHash, master);
        return master;
    }

    /// <summary>
    /// RFC 5246 §6.3: key_block = PRF(master, "key expansion", server_random + client_random), cut into
    /// client_write_key, server_write_key, client_write_IV, server_write_IV (AEAD suites have no MAC keys).
    /// </summary>
    public static void KeyBlock(CipherSuiteInfo suite, ReadOnlySpan<byte> master, ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> serverRandom,
        Span<byte> clientKey, Span<byte> serverKey, Span<byte> clientIv, Span<byte> serverIv)
    {
        int keyLength = suite.KeyLength, ivLength = suite.FixedIvLength;
        Span<byte> seed = stackalloc byte[64];
        serverRandom.CopyTo(seed);
        clientRandom.CopyTo(seed[32..]);
        Span<byte> block = stackalloc byte[2 * (keyLength + ivLength)];
        Prf(suite.Hash, master, "key expansion"u8, seed, block);
        block[..keyLength].CopyTo(clientKey);
        block.Slice(keyLength, keyLength).CopyTo(serverKey);
        block.Slice(2 * keyLength, ivLength).CopyTo(clientIv);
        block.Slice(2 * keyLength + ivLength, ivLength).CopyTo(serverIv);
        CryptographicOperations.ZeroMemory(block);
    }

    /// <summary>RFC 5246 §7.4.9: verify_data = PRF(master_secret, finished_label, Hash(handshake_messages))[0..11].</summary>
    public static void Finished(CipherSuiteInfo suite, ReadOnlySpan<byte> master, bool client, ReadOnlySpan<byte> transcriptHash, Span<byte> verifyData) =>
        Prf(suite.Hash, master, client ? "client finished"u8 : "server finished"u8, transcriptHash, verifyData[..VerifyDataLength]);
}
