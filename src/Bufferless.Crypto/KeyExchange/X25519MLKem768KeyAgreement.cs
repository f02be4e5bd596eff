using System.Security.Cryptography;
using Bufferless.Crypto.Interop;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Kems;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Security;

namespace Bufferless.Crypto.KeyExchange;

/// <summary>
/// X25519MLKEM768 (0x11EC, draft-ietf-tls-ecdhe-mlkem §3): ML-KEM-768 (FIPS 203, BouncyCastle) combined with
/// X25519 (libcrypto). The draft puts the ML-KEM part first in all three values:
/// client share = ek (1184) || X25519 share (32); server share = ML-KEM ciphertext (1088) || X25519 share (32);
/// shared secret = ML-KEM shared secret (32) || X25519 shared secret (32).
/// </summary>
/// <remarks>
/// BouncyCastle keeps key material in managed arrays it owns; the client-side decapsulation key cannot be zeroed
/// by us (the client side only serves tests and tools). The server side holds no ML-KEM secret beyond the call.
/// </remarks>
internal sealed class X25519MLKem768KeyAgreement : KeyAgreement
{
    public const int EncapsulationKeySize = 1184;
    public const int CiphertextSize = 1088;
    public const int MLKemSecretSize = 32;
    private const int X = X25519KeyAgreement.KeySize;

    public static readonly X25519MLKem768KeyAgreement Instance = new();

    private static readonly MLKemParameters Parameters = MLKemParameters.ml_kem_768;
    private static readonly SecureRandom Random = new();

    private X25519MLKem768KeyAgreement() { }

    public override NamedGroup Group => NamedGroup.X25519MLKEM768;
    public override int ClientShareLength => EncapsulationKeySize + X;
    public override int ServerShareLength => CiphertextSize + X;
    public override int SharedSecretLength => MLKemSecretSize + X;

    public override bool TryServerRespond(ReadOnlySpan<byte> clientShare, Span<byte> serverShare, Span<byte> sharedSecret)
        => TryRespond(clientShare, mlKemRandomness: default, x25519PrivateKey: default, serverShare, sharedSecret);

    /// <summary>A KEM has no fixed server private key: see <see cref="TryServerRespondDeterministic"/> for known-answer tests.</summary>
    public override bool TryServerRespond(ReadOnlySpan<byte> clientShare, ReadOnlySpan<byte> serverPrivateKey, Span<byte> serverShare, Span<byte> sharedSecret)
        => throw new NotSupportedException("X25519MLKEM768 has no fixed server private key");

    /// <summary>
    /// Known-answer form: <paramref name="m"/> is the 32-byte encapsulation randomness of FIPS 203 ML-KEM.Encaps_internal,
    /// <paramref name="x25519PrivateKey"/> the server's X25519 scalar.
    /// </summary>
    internal bool TryServerRespondDeterministic(ReadOnlySpan<byte> clientShare, ReadOnlySpan<byte> m, ReadOnlySpan<byte> x25519PrivateKey, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        if (m.Length != 32 || x25519PrivateKey.Length != X)
            throw new ArgumentException("m and the X25519 key are 32 bytes");
        return TryRespond(clientShare, m, x25519PrivateKey, serverShare, sharedSecret);
    }

    public override ClientKeyShare CreateClientShare()
    {
        var generator = new MLKemKeyPairGenerator();
        generator.Init(new MLKemKeyGenerationParameters(Random, Parameters));
        var mlKem = (MLKemPrivateKeyParameters)generator.GenerateKeyPair().Private;
        return HybridClientShare.Create(mlKem, X25519KeyAgreement.Instance.CreateClientShare());
    }

