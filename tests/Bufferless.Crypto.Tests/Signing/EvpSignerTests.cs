using System.Security.Cryptography;
using Bufferless.Crypto.Signing;

namespace Bufferless.Crypto.Tests.Signing;

public class EvpSignerTests
{
    private static readonly byte[] Message = "TLS 1.3, server CertificateVerify\0 signed content"u8.ToArray();

    public static TheoryData<string, string> EcdsaCases => new()
    {
        { "P256", "SHA256" }, { "P256", "SHA384" }, { "P256", "SHA512" },
        { "P384", "SHA384" }, { "P384", "SHA256" },
    };

    private static ECCurve Curve(string name) => name == "P256" ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384;

    [Theory]
    [MemberData(nameof(EcdsaCases))]
    public void Sign_Ecdsa_VerifiesWithDotNetAsDer(string curve, string hash)
    {
        using var ec = ECDsa.Create(Curve(curve));
        using EvpSigner signer = EvpSigner.TryCreate(ec) ?? throw new InvalidOperationException("no signer");
        var name = new HashAlgorithmName(hash);

        byte[] signature = signer.Sign(name, Message);

        Assert.False(signer.IsRsa);
        Assert.Equal(0x30, signature[0]); // DER SEQUENCE, RFC 8446 §4.2.3
        Assert.True(signature.Length <= signer.MaxSignatureSize);
        Assert.True(ec.VerifyData(Message, signature, name, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void Sign_Ecdsa_TamperedMessageOrSignature_DoesNotVerify()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using EvpSigner signer = EvpSigner.TryCreate(ec)!;
        byte[] signature = signer.Sign(HashAlgorithmName.SHA256, Message);

        byte[] otherMessage = (byte[])Message.Clone();
        otherMessage[^1] ^= 1;
        byte[] otherSignature = (byte[])signature.Clone();
        otherSignature[^1] ^= 1;

        Assert.False(ec.VerifyData(otherMessage, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        Assert.False(ec.VerifyData(Message, otherSignature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void Sign_EcdsaOtherKey_DoesNotVerify()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using EvpSigner signer = EvpSigner.TryCreate(ec)!;

        byte[] signature = signer.Sign(HashAlgorithmName.SHA256, Message);

        Assert.False(other.VerifyData(Message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void Sign_Ecdsa_IsRandomized()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using EvpSigner signer = EvpSigner.TryCreate(ec)!;

        Assert.NotEqual(signer.Sign(HashAlgorithmName.SHA256, Message), signer.Sign(HashAlgorithmName.SHA256, Message));
    }

    [Theory]
    [InlineData("SHA256")]
    [InlineData("SHA384")]
    [InlineData("SHA512")]
    public void Sign_Rsa_VerifiesAsPssWithDigestLengthSalt(string hash)
    {
        using var rsa = RSA.Create(2048);
        using EvpSigner signer = EvpSigner.TryCreate(rsa) ?? throw new InvalidOperationException("no signer");
        var name = new HashAlgorithmName(hash);

        byte[] signature = signer.Sign(name, Message);

        Assert.True(signer.IsRsa);
        Assert.Equal(256, signature.Length);
        // .NET's PSS verification requires MGF1 over the same hash and a salt as long as the digest (RFC 8446 §4.2.3).
        Assert.True(rsa.VerifyData(Message, signature, name, RSASignaturePadding.Pss));
        Assert.False(rsa.VerifyData(Message, signature, name, RSASignaturePadding.Pkcs1));
        byte[] otherMessage = (byte[])Message.Clone();
        otherMessage[0] ^= 0x80;
        Assert.False(rsa.VerifyData(otherMessage, signature, name, RSASignaturePadding.Pss));
    }

    [Fact]
    public void Sign_UnsupportedHash_Throws()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using EvpSigner signer = EvpSigner.TryCreate(ec)!;

        Assert.Throws<ArgumentException>(() => signer.Sign(HashAlgorithmName.SHA1, Message));
    }

    [Fact]
    public void TryCreate_OtherKeyType_ReturnsNull()
    {
        using var dh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

        Assert.Null(EvpSigner.TryCreate(dh));
    }

    [Fact]
    public void TryCreate_PublicKeyOnly_ReturnsNull()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var publicOnly = ECDsa.Create(ec.ExportParameters(includePrivateParameters: false));

        Assert.Null(EvpSigner.TryCreate(publicOnly));
    }

    [Fact]
    public void Sign_ManyThreads_AllVerify()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using EvpSigner signer = EvpSigner.TryCreate(ec)!;
        int failures = 0;

        Parallel.For(0, 200, _ =>
        {
            byte[] signature = signer.Sign(HashAlgorithmName.SHA256, Message);
            if (!ec.VerifyData(Message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))
                Interlocked.Increment(ref failures);
        });

        Assert.Equal(0, failures);
    }

    [Fact]
    public void Sign_AfterDispose_Throws()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        EvpSigner signer = EvpSigner.TryCreate(ec)!;
        signer.Dispose();

        Assert.Throws<ObjectDisposedException>(() => signer.Sign(HashAlgorithmName.SHA256, Message));
    }
}
