using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Text;

namespace Bufferless.Proxy.Tests;

public class ProxyProtocolTests
{
    private static readonly IPEndPoint Client = new(IPAddress.Parse("198.18.1.2"), 40000);
    private static readonly IPEndPoint Local = new(IPAddress.Parse("198.18.1.1"), 443);

    [Fact]
    public void BuildV1_Ipv4_ExactLine()
    {
        Assert.Equal("PROXY TCP4 198.18.1.2 198.18.1.1 40000 443\r\n", Encoding.ASCII.GetString(ProxyProtocol.BuildV1(Client, Local)));
    }

    [Fact]
    public void BuildV1_MappedIpv4FromDualStackListener_WrittenAsTcp4()
    {
        var mapped = new IPEndPoint(Client.Address.MapToIPv6(), 40000);
        var local = new IPEndPoint(Local.Address.MapToIPv6(), 443);
        Assert.StartsWith("PROXY TCP4 198.18.1.2 ", Encoding.ASCII.GetString(ProxyProtocol.BuildV1(mapped, local)));
    }

    [Fact]
    public void BuildV1_Ipv6_Tcp6()
    {
        var c = new IPEndPoint(IPAddress.Parse("2001:2::2"), 5555);
        var l = new IPEndPoint(IPAddress.Parse("2001:2::1"), 443);
        Assert.Equal("PROXY TCP6 2001:2::2 2001:2::1 5555 443\r\n", Encoding.ASCII.GetString(ProxyProtocol.BuildV1(c, l)));
    }

    [Fact]
    public void BuildV2_Ipv4WithTls_HeaderAddressesAndTlvsParse()
    {
        byte[] h = ProxyProtocol.BuildV2(Client, Local, new ProxyTlsInfo("bench.lab", "http/1.1", "TLSv1.3", "TLS_AES_128_GCM_SHA256", null, false));
        Assert.Equal("0D0A0D0A000D0A515549540A", Convert.ToHexString(h, 0, 12));
        Assert.Equal(0x21, h[12]);
        Assert.Equal(0x11, h[13]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(14));
        Assert.Equal(h.Length - 16, length);
        Assert.Equal(new byte[] { 198, 18, 1, 2 }, h[16..20]);
        Assert.Equal(new byte[] { 198, 18, 1, 1 }, h[20..24]);
        Assert.Equal(40000, BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(24)));
        Assert.Equal(443, BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(26)));

        var tlvs = ParseTlvs(h.AsSpan(28));
        Assert.Equal("http/1.1", Encoding.ASCII.GetString(tlvs[0x01]));
        Assert.Equal("bench.lab", Encoding.ASCII.GetString(tlvs[0x02]));
        byte[] ssl = tlvs[0x20];
        Assert.Equal(0x01, ssl[0]); // PP2_CLIENT_SSL, no client certificate
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(ssl.AsSpan(1)));
        var sub = ParseTlvs(ssl.AsSpan(5));
        Assert.Equal("TLSv1.3", Encoding.ASCII.GetString(sub[0x21]));
        Assert.Equal("TLS_AES_128_GCM_SHA256", Encoding.ASCII.GetString(sub[0x23]));
        Assert.False(sub.ContainsKey(0x22));
    }

    [Fact]
    public void BuildV2_ClientCertificate_CnTlvAndCertFlag()
    {
        byte[] h = ProxyProtocol.BuildV2(Client, Local, new ProxyTlsInfo(null, null, "TLSv1.3", "x", "CN=alice", true));
        var tlvs = ParseTlvs(h.AsSpan(28));
        Assert.False(tlvs.ContainsKey(0x01));
        byte[] ssl = tlvs[0x20];
        Assert.Equal(0x03, ssl[0]); // PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN
        Assert.Equal("CN=alice", Encoding.UTF8.GetString(ParseTlvs(ssl.AsSpan(5))[0x22]));
    }

    [Fact]
    public async Task Proxy_ProxyProtocolV1_BackendReadsHeaderBeforeData()
    {
        var received = new TaskCompletionSource<string>();
        await using var backend = new TestBackend(async (s, ct) =>
        {
            byte[] buf = new byte[256];
            int total = 0;
            while (!Encoding.ASCII.GetString(buf, 0, total).Contains("hello"))
                total += await s.ReadAsync(buf.AsMemory(total), ct);
            received.TrySetResult(Encoding.ASCII.GetString(buf, 0, total));
        });
        await using var proxy = new ProxyHarness([backend.EndPoint], o => o with { ProxyProtocol = ProxyProtocolVersion.V1 });
        await using SslStream ssl = await proxy.ConnectAsync();
        await ssl.WriteAsync("hello"u8.ToArray());
        string got = await received.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Matches(@"^PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 \d+ " + proxy.EndPoint.Port + "\r\nhello$", got);
    }

    private static Dictionary<byte, byte[]> ParseTlvs(ReadOnlySpan<byte> data)
    {
        var result = new Dictionary<byte, byte[]>();
        while (!data.IsEmpty)
        {
            int len = BinaryPrimitives.ReadUInt16BigEndian(data[1..]);
            result[data[0]] = data.Slice(3, len).ToArray();
            data = data[(3 + len)..];
        }
        return result;
    }
}