    /// <summary>Known-answer form of the client: ML-KEM key from the FIPS 203 seeds d and z, X25519 from its scalar.</summary>
    internal static ClientKeyShare CreateClientShareDeterministic(ReadOnlySpan<byte> d, ReadOnlySpan<byte> z, ReadOnlySpan<byte> x25519PrivateKey)
    {
        if (d.Length != 32 || z.Length != 32)
            throw new ArgumentException("d and z are 32 bytes");
        byte[] seed = [.. d, .. z];
        try
        {
            var mlKem = MLKemPrivateKeyParameters.FromSeed(Parameters, seed);
            var share = new byte[X];
            EvpPKeyHandle x25519 = X25519KeyAgreement.NewKey(x25519PrivateKey, share);
            return HybridClientShare.Create(mlKem, new X25519PublicOnly(x25519, share));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    private static bool TryRespond(ReadOnlySpan<byte> clientShare, ReadOnlySpan<byte> mlKemRandomness, ReadOnlySpan<byte> x25519PrivateKey, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        EvpKeys.RequireLength(serverShare, CiphertextSize + X, nameof(serverShare));
        EvpKeys.RequireLength(sharedSecret, MLKemSecretSize + X, nameof(sharedSecret));
        if (clientShare.Length != EncapsulationKeySize + X)
            return false;
        ReadOnlySpan<byte> ek = clientShare[..EncapsulationKeySize];
        // FIPS 203 §7.2: the encapsulation key input check (type check = length, modulus check) before Encaps.
        if (!IsEncapsulationKeyCanonical(ek))
            return false;
        // The X25519 half is the plain X25519 server respond (same validation, all-zero result refused).
        Span<byte> x25519Private = stackalloc byte[X];
        try
        {
            if (x25519PrivateKey.IsEmpty)
                RandomBytes.Fill(x25519Private);
            else if (x25519PrivateKey.Length == X)
                x25519PrivateKey.CopyTo(x25519Private);
            else
                throw new ArgumentException("an X25519 private key is 32 bytes", nameof(x25519PrivateKey));
            if (!X25519KeyAgreement.TryRespond(clientShare[EncapsulationKeySize..], x25519Private, serverShare.Slice(CiphertextSize, X), sharedSecret.Slice(MLKemSecretSize, X)))
                return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(x25519Private);
        }

        var encapsulator = new MLKemEncapsulator(Parameters);
        MLKemPublicKeyParameters publicKey = MLKemPublicKeyParameters.FromEncoding(Parameters, ek.ToArray());
        encapsulator.Init(mlKemRandomness.IsEmpty
            ? new ParametersWithRandom(publicKey, Random)
            : new ParametersWithRandom(publicKey, new SecureRandom(new FixedBytes(mlKemRandomness))));
        encapsulator.Encapsulate(serverShare[..CiphertextSize], sharedSecret[..MLKemSecretSize]);
        return true;
    }

    /// <summary>FIPS 203 §7.2 modulus check: every 12-bit coefficient of the three encoded polynomials is below q = 3329.</summary>
    internal static bool IsEncapsulationKeyCanonical(ReadOnlySpan<byte> ek)
    {
        if (ek.Length != EncapsulationKeySize)
            return false;
        ReadOnlySpan<byte> t = ek[..(3 * 384)]; // the last 32 bytes are the seed rho
        bool ok = true;
        for (int i = 0; i < t.Length; i += 3)
        {
            int c0 = t[i] | ((t[i + 1] & 0x0F) << 8);
            int c1 = (t[i + 1] >> 4) | (t[i + 2] << 4);
            ok &= c0 < 3329 & c1 < 3329;
        }
        return ok;
    }

    private sealed class HybridClientShare : ClientKeyShare
    {
        private readonly MLKemDecapsulator _decapsulator;
        private readonly ClientKeyShare _x25519;
        private readonly byte[] _share;

        private HybridClientShare(MLKemDecapsulator decapsulator, ClientKeyShare x25519, byte[] share)
        {
            _decapsulator = decapsulator;
            _x25519 = x25519;
            _share = share;
        }

        public static HybridClientShare Create(MLKemPrivateKeyParameters mlKem, ClientKeyShare x25519)
        {
            var decapsulator = new MLKemDecapsulator(Parameters);
            decapsulator.Init(mlKem);
            byte[] share = [.. mlKem.GetPublicKeyEncoded(), .. x25519.PublicShare];
            return new HybridClientShare(decapsulator, x25519, share);
        }

        public override NamedGroup Group => NamedGroup.X25519MLKEM768;
        public override ReadOnlySpan<byte> PublicShare => _share;

        public override bool TryComplete(ReadOnlySpan<byte> serverShare, Span<byte> sharedSecret)
        {
            EvpKeys.RequireLength(sharedSecret, MLKemSecretSize + X, nameof(sharedSecret));
            if (serverShare.Length != CiphertextSize + X)
                return false;
            if (!_x25519.TryComplete(serverShare[CiphertextSize..], sharedSecret.Slice(MLKemSecretSize, X)))
                return false;
            // ML-KEM decapsulation never fails: a wrong ciphertext yields an implicit-rejection secret (FIPS 203 §6.3).
            _decapsulator.Decapsulate(serverShare[..CiphertextSize], sharedSecret[..MLKemSecretSize]);
            return true;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _x25519.Dispose();
        }
    }

    /// <summary>An X25519 client share over an imported key (known-answer tests).</summary>
    private sealed class X25519PublicOnly(EvpPKeyHandle key, byte[] share) : ClientKeyShare
    {
        public override NamedGroup Group => NamedGroup.X25519;
        public override ReadOnlySpan<byte> PublicShare => share;

        public override bool TryComplete(ReadOnlySpan<byte> serverShare, Span<byte> sharedSecret)
        {
            using EvpPKeyHandle? peer = X25519KeyAgreement.TryImportPublic(serverShare);
            return peer is not null && X25519KeyAgreement.TryDerive(key, peer, sharedSecret);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                key.Dispose();
        }
    }

    /// <summary>Returns the given bytes, once: the ML-KEM encapsulation randomness m of a known-answer test.</summary>
    private sealed class FixedBytes(ReadOnlySpan<byte> bytes) : IRandomGenerator
    {
        private readonly byte[] _bytes = bytes.ToArray();
        private int _used;

        public void AddSeedMaterial(byte[] seed) { }
        public void AddSeedMaterial(ReadOnlySpan<byte> seed) { }
        public void AddSeedMaterial(long seed) { }
        public void NextBytes(byte[] bytes) => NextBytes(bytes.AsSpan());
        public void NextBytes(byte[] bytes, int start, int len) => NextBytes(bytes.AsSpan(start, len));

        public void NextBytes(Span<byte> bytes)
        {
            if (_used + bytes.Length > _bytes.Length)
                throw new InvalidOperationException("fixed randomness exhausted");
            _bytes.AsSpan(_used, bytes.Length).CopyTo(bytes);
            _used += bytes.Length;
        }
    }
}
