using System.Buffers.Binary;
using Bufferless.Packets.Offload;
using Bufferless.Packets.Wire;

namespace Bufferless.Packets.Tests.Offload;

/// <summary>Splitting TUN GSO super-packets and coalescing engine output back into them, as pure functions over bytes.</summary>
public class GsoOffloadTests
{
    private static readonly UInt128 V4Client = 0xC6120102, V4Server = 0xC6120202;
    private static readonly UInt128 V6Client = UInt128.Parse("20010002000100000000000000000002", System.Globalization.NumberStyles.HexNumber);
    private static readonly UInt128 V6Server = UInt128.Parse("20010002000200000000000000000002", System.Globalization.NumberStyles.HexNumber);
    private static readonly byte[] Timestamps = [1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78];

    private static byte[] Payload(int length, int salt = 0)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte)(i * 7 + salt);
        return b;
    }

    private static TcpPacketSpec Spec(bool v6, uint seq, TcpFlags flags, ushort id = 100) =>
        new(v6, v6 ? V6Server : V4Server, v6 ? V6Client : V4Client, 80, 40000, new SeqNumber(seq), new SeqNumber(5000), flags, 502)
        { IpIdentification = id };

    private static byte[] Packet(in TcpPacketSpec spec, ReadOnlySpan<byte> payload, byte[]? options = null)
    {
        var buf = new byte[70000];
        int n = TcpPacketWriter.Write(buf, spec, options ?? Timestamps, payload);
        Assert.True(n > 0);
        return buf[..n];
    }

    /// <summary>A super-packet the way the kernel hands it over: one header, all payload, partial TCP checksum.</summary>
    private static (VirtioNetHeader Header, byte[] Packet) Super(bool v6, uint seq, TcpFlags flags, int payload, int mss)
    {
        byte[] p = Packet(Spec(v6, seq, flags), Payload(payload));
        Assert.Equal(TcpPacketStatus.Tcp, TcpPacket.TryParse(p, out var tcp));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(tcp.TcpOffset + 16), Checksum.Fold(tcp.PseudoHeaderSum()));
        var h = new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, v6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4,
            (ushort)tcp.PayloadOffset, (ushort)mss, (ushort)tcp.TcpOffset, 16);
        return (h, p);
    }

    private static List<byte[]> Split(VirtioNetHeader h, byte[] super)
    {
        Assert.True(GsoSplitter.TryCreate(super, h, out var splitter));
        var segments = new List<byte[]>();
        var buf = new byte[65535];
        while (splitter.TryNext(buf, out int n)) segments.Add(buf[..n]);
        return segments;
    }

    private static void AssertValid(byte[] packet)
    {
        Assert.Equal(TcpPacketStatus.Tcp, TcpPacket.TryParse(packet, out var p));
        Assert.True(p.VerifyChecksum(), "TCP checksum");
        if (!p.IsIpv6) Assert.Equal(0xFFFF, Checksum.Fold(Checksum.Sum(packet.AsSpan(0, p.TcpOffset))));
    }

    /// <summary>
    /// A TCP packet written alone: NEEDS_CSUM without GSO, the pseudo-header sum in the field. Returns the packet as
    /// the kernel completes it (csum_start/csum_offset), which must be a valid packet.
    /// </summary>
    internal static byte[] CompletedSingle(byte[] written)
    {
        Assert.True(VirtioNetHeader.TryRead(written, out var h));
        byte[] packet = written[VirtioNetHeader.Size..];
        Assert.Equal(TcpPacketStatus.Tcp, TcpPacket.TryParse(packet, out var p));
        Assert.Equal(new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoNone, 0, 0, (ushort)p.TcpOffset, 16), h);
        Assert.Equal(Checksum.Fold(p.PseudoHeaderSum()), BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(p.TcpOffset + 16)));
        Assert.True(GsoSplitter.TryCompleteChecksum(packet, h));
        AssertValid(packet);
        return packet;
    }

    /// <summary>Cuts a super-packet in place, as the packet loop does: each segment copied out as it is given.</summary>
    private static List<byte[]> SplitInPlace(VirtioNetHeader h, byte[] super)
    {
        byte[] work = (byte[])super.Clone();
        Assert.True(GsoSplitter.TryCreateInPlace(work, h, new byte[256], out var splitter));
        var segments = new List<byte[]>();
        while (splitter.TryNextInPlace(out int offset, out int length)) segments.Add(work.AsSpan(offset, length).ToArray());
        return segments;
    }

    /// <summary>
    /// A segment cut in place, completed the way the sink and the kernel would: the IPv4 header checksum (left zero)
    /// filled, the partial TCP checksum (pseudo-header sum) finished.
    /// </summary>
    private static byte[] CompletePartial(byte[] segment)
    {
        byte[] p = (byte[])segment.Clone();
        Assert.Equal(TcpPacketStatus.Tcp, TcpPacket.TryParse(p, out var tcp));
        if (!tcp.IsIpv6)
        {
            Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(10)));
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Checksum.Compute(p.AsSpan(0, tcp.TcpOffset)));
        }
        Assert.Equal(Checksum.Fold(tcp.PseudoHeaderSum()), BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(tcp.TcpOffset + 16)));
        Assert.True(GsoSplitter.TryCompleteChecksum(p, new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, 0, 0, 0, (ushort)tcp.TcpOffset, 16)));
        return p;
    }

    [Theory]
    [InlineData(false, 3 * 1000 + 123)]
    [InlineData(true, 3 * 1000 + 123)]
    [InlineData(false, 4000)]
    [InlineData(true, 600)]
    [InlineData(false, 0)]
    public void SplitInPlace_SuperPacket_SameSegmentsAsCopyingSplitWithPartialChecksums(bool v6, int payload)
    {
        var (h, super) = Super(v6, seq: 0xFFFF_FF00, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Cwr, payload, 1000);

        var copied = Split(h, super);
        var inPlace = SplitInPlace(h, super);

        Assert.Equal(copied.Count, inPlace.Count);
        for (int i = 0; i < copied.Count; i++)
        {
            Assert.Equal(copied[i].Length, inPlace[i].Length);
            byte[] completed = CompletePartial(inPlace[i]);
            AssertValid(completed);
            Assert.Equal(copied[i], completed);
        }
    }

    [Fact]
    public void SplitInPlace_HeadersLongerThanTemplate_Refused()
    {
        var (h, super) = Super(false, 1, TcpFlags.Ack, 3000, 1000);

        Assert.False(GsoSplitter.TryCreateInPlace(super, h, new byte[20], out _));
        Assert.True(GsoSplitter.TryCreateInPlace(super, h, new byte[52], out _));
    }

    [Fact]
    public void SplitInPlaceThenCoalesce_SteadyState_SameSuperPacketBackAndNothingAllocated()
    {
        var (h, super) = Super(false, 1, TcpFlags.Ack | TcpFlags.Psh, 40000, 1448);
        byte[] work = new byte[super.Length], template = new byte[256];
        var coalescer = new GsoCoalescer();
        byte[] last = [];
        void Once()
        {
            super.CopyTo(work, 0);
            Assert.True(GsoSplitter.TryCreateInPlace(work, h, template, out var splitter));
            while (splitter.TryNextInPlace(out int offset, out int n)) Assert.True(coalescer.TryAdd(work.AsSpan(offset, n)));
            coalescer.Finish();
        }
        Once();
        super.CopyTo(work, 0);
        Assert.True(GsoSplitter.TryCreateInPlace(work, h, template, out var s1));
        while (s1.TryNextInPlace(out int o1, out int n1)) Assert.True(coalescer.TryAdd(work.AsSpan(o1, n1)));
        last = coalescer.Finish().ToArray();
        Assert.Equal(super, last[VirtioNetHeader.Size..]);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) Once();

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Split_SuperPacketWithOddTail_MssSegmentsWithFullChecksums(bool v6)
    {
        const int mss = 1000, payload = 3 * mss + 123;
        var (h, super) = Super(v6, seq: 0xFFFF_FF00, TcpFlags.Ack, payload, mss); // the sequence number wraps
        byte[] all = Payload(payload);

        var segments = Split(h, super);

        Assert.Equal([mss, mss, mss, 123], segments.Select(s => { TcpPacket.TryParse(s, out var p); return p.Length - p.PayloadOffset; }));
        for (int i = 0; i < segments.Count; i++)
        {
            AssertValid(segments[i]);
            TcpPacket.TryParse(segments[i], out var p);
            Assert.Equal(0xFFFF_FF00u + (uint)(i * mss), p.Tcp.SequenceNumber.Value);
            Assert.True(segments[i].AsSpan(p.PayloadOffset).SequenceEqual(all.AsSpan(i * mss, p.Length - p.PayloadOffset)));
            Assert.True(p.Tcp.Options.SequenceEqual(Timestamps));
            if (!v6) Assert.Equal(100 + i, p.Ip4.Identification);
            else Assert.Equal(p.Length - Ipv6Packet.HeaderLength, p.Ip6.PayloadLength);
        }
    }

    [Fact]
    public void Split_FinPshCwr_FinPshOnlyOnLastCwrOnlyOnFirst()
    {
        var (h, super) = Super(false, 1, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr, 2500, 1000);

        var flags = Split(h, super).Select(s => { TcpPacket.TryParse(s, out var p); return p.Tcp.Flags; }).ToArray();

        Assert.Equal([TcpFlags.Ack | TcpFlags.Cwr, TcpFlags.Ack, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin], flags);
    }

    [Fact]
    public void Split_PayloadNotAboveGsoSize_OneSegmentWithFullChecksum()
    {
        var (h, super) = Super(true, 7, TcpFlags.Ack | TcpFlags.Psh, 600, 1000);

        var segments = Split(h, super);

        Assert.Single(segments);
        AssertValid(segments[0]);
        Assert.Equal(super.Length, segments[0].Length);
    }

    [Theory]
    [InlineData("truncated-tcp")]
    [InlineData("wrong-version")]
    [InlineData("zero-gso-size")]
    [InlineData("csum-start-not-ihl")]
    [InlineData("udp-gso")]
    public void TryCreate_Malformed_Rejected(string fault)
    {
        var (h, super) = Super(false, 1, TcpFlags.Ack, 3000, 1000);
        switch (fault)
        {
            case "truncated-tcp": super = super[..30]; break;
            case "wrong-version": super[0] = 0x65; break;
            case "zero-gso-size": h = h with { GsoSize = 0 }; break;
            case "csum-start-not-ihl": h = h with { CsumStart = 24 }; break;
            case "udp-gso": h = h with { GsoType = VirtioNetHeader.GsoUdpL4 }; break;
        }

        Assert.False(GsoSplitter.TryCreate(super, h, out _));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CompleteChecksum_PartialSumInField_FullChecksum(bool v6)
    {
        var (h, p) = Super(v6, 9, TcpFlags.Ack, 333, 1000);
        Assert.Equal(TcpPacketStatus.Tcp, TcpPacket.TryParse(p, out var before));
        Assert.False(before.VerifyChecksum());

        Assert.True(GsoSplitter.TryCompleteChecksum(p, h with { GsoType = VirtioNetHeader.GsoNone }));

        AssertValid(p);
    }

    [Theory]
    [InlineData(false, 4321)]
    [InlineData(true, 4321)]
    [InlineData(false, 4000)]
    [InlineData(true, 1)]
    public void SplitThenCoalesce_SuperPacket_SameBytesAndHeaderBack(bool v6, int payload)
    {
        var (h, super) = Super(v6, 0x7000_0000, TcpFlags.Ack | TcpFlags.Psh, payload, 1000);
        var coalescer = new GsoCoalescer();

        foreach (var s in Split(h, super)) Assert.True(coalescer.TryAdd(s));
        byte[] written = coalescer.Finish().ToArray();

        Assert.True(VirtioNetHeader.TryRead(written, out var back));
        byte[] packet = written[VirtioNetHeader.Size..];
        if (payload <= 1000)
        {
            // One segment goes out alone, no GSO, the kernel to complete its checksum.
            Assert.Equal(Split(h, super)[0], CompletedSingle(written));
            return;
        }
        Assert.Equal(h, back);
        Assert.Equal(super, packet);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CoalesceThenSplit_EngineOutput_KernelSegmentationGivesTheSamePackets(bool v6)
    {
        // The engine's output for one flow: records of 1448 bytes, a shorter last one with PSH.
        var packets = new List<byte[]>();
        uint seq = 1_000_000;
        int[] sizes = [1448, 1448, 1448, 1448, 700];
        for (int i = 0; i < sizes.Length; i++)
        {
            var flags = TcpFlags.Ack | (i == sizes.Length - 1 ? TcpFlags.Psh : 0);
            packets.Add(Packet(Spec(v6, seq, flags, (ushort)(100 + i)), Payload(sizes[i], i)));
            seq += (uint)sizes[i];
        }
        var coalescer = new GsoCoalescer();
        foreach (var p in packets) Assert.True(coalescer.TryAdd(p));
        Assert.Equal(5, coalescer.Count);

        byte[] written = coalescer.Finish().ToArray();
        Assert.True(VirtioNetHeader.TryRead(written, out var h));
        Assert.Equal(VirtioNetHeader.FlagNeedsCsum, h.Flags);
        Assert.Equal(v6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4, h.GsoType);
        Assert.Equal(1448, h.GsoSize);
        Assert.Equal(16, h.CsumOffset);
        Assert.Equal((v6 ? 40 : 20) + 32, h.HeaderLength);
        Assert.Equal(0, coalescer.Count);

        var again = Split(h, written[VirtioNetHeader.Size..]);
        Assert.Equal(packets.Count, again.Count);
        for (int i = 0; i < packets.Count; i++) Assert.Equal(packets[i], again[i]);
    }

    public static TheoryData<string> Breakers => new()
    {
        "other-port", "other-ack", "other-window", "other-options", "gap-in-seq", "syn", "fin", "rst", "urg",
        "cwr-on-second", "longer-than-first", "after-short", "other-ttl", "other-family", "udp", "no-payload",
    };

    [Theory]
    [MemberData(nameof(Breakers))]
    public void Coalesce_PacketThatMustNotJoin_RefusedAndFirstWrittenAlone(string breaker)
    {
        const int size = 1000;
        byte[] first = Packet(Spec(false, 1, TcpFlags.Ack), Payload(size));
        var next = Spec(false, 1 + size, TcpFlags.Ack, 101);
        byte[] options = Timestamps;
        int length = size;
        switch (breaker)
        {
            case "other-port": next = next with { SourcePort = 81 }; break;
            case "other-ack": next = next with { Ack = new SeqNumber(5001) }; break;
            case "other-window": next = next with { Window = 503 }; break;
            case "other-options": options = [1, 1, 8, 10, 0, 0, 0x12, 0x35, 0, 0, 0x56, 0x78]; break;
            case "gap-in-seq": next = next with { Seq = new SeqNumber(2 + size) }; break;
            case "syn": next = next with { Flags = TcpFlags.Ack | TcpFlags.Syn }; break;
            case "fin": next = next with { Flags = TcpFlags.Ack | TcpFlags.Fin }; break;
            case "rst": next = next with { Flags = TcpFlags.Ack | TcpFlags.Rst }; break;
            case "urg": next = next with { Flags = TcpFlags.Ack | TcpFlags.Urg }; break;
            case "cwr-on-second": next = next with { Flags = TcpFlags.Ack | TcpFlags.Cwr }; break;
            case "longer-than-first": length = size + 1; break;
            case "after-short": first = Packet(Spec(false, 1, TcpFlags.Ack), Payload(size - 1)); next = next with { Seq = new SeqNumber(size) }; break;
            case "other-ttl": next = next with { Ttl = 63 }; break;
            case "other-family": next = next with { IsIpv6 = true, Source = V6Server, Destination = V6Client }; break;
            case "no-payload": length = 0; break;
        }
        byte[] second = Packet(next, Payload(length), options);
        if (breaker == "udp") { second = (byte[])second.Clone(); second[9] = IpProtocol.Udp; }
        var coalescer = new GsoCoalescer();

        Assert.True(coalescer.TryAdd(first));
        Assert.False(coalescer.TryAdd(second));
        byte[] written = coalescer.Finish().ToArray();

        Assert.Equal(first, CompletedSingle(written));
        Assert.True(coalescer.TryAdd(second)); // an empty coalescer takes anything
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Coalesce_PshOnEveryRecord_OneTrainPshOnlyOnItsLastSegment(bool v6)
    {
        // The engine seals every record with ACK|PSH; the kernel keeps PSH on the last segment of a train only.
        var packets = new List<byte[]>();
        for (int i = 0; i < 4; i++)
            packets.Add(Packet(Spec(v6, (uint)(1 + i * 1448), TcpFlags.Ack | TcpFlags.Psh, (ushort)(100 + i)), Payload(1448, i)));
        var coalescer = new GsoCoalescer();

        foreach (var p in packets) Assert.True(coalescer.TryAdd(p));
        byte[] written = coalescer.Finish().ToArray();
        Assert.True(VirtioNetHeader.TryRead(written, out var h));
        var again = Split(h, written[VirtioNetHeader.Size..]);

        Assert.Equal(4, again.Count);
        for (int i = 0; i < 4; i++)
        {
            AssertValid(again[i]);
            TcpPacket.TryParse(again[i], out var p);
            Assert.Equal(i == 3 ? TcpFlags.Ack | TcpFlags.Psh : TcpFlags.Ack, p.Tcp.Flags);
            Assert.True(again[i].AsSpan(p.PayloadOffset).SequenceEqual(packets[i].AsSpan(p.PayloadOffset)));
        }
    }

    [Fact]
    public void Coalesce_PshOnlyInTheMiddle_LastSegmentCarriesIt()
    {
        var coalescer = new GsoCoalescer();
        Assert.True(coalescer.TryAdd(Packet(Spec(false, 1, TcpFlags.Ack), Payload(1000))));
        Assert.True(coalescer.TryAdd(Packet(Spec(false, 1001, TcpFlags.Ack | TcpFlags.Psh), Payload(1000))));
        Assert.True(coalescer.TryAdd(Packet(Spec(false, 2001, TcpFlags.Ack), Payload(1000))));
        byte[] written = coalescer.Finish().ToArray();
        Assert.True(VirtioNetHeader.TryRead(written, out var h));

        var flags = Split(h, written[VirtioNetHeader.Size..]).Select(s => { TcpPacket.TryParse(s, out var p); return p.Tcp.Flags; });

        Assert.Equal([TcpFlags.Ack, TcpFlags.Ack, TcpFlags.Ack | TcpFlags.Psh], flags);
    }

    [Fact]
    public void Coalesce_NonTcpFirst_WrittenAloneUnchanged()
    {
        byte[] udp = Packet(Spec(false, 1, TcpFlags.Ack), Payload(100));
        udp[9] = IpProtocol.Udp;
        var coalescer = new GsoCoalescer();

        Assert.True(coalescer.TryAdd(udp));
        Assert.False(coalescer.TryAdd(udp));

        byte[] written = coalescer.Finish().ToArray();
        Assert.True(VirtioNetHeader.TryRead(written, out var h));
        Assert.Equal(default, h);
        Assert.Equal(udp, written[VirtioNetHeader.Size..]);
    }

    [Theory]
    [InlineData(false, TcpFlags.Ack | TcpFlags.Fin)]
    [InlineData(true, TcpFlags.Ack | TcpFlags.Psh)]
    [InlineData(false, TcpFlags.Rst)]
    public void Coalesce_PartialChecksumFromProducer_WrittenAloneWithNeedsCsum(bool v6, TcpFlags flags)
    {
        // A producer that leaves the checksum partial (IPacketSink.CompletesChecksums), e.g. the engine's FIN.
        var buf = new byte[2000];
        int n = TcpPacketWriter.Write(buf, Spec(v6, 77, flags), Timestamps, Payload(flags == TcpFlags.Rst ? 0 : 300), partialChecksum: true);
        byte[] partial = buf[..n];
        byte[] full = Packet(Spec(v6, 77, flags), Payload(flags == TcpFlags.Rst ? 0 : 300));
        var coalescer = new GsoCoalescer();

        Assert.True(coalescer.TryAdd(partial));

        Assert.Equal(full, CompletedSingle(coalescer.Finish().ToArray()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Coalesce_TrainOfPartialChecksums_SplitsIntoValidPackets(bool v6)
    {
        var coalescer = new GsoCoalescer();
        var full = new List<byte[]>();
        var buf = new byte[2000];
        for (int i = 0; i < 3; i++)
        {
            var spec = Spec(v6, (uint)(1 + i * 1448), TcpFlags.Ack, (ushort)(100 + i));
            int n = TcpPacketWriter.Write(buf, spec, Timestamps, Payload(1448, i), partialChecksum: true);
            Assert.True(coalescer.TryAdd(buf.AsSpan(0, n)));
            full.Add(Packet(spec, Payload(1448, i)));
        }
        byte[] written = coalescer.Finish().ToArray();
        Assert.True(VirtioNetHeader.TryRead(written, out var h));

        Assert.Equal(full, Split(h, written[VirtioNetHeader.Size..]));
    }

    [Fact]
    public void Coalesce_TrainReaching64KiB_StopsBeforeTheLimit()
    {
        var coalescer = new GsoCoalescer();
        uint seq = 1;
        int added = 0;
        while (true)
        {
            byte[] p = Packet(Spec(false, seq, TcpFlags.Ack), Payload(1448));
            if (!coalescer.TryAdd(p)) break;
            added++;
            seq += 1448;
        }
        byte[] written = coalescer.Finish().ToArray();

        Assert.Equal((65535 - 52) / 1448, added);
        Assert.True(written.Length - VirtioNetHeader.Size <= 65535);
        Assert.Equal(written.Length - VirtioNetHeader.Size, BinaryPrimitives.ReadUInt16BigEndian(written.AsSpan(VirtioNetHeader.Size + 2)));
    }

    [Fact]
    public void SplitAndCoalesce_SteadyState_AllocateNothing()
    {
        var (h, super) = Super(false, 1, TcpFlags.Ack, 40000, 1448);
        var coalescer = new GsoCoalescer();
        var buf = new byte[65535];
        void Once()
        {
            Assert.True(GsoSplitter.TryCreate(super, h, out var splitter));
            while (splitter.TryNext(buf, out int n)) coalescer.TryAdd(buf.AsSpan(0, n));
            coalescer.Finish();
        }
        Once();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) Once();

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Header_WriteThenRead_RoundTripsLittleEndian()
    {
        var h = new VirtioNetHeader(1, 4, 0x0102, 0x0304, 0x0506, 0x0708);
        var b = new byte[VirtioNetHeader.Size];

        h.Write(b);

        Assert.Equal([1, 4, 2, 1, 4, 3, 6, 5, 8, 7], b);
        Assert.True(VirtioNetHeader.TryRead(b, out var back));
        Assert.Equal(h, back);
        Assert.False(VirtioNetHeader.TryRead(b.AsSpan(0, 9), out _));
    }
}
