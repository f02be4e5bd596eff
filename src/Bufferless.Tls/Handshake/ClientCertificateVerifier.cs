using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Bufferless.Tls;

/// <summary>
/// Client certificate checks for mTLS: the chain against the configured CA bundle (custom trust store only, no system
/// roots), validity at the handshake's time, key usage digitalSignature and EKU clientAuth, and the CertificateVerify
/// signature. Failures name the alert RFC 8446 §6.2 / RFC 5246 §7.2.2 give for them.
/// </summary>
internal static class ClientCertificateVerifier
{
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>Signature schemes offered in CertificateRequest (TLS 1.3).</summary>
    public static readonly ushort[] Tls13Schemes =
    [
        (ushort)TlsSignatureScheme.EcdsaSecp256r1Sha256, (ushort)TlsSignatureScheme.EcdsaSecp384r1Sha384,
        (ushort)TlsSignatureScheme.RsaPssRsaeSha256, (ushort)TlsSignatureScheme.RsaPssRsaeSha384, (ushort)TlsSignatureScheme.RsaPssRsaeSha512,
    ];

    /// <summary>
    /// TLS 1.2 CertificateRequest schemes: only those hashing with the suite's PRF hash, so the running transcript hash
    /// is the hash the client's CertificateVerify signs (no second transcript needed).
    /// </summary>
    public static ushort[] Tls12Schemes(HashAlgorithmName prfHash) => prfHash == HashAlgorithmName.SHA384
        ? [(ushort)TlsSignatureScheme.EcdsaSecp384r1Sha384, (ushort)TlsSignatureScheme.RsaPssRsaeSha384, (ushort)TlsSignatureScheme.RsaPkcs1Sha384]
        : [(ushort)TlsSignatureScheme.EcdsaSecp256r1Sha256, (ushort)TlsSignatureScheme.RsaPssRsaeSha256, (ushort)TlsSignatureScheme.RsaPkcs1Sha256];

    /// <summary>DER subject names of the trust anchors, for certificate_authorities.</summary>
    public static IReadOnlyList<byte[]> AuthorityNames(X509Certificate2Collection? authorities)
    {
        if (authorities is null)
            return [];
        var names = new List<byte[]>();
        foreach (X509Certificate2 ca in authorities)
            names.Add(ca.SubjectName.RawData);
        return names;
    }

