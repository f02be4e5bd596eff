using Bufferless.Crypto.Aead;

namespace Bufferless.Crypto.Tests;

public class RecordNonceTests
{
    [Fact]
    public void Compute_RecordNumber_XorsIntoLastEightBytes()
    {
        byte[] iv = Convert.FromHexString("5d313eb2671276ee13000b30");
        Span<byte> nonce = stackalloc byte[12];
        RecordNonce.Compute(iv, 0, nonce);
        Assert.Equal(iv, nonce.ToArray());
        RecordNonce.Compute(iv, 0x0102, nonce);
        Assert.Equal("5D313EB2671276EE13000A32", Convert.ToHexString(nonce));
    }
}
