using System.Buffers.Binary;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Wire;

public class ChecksumTests
{
    [Fact]
    public void Sum_Rfc1071Example_IsDdf2()
    {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2 (checksum 0x220d).
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Assert.Equal(0xddf2, Checksum.Fold(Checksum.Sum(data)));
        Assert.Equal(0x220d, Checksum.Compute(data));
    }

    [Fact]
    public void Sum_OddLength_PadsLastByteAsHighByte()
    {
        Assert.Equal(0xAB00, Checksum.Fold(Checksum.Sum([0xAB])));
        Assert.Equal(0x0102 + 0x0300, Checksum.Fold(Checksum.Sum([0x01, 0x02, 0x03])));
    }

    [Fact]
    public void Compute_CapturedIpv4Header_MatchesField()
    {
        byte[] p = Captures.Ipv4Syn;
        ushort field = BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(10));
        p[10] = p[11] = 0;
        Assert.Equal(field, Checksum.Compute(p.AsSpan(0, 20)));
    }

    [Fact]
    public void VectorPaths_RandomBuffers_AgreeWithScalarAndReference()
    {
        var rng = new Random(1071);
        var buf = new byte[4200];
        rng.NextBytes(buf);
        for (int len = 0; len <= 300; len++)
            AssertAllPathsAgree(buf.AsSpan(len % 7, len));
        for (int i = 0; i < 200; i++)
        {
            int off = rng.Next(0, 64), len = rng.Next(0, buf.Length - 64);
            AssertAllPathsAgree(buf.AsSpan(off, len));
        }
        buf.AsSpan().Fill(0xFF); // worst case for carries
        AssertAllPathsAgree(buf);
    }

    private static void AssertAllPathsAgree(ReadOnlySpan<byte> data)
    {
        ushort reference = ReferenceSum(data);
        ulong s = Checksum.SumScalar(data), v128 = Checksum.SumVector128(data), v256 = Checksum.SumVector256(data);
        Assert.Equal(reference, Swap(s));
        Assert.Equal(reference, Swap(v128));
        Assert.Equal(reference, Swap(v256));
        Assert.Equal(reference, Checksum.Fold(Checksum.Sum(data)));
    }

    // Plain big-endian 16-bit word sum, the RFC 1071 definition, independent of the code under test.
    private static ushort ReferenceSum(ReadOnlySpan<byte> data)
    {
        uint s = 0;
        for (int i = 0; i < data.Length; i += 2)
        {
            s += (uint)(data[i] << 8) + (i + 1 < data.Length ? data[i + 1] : 0u);
            s = (s & 0xFFFF) + (s >> 16);
        }
        return (ushort)s;
    }

    private static ushort Swap(ulong le)
    {
        while (le >> 16 != 0) le = (le & 0xFFFF) + (le >> 16);
        return BinaryPrimitives.ReverseEndianness((ushort)le);
    }

    [Fact]
    public void Update_Rfc1624Example_GivesZeroNotFfff()
    {
        // RFC 1624 §4: HC = 0xDD2F, m = 0x5555 -> m' = 0x3285; eqn. 3 gives 0x0000 (eqn. 2 wrongly 0xFFFF).
        Assert.Equal(0x0000, Checksum.Update(0xDD2F, 0x5555, 0x3285));
    }

    [Fact]
    public void Update_RandomFieldChanges_MatchRecompute()
    {
        var rng = new Random(1624);
        var header = new byte[20];
        for (int i = 0; i < 2000; i++)
        {
            rng.NextBytes(header);
            header[10] = header[11] = 0;
            ushort hc = Checksum.Compute(header);
            int at = rng.Next(0, 5) * 4; // 32-bit fields on word boundaries, skipping the checksum word
            if (at == 8) at = 12;
            uint oldValue = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(at)), newValue = (uint)rng.Next() ^ (uint)rng.Next() << 1;
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(at), newValue);
            ushort expected = Checksum.Compute(header);
            Assert.Equal(OnesZero(expected), OnesZero(Checksum.Update32(hc, oldValue, newValue)));
            ushort old16 = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(at));
            ushort new16 = (ushort)rng.Next();
            ushort before = Checksum.Compute(header);
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(at), new16);
            Assert.Equal(OnesZero(Checksum.Compute(header)), OnesZero(Checksum.Update(before, old16, new16)));
        }
    }

    // 0x0000 and 0xFFFF are the two one's complement zeros; a receiver accepts either.
    private static ushort OnesZero(ushort v) => v == 0xFFFF ? (ushort)0 : v;

    [Fact]
    public void PseudoHeaderV4_CapturedSyn_Verifies()
    {
        byte[] p = Captures.Ipv4Syn;
        uint pseudo = Checksum.PseudoHeaderV4(Captures.V4Client, Captures.V4Server, IpProtocol.Tcp, p.Length - 20);
        Assert.Equal(0xFFFF, Checksum.Fold(Checksum.Sum(p.AsSpan(20), pseudo)));
        p[^1] ^= 1;
        Assert.NotEqual(0xFFFF, Checksum.Fold(Checksum.Sum(p.AsSpan(20), pseudo)));
    }

    [Fact]
    public void PseudoHeaderV6_CapturedData_VerifiesWithSpanAndNumericAddresses()
    {
        byte[] p = Captures.Ipv6Data;
        uint a = Checksum.PseudoHeaderV6(p.AsSpan(8, 16), p.AsSpan(24, 16), IpProtocol.Tcp, p.Length - 40);
        uint b = Checksum.PseudoHeaderV6(Captures.V6Client, Captures.V6Server, IpProtocol.Tcp, p.Length - 40);
        Assert.Equal(Checksum.Fold(a), Checksum.Fold(b));
        Assert.Equal(0xFFFF, Checksum.Fold(Checksum.Sum(p.AsSpan(40), a)));
    }
}