    /// <summary>Verifies the chain (leaf first). On success returns the leaf (caller disposes); on failure the alert.</summary>
    public static X509Certificate2? Verify(IReadOnlyList<byte[]> chain, TlsServerConfig config, DateTimeOffset now, out TlsAlertDescription alert, out string reason)
    {
        alert = TlsAlertDescription.BadCertificate;
        reason = "client certificate cannot be parsed";
        var loaded = new List<X509Certificate2>();
        try
        {
            foreach (byte[] der in chain)
                loaded.Add(X509CertificateLoader.LoadCertificate(der));
        }
        catch (CryptographicException)
        {
            foreach (var c in loaded) c.Dispose();
            return null;
        }
        X509Certificate2 leaf = loaded[0];
        try
        {
            if (config.ClientCertificateAuthorities is not { Count: > 0 } roots)
            {
                alert = TlsAlertDescription.UnknownCa;
                reason = "no client certificate authorities configured";
                return null;
            }
            // Key usage, when present, must allow signatures (RFC 5280 §4.2.1.3); X509Chain does not check it.
            foreach (X509Extension extension in leaf.Extensions)
            {
                if (extension is X509KeyUsageExtension usage && (usage.KeyUsages & X509KeyUsageFlags.DigitalSignature) == 0)
                {
                    reason = "client certificate key usage lacks digitalSignature";
                    return null;
                }
            }
            using var x509Chain = new X509Chain();
            X509ChainPolicy policy = x509Chain.ChainPolicy;
            policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            policy.CustomTrustStore.AddRange(roots);
            policy.RevocationMode = config.ClientCertificateRevocation;
            policy.VerificationTime = now.UtcDateTime;
            policy.VerificationTimeIgnored = false;
            policy.ApplicationPolicy.Add(new Oid(ClientAuthOid));
            for (int i = 1; i < loaded.Count; i++)
                policy.ExtraStore.Add(loaded[i]);
            if (x509Chain.Build(leaf))
            {
                loaded.Remove(leaf);
                return leaf;
            }
            X509ChainStatusFlags flags = 0;
            foreach (X509ChainStatus status in x509Chain.ChainStatus)
                flags |= status.Status;
            (alert, reason) = flags switch
            {
                _ when (flags & X509ChainStatusFlags.NotTimeValid) != 0 => (TlsAlertDescription.CertificateExpired, "client certificate expired or not yet valid"),
                _ when (flags & X509ChainStatusFlags.Revoked) != 0 => (TlsAlertDescription.CertificateRevoked, "client certificate revoked"),
                _ when (flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0 => (TlsAlertDescription.UnknownCa, "client certificate not issued by a trusted CA"),
                _ when (flags & X509ChainStatusFlags.NotValidForUsage) != 0 => (TlsAlertDescription.BadCertificate, "client certificate not valid for clientAuth"),
                _ => (TlsAlertDescription.BadCertificate, "client certificate chain invalid: " + flags),
            };
            return null;
        }
        finally
        {
            // The leaf was removed from the list when it is returned; everything else is ours to dispose.
            foreach (var c in loaded)
                c.Dispose();
        }
    }

    /// <summary>Verifies a signature over <paramref name="data"/> (TLS 1.3: curve must match the scheme).</summary>
    public static bool VerifyData(X509Certificate2 leaf, TlsSignatureScheme scheme, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        using RSA? rsa = leaf.GetRSAPublicKey();
        using ECDsa? ec = rsa is null ? leaf.GetECDsaPublicKey() : null;
        return scheme switch
        {
            TlsSignatureScheme.RsaPssRsaeSha256 => rsa?.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss) == true,
            TlsSignatureScheme.RsaPssRsaeSha384 => rsa?.VerifyData(data, signature, HashAlgorithmName.SHA384, RSASignaturePadding.Pss) == true,
            TlsSignatureScheme.RsaPssRsaeSha512 => rsa?.VerifyData(data, signature, HashAlgorithmName.SHA512, RSASignaturePadding.Pss) == true,
            TlsSignatureScheme.EcdsaSecp256r1Sha256 => ec is { KeySize: 256 } && ec.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence),
            TlsSignatureScheme.EcdsaSecp384r1Sha384 => ec is { KeySize: 384 } && ec.VerifyData(data, signature, HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence),
            _ => false,
        };
    }

    /// <summary>Verifies a TLS 1.2 CertificateVerify signature given the transcript hash (RFC 5246 §7.4.8; any ECDSA curve).</summary>
    public static bool VerifyHash(X509Certificate2 leaf, TlsSignatureScheme scheme, ReadOnlySpan<byte> hash, ReadOnlySpan<byte> signature)
    {
        using RSA? rsa = leaf.GetRSAPublicKey();
        using ECDsa? ec = rsa is null ? leaf.GetECDsaPublicKey() : null;
        return scheme switch
        {
            TlsSignatureScheme.RsaPssRsaeSha256 => rsa?.VerifyHash(hash, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss) == true,
            TlsSignatureScheme.RsaPssRsaeSha384 => rsa?.VerifyHash(hash, signature, HashAlgorithmName.SHA384, RSASignaturePadding.Pss) == true,
            TlsSignatureScheme.RsaPkcs1Sha256 => rsa?.VerifyHash(hash, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1) == true,
            TlsSignatureScheme.RsaPkcs1Sha384 => rsa?.VerifyHash(hash, signature, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1) == true,
            TlsSignatureScheme.EcdsaSecp256r1Sha256 or TlsSignatureScheme.EcdsaSecp384r1Sha384 =>
                ec is not null && ec.VerifyHash(hash, signature, DSASignatureFormat.Rfc3279DerSequence),
            _ => false,
        };
    }
}
