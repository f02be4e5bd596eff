namespace Bufferless.Packets.Tests.Wire;

/// <summary>
/// Real packets sent by Linux 6.18 (this machine's kernel): a socket in a private network namespace
/// (`unshare -n`) connected to 198.18.99.2:80 and [2001:2:99::2]:80 through a TUN device, and the packets were
/// read from the TUN (the kernel completes checksums before a TUN read, so these carry full, valid checksums).
/// The peer's SYN-ACK (seq 0x11223344) was answered by a small script; only kernel-originated packets are kept.
/// Script: tools/tuncap.py (`unshare -n python3 tuncap.py` as root; no tcpdump on this box).
/// </summary>
internal static class Captures
{
    /// <summary>198.18.99.1:42246 -> 198.18.99.2:80 SYN, options MSS 1460, SACK-permitted, TS 0x21ed230d/0, NOP, WS 10.</summary>
    public static byte[] Ipv4Syn => Convert.FromHexString(
        "4500003c8adf400040065db4c6126301c6126302a50600506fa82d7800000000a002faf073720000" +
        "020405b40402080a21ed230d000000000103030a");

    /// <summary>The same flow's first data segment: PSH|ACK, "GET / HTTP/1.0\r\n\r\n" (18 bytes), no options.</summary>
    public static byte[] Ipv4Data => Convert.FromHexString(
        "4500003a8ae1400040065db4c6126301c6126302a50600506fa82d79112233455018faf0fd210000" +
        "474554202f20485454502f312e300d0a0d0a");

    /// <summary>[2001:2:99::1]:58600 -> [2001:2:99::2]:80 SYN, flow label 0xbb681, MSS 1440, SACK-permitted, TS, NOP, WS 10.</summary>
    public static byte[] Ipv6Syn => Convert.FromHexString(
        "600bb68100280640200100020099000000000000000000012001000200990000000000000000000" +
        "2e4e800500c03b88700000000a002fd204f480000020405a00402080a08e007ca000000000103030a");

    /// <summary>The same flow's data segment: PSH|ACK, 18 bytes of HTTP request.</summary>
    public static byte[] Ipv6Data => Convert.FromHexString(
        "600bb681002606402001000200990000000000000000000120010002009900000000000000000002" +
        "e4e800500c03b888112233455018fd20a4930000474554202f20485454502f312e300d0a0d0a");

    public const uint V4Client = 0xC6126301, V4Server = 0xC6126302;
    public static readonly UInt128 V6Client = new(0x2001_0002_0099_0000, 1), V6Server = new(0x2001_0002_0099_0000, 2);
    public static readonly byte[] HttpGet = "GET / HTTP/1.0\r\n\r\n"u8.ToArray();
}
