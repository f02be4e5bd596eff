using System.Security.Cryptography;
using Bufferless.Crypto.Interop;

namespace Bufferless.Crypto.KeyExchange;

/// <summary>
/// ECDH over secp256r1 / secp384r1 through libcrypto. Shares are uncompressed points 0x04 || X || Y
/// (RFC 8446 §4.2.8.2); the shared secret is the X coordinate, left-padded to the field size (RFC 8446 §7.4.2).
/// </summary>
internal sealed unsafe class EcdhKeyAgreement : KeyAgreement
{
    public static readonly EcdhKeyAgreement P256 = new(NamedGroup.Secp256r1, "P-256", 32, 0, ECCurve.NamedCurves.nistP256);
    public static readonly EcdhKeyAgreement P384 = new(NamedGroup.Secp384r1, "P-384", 48, 1, ECCurve.NamedCurves.nistP384);

    // Per thread and per curve (index _slot): an initialised keygen context for the curve, and one "EC" import
    // context shared by both curves (the group travels in the import parameters).
    [ThreadStatic] private static EvpPKeyCtxHandle?[]? t_keygen;
    [ThreadStatic] private static EvpPKeyCtxHandle? t_import;
    // Per thread and per curve: a public key on the curve, duplicated for every peer import (see TryImportPublic).
    [ThreadStatic] private static EvpPKeyHandle?[]? t_peerTemplate;

    private readonly NamedGroup _group;
    private readonly byte[] _groupNameZ; // NUL-terminated, for OSSL_PARAM
    private readonly string _groupName;
    private readonly int _coordinateSize;
    private readonly int _slot;
    private readonly ECCurve _curve;

    private EcdhKeyAgreement(NamedGroup group, string groupName, int coordinateSize, int slot, ECCurve curve)
    {
        _group = group;
        _groupName = groupName;
        _groupNameZ = [.. System.Text.Encoding.ASCII.GetBytes(groupName), 0];
        _coordinateSize = coordinateSize;
        _slot = slot;
        _curve = curve;
    }

    public override NamedGroup Group => _group;
    public override int ClientShareLength => 1 + 2 * _coordinateSize;
    public override int ServerShareLength => 1 + 2 * _coordinateSize;
    public override int SharedSecretLength => _coordinateSize;

    public override bool TryServerRespond(ReadOnlySpan<byte> clientShare, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        EvpKeys.RequireLength(serverShare, ServerShareLength, nameof(serverShare));
        EvpKeys.RequireLength(sharedSecret, SharedSecretLength, nameof(sharedSecret));
        using EvpPKeyHandle? peer = TryImportPublic(clientShare);
        if (peer is null)
            return false;
        using EvpPKeyHandle key = EvpKeys.Generate(KeygenContext());
        return TryFinish(key, peer, serverShare, sharedSecret);
    }

    public override bool TryServerRespond(ReadOnlySpan<byte> clientShare, ReadOnlySpan<byte> serverPrivateKey, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        EvpKeys.RequireLength(serverShare, ServerShareLength, nameof(serverShare));
        EvpKeys.RequireLength(sharedSecret, SharedSecretLength, nameof(sharedSecret));
        using EvpPKeyHandle key = ImportPrivate(serverPrivateKey);
        using EvpPKeyHandle? peer = TryImportPublic(clientShare);
        if (peer is null)
            return false;
        return TryFinish(key, peer, serverShare, sharedSecret);
    }

    public override ClientKeyShare CreateClientShare()
    {
        EvpPKeyHandle key = EvpKeys.Generate(KeygenContext());
        var share = new byte[ServerShareLength];
        WritePublic(key, share);
        return new EcdhClientShare(this, key, share);
    }

    private EvpPKeyCtxHandle KeygenContext()
    {
        EvpPKeyCtxHandle?[] slots = t_keygen ??= new EvpPKeyCtxHandle?[2];
        return slots[_slot] ??= EvpKeys.NewKeygenContext("EC", _groupName);
    }

    /// <summary>
    /// Imports a peer share. RFC 8446 §4.2.8.2: only the uncompressed form of the right length is legal; the
    /// point must be on the curve with coordinates below p (SP 800-56A partial validation, enough for these
    /// prime-order curves). libcrypto's point decoding does exactly that check (EC_POINT_oct2point refuses a
    /// coordinate >= p, and setting the affine coordinates refuses an off-curve point; infinity has no 65/97-byte
    /// form), so no separate EVP_PKEY_public_check_quick runs. The Wycheproof ecpoint vectors and the off-curve
    /// tests pin this behaviour.
    /// Cost: EVP_PKEY_fromdata builds a new EC_GROUP for every key (Montgomery set-up with modular inversions,
    /// ~15 µs for P-256 on OpenSSL 3.0); duplicating a per-thread public key of the curve and setting its
    /// "encoded-pub-key" copies the group instead (~5 µs) and decodes the point with the same checks.
    /// </summary>
    internal EvpPKeyHandle? TryImportPublic(ReadOnlySpan<byte> share)
    {
        if (share.Length != ClientShareLength || share[0] != 0x04)
            return null;
        EvpPKeyHandle peer = LibCrypto.EVP_PKEY_dup(PeerTemplate());
        fixed (byte* p = share)
        {
            if (!peer.IsInvalid && LibCrypto.EVP_PKEY_set1_encoded_public_key(peer, p, (nuint)share.Length) == 1)
                return peer;
        }
        peer.Dispose();
        LibCrypto.ClearErrors();
        return null;
    }

