using System.Security.Cryptography;
using Bufferless.Crypto.Aead;
using Bufferless.Crypto.KeyExchange;

namespace Bufferless.Crypto;

/// <summary>
/// Known-answer checks of every primitive, run by <c>bufferless selftest</c> (and cheap enough to run at start-up).
/// Each check exercises the one-call and the streaming paths of the implementation chosen for this machine.
/// </summary>
public static class CryptoSelfTest
{
    public readonly record struct Result(string Name, bool Passed, string Detail);

    // McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 3 and 15.
    private const string GcmIv = "cafebabefacedbaddecaf888";
    private const string GcmPlaintext =
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";

    // RFC 8439 §2.8.2.
    private const string ChaChaPlaintext =
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

    public static IReadOnlyList<Result> Run()
    {
        var results = new List<Result>
        {
            Aead("AES-128-GCM", AeadAlgorithm.Aes128Gcm, "feffe9928665731c6d6a8f9467308308", GcmIv, "",
                Convert.FromHexString(GcmPlaintext),
                "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985" +
                "4d5c2af327cd64a62cf35abd2ba6fab4"),
            Aead("AES-256-GCM", AeadAlgorithm.Aes256Gcm, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", GcmIv, "",
                Convert.FromHexString(GcmPlaintext),
                "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad" +
                "b094dac5d93471bdec1a502270e3cc6c"),
            Aead("ChaCha20-Poly1305", AeadAlgorithm.ChaCha20Poly1305, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
                "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7", System.Text.Encoding.ASCII.GetBytes(ChaChaPlaintext),
                "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
                "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116" +
                "1ae10b594f09e26a7e902ecbd0600691"),
            X25519Rfc7748(),
        };
        foreach (NamedGroup g in new[] { NamedGroup.Secp256r1, NamedGroup.Secp384r1, NamedGroup.X25519MLKEM768 })
            results.Add(RoundTrip(g));
        return results;
    }

    private static Result Aead(string name, AeadAlgorithm alg, string keyHex, string nonceHex, string aadHex, byte[] plaintext, string expectedHex)
    {
        try
        {
            byte[] key = Convert.FromHexString(keyHex), nonce = Convert.FromHexString(nonceHex), aad = Convert.FromHexString(aadHex);
            byte[] expected = Convert.FromHexString(expectedHex);
            using var aead = RecordAead.Create(alg, key);
            var body = new byte[plaintext.Length + AeadAlgorithmInfo.TagSize];
            aead.Seal(nonce, aad, plaintext, body);
            if (!body.AsSpan().SequenceEqual(expected))
                return new(name, false, "seal: wrong ciphertext or tag");

            var pt = new byte[plaintext.Length];
            if (!aead.Open(nonce, aad, body, pt) || !pt.AsSpan().SequenceEqual(plaintext))
                return new(name, false, "open: rejected or wrong plaintext");

            // Streaming, in 7-byte pieces so that blocks and the tag straddle pieces.
            using var opener = aead.CreateOpener();
            opener.Begin(nonce, aad, plaintext.Length);
            Array.Clear(pt);
            int written = 0;
            for (int i = 0; i < body.Length; i += 7)
                written += opener.Update(body.AsSpan(i, Math.Min(7, body.Length - i)), pt.AsSpan(written));
            if (!opener.Finish() || written != plaintext.Length || !pt.AsSpan().SequenceEqual(plaintext))
                return new(name, false, "streaming open: rejected or wrong plaintext");

            body[^1] ^= 1;
            if (aead.Open(nonce, aad, body, pt))
                return new(name, false, "open accepted a flipped tag bit");
            return new(name, true, "known answer, one-call and streaming");
        }
        catch (Exception e) when (e is NotSupportedException or CryptographicException or InvalidOperationException)
        {
            return new(name, false, e.Message);
        }
    }

    private static Result X25519Rfc7748()
    {
        const string name = "X25519";
        try
        {
            // RFC 7748 §6.1: Alice's public key, Bob's private key.
            byte[] alicePublic = Convert.FromHexString("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
            byte[] bobPrivate = Convert.FromHexString("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
            var ka = KeyAgreement.Get(NamedGroup.X25519);
            Span<byte> share = stackalloc byte[32], secret = stackalloc byte[32];
            if (!ka.TryServerRespond(alicePublic, bobPrivate, share, secret))
                return new(name, false, "rejected the RFC 7748 share");
            bool ok = Convert.ToHexStringLower(share) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
                && Convert.ToHexStringLower(secret) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
            CryptographicOperations.ZeroMemory(secret);
            return ok ? RoundTrip(NamedGroup.X25519) with { Detail = "RFC 7748 known answer, round trip" } : new(name, false, "wrong RFC 7748 answer");
        }
        catch (NotSupportedException e)
        {
            return new(name, false, e.Message);
        }
    }

    private static Result RoundTrip(NamedGroup group)
    {
        string name = group.ToString();
        try
        {
            var ka = KeyAgreement.Get(group);
            using var client = ka.CreateClientShare();
            var serverShare = new byte[ka.ServerShareLength];
            var s1 = new byte[ka.SharedSecretLength];
            var s2 = new byte[ka.SharedSecretLength];
            if (!ka.TryServerRespond(client.PublicShare, serverShare, s1) || !client.TryComplete(serverShare, s2))
                return new(name, false, "round trip rejected");
            bool same = s1.AsSpan().SequenceEqual(s2);
            CryptographicOperations.ZeroMemory(s1);
            CryptographicOperations.ZeroMemory(s2);
            return new(name, same, same ? "client and server agree" : "secrets differ");
        }
        catch (NotSupportedException e)
        {
            return new(name, false, e.Message);
        }
    }
}