    private EvpPKeyHandle PeerTemplate()
    {
        EvpPKeyHandle?[] slots = t_peerTemplate ??= new EvpPKeyHandle?[2];
        if (slots[_slot] is { } template)
            return template;
        // Any public key of the curve will do: take a fresh one's public half (no private key in the template).
        using EvpPKeyHandle key = EvpKeys.Generate(KeygenContext());
        Span<byte> point = stackalloc byte[ClientShareLength];
        WritePublic(key, point);
        return slots[_slot] = FromData(point, ReadOnlySpan<byte>.Empty, LibCrypto.EVP_PKEY_PUBLIC_KEY)
            ?? throw new CryptographicException($"cannot set up {_groupName} public key import in libcrypto");
    }

    /// <summary>Imports a big-endian private scalar (for known-answer tests); the public point is computed by the platform.</summary>
    internal EvpPKeyHandle ImportPrivate(ReadOnlySpan<byte> scalar)
    {
        if (scalar.Length != _coordinateSize)
            throw new ArgumentException($"a {_groupName} private key is {_coordinateSize} bytes", nameof(scalar));
        ECParameters parameters = default;
        try
        {
            using (var ecdh = ECDiffieHellman.Create(new ECParameters { Curve = _curve, D = scalar.ToArray() }))
                parameters = ecdh.ExportParameters(includePrivateParameters: true);
            Span<byte> point = stackalloc byte[ClientShareLength];
            point[0] = 0x04;
            parameters.Q.X.CopyTo(point[1..]);
            parameters.Q.Y.CopyTo(point[(1 + _coordinateSize)..]);
            return FromData(point, scalar, LibCrypto.EVP_PKEY_KEYPAIR)
                ?? throw new CryptographicException("libcrypto refused the private key");
        }
        finally
        {
            if (parameters.D is not null)
                CryptographicOperations.ZeroMemory(parameters.D);
        }
    }

    private EvpPKeyHandle? FromData(ReadOnlySpan<byte> point, ReadOnlySpan<byte> bigEndianScalar, int selection)
    {
        // OSSL_PARAM unsigned integers are native-endian (little-endian here).
        Span<byte> scalarLe = stackalloc byte[bigEndianScalar.Length];
        for (int i = 0; i < scalarLe.Length; i++)
            scalarLe[i] = bigEndianScalar[bigEndianScalar.Length - 1 - i];
        try
        {
            fixed (byte* groupKeyZ = "group\0"u8)
            fixed (byte* pubKeyZ = "pub\0"u8)
            fixed (byte* privKeyZ = "priv\0"u8)
            fixed (byte* groupName = _groupNameZ)
            fixed (byte* pub = point)
            fixed (byte* priv = scalarLe)
            {
                OsslParam* parameters = stackalloc OsslParam[4];
                parameters[0] = OsslParam.Create(groupKeyZ, OsslParam.Utf8String, groupName, (nuint)(_groupNameZ.Length - 1));
                parameters[1] = OsslParam.Create(pubKeyZ, OsslParam.OctetString, pub, (nuint)point.Length);
                parameters[2] = scalarLe.IsEmpty ? OsslParam.End : OsslParam.Create(privKeyZ, OsslParam.UnsignedInteger, priv, (nuint)scalarLe.Length);
                parameters[3] = OsslParam.End;
                return EvpKeys.FromData(t_import ??= EvpKeys.NewFromDataContext("EC"), selection, parameters);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scalarLe);
        }
    }

    private void WritePublic(EvpPKeyHandle key, Span<byte> share)
    {
        nuint len = 0;
        fixed (byte* p = share)
        {
            // The provider's default point format for "encoded-pub-key" is uncompressed.
            if (LibCrypto.EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", p, (nuint)ServerShareLength, &len) != 1
                || len != (nuint)ServerShareLength || share[0] != 0x04)
            {
                LibCrypto.ClearErrors();
                throw new CryptographicException("cannot encode the EC public key");
            }
        }
    }

    private bool TryFinish(EvpPKeyHandle key, EvpPKeyHandle peer, Span<byte> serverShare, Span<byte> sharedSecret)
    {
        if (!EvpKeys.TryDerive(key, peer, sharedSecret[.._coordinateSize]))
            return false;
        WritePublic(key, serverShare);
        return true;
    }

    private sealed class EcdhClientShare(EcdhKeyAgreement owner, EvpPKeyHandle key, byte[] share) : ClientKeyShare
    {
        public override NamedGroup Group => owner._group;
        public override ReadOnlySpan<byte> PublicShare => share;

        public override bool TryComplete(ReadOnlySpan<byte> serverShare, Span<byte> sharedSecret)
        {
            EvpKeys.RequireLength(sharedSecret, owner.SharedSecretLength, nameof(sharedSecret));
            ObjectDisposedException.ThrowIf(key.IsClosed, this);
            using EvpPKeyHandle? peer = owner.TryImportPublic(serverShare);
            return peer is not null && EvpKeys.TryDerive(key, peer, sharedSecret[..owner._coordinateSize]);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                key.Dispose();
        }
    }
}
