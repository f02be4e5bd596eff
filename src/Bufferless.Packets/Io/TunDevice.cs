using System.Runtime.InteropServices;
using System.Text;

namespace Bufferless.Packets.Io;

/// <summary>
/// A Linux TUN device opened with IFF_TUN | IFF_NO_PI: every read returns one whole IPv4 or IPv6 packet and
/// every write injects one, with no packet-information prefix. Opened with offload (<see cref="VnetHeader"/>)
/// each read and write is instead a <see cref="Offload.VirtioNetHeader"/> followed by a packet that may be a TCP
/// super-packet of up to 64 KiB (the way wireguard-go uses the TUN); <see cref="PacketLoop"/> and
/// <see cref="TunPacketSink"/> cut and rebuild those. The descriptor is non-blocking; use
/// <see cref="WaitReadable"/> to sleep until a packet arrives or a timer is due.
/// </summary>
/// <remarks>
/// If a device of that name exists (made persistent by <c>ip tuntap add dev NAME mode tun</c>, which is what
/// <c>bufferless lab up</c> does) TUNSETIFF attaches to it; otherwise the kernel creates a non-persistent device
/// that disappears when this descriptor closes (it then still needs an address/route and "up" from the caller).
/// Needs CAP_NET_ADMIN.
/// </remarks>
public sealed unsafe class TunDevice : IPacketDevice, IDisposable
{
    private int _fd;

    private TunDevice(int fd, string name, bool vnetHeader, string? offloadError)
    {
        _fd = fd;
        Name = name;
        VnetHeader = vnetHeader;
        OffloadError = offloadError;
    }

    public string Name { get; }

    /// <summary>
    /// True when the device was opened with IFF_VNET_HDR and TSO/checksum offload: every read then starts with a
    /// <see cref="Offload.VirtioNetHeader"/> and may hold a GSO super-packet, and every write must start with one.
    /// </summary>
    public bool VnetHeader { get; }

    /// <summary>Why offload was asked for but not enabled (null if it was enabled or not asked for).</summary>
    public string? OffloadError { get; }

    /// <summary>
    /// Opens /dev/net/tun and attaches to (or creates) <paramref name="name"/>. With <paramref name="offload"/> it
    /// asks for IFF_VNET_HDR, a 10-byte header and TUN_F_CSUM|TUN_F_TSO4|TUN_F_TSO6 (the kernel then hands over
    /// TCP super-packets of up to 64 KiB and takes them back); if any of those calls fails it falls back to plain
    /// packets and says why in <see cref="OffloadError"/>. Throws <see cref="IOException"/> with the errno text on failure.
    /// </summary>
    public static TunDevice Open(string name, bool offload = false)
    {
        byte[] nameBytes = Encoding.ASCII.GetBytes(name);
        if (nameBytes.Length == 0 || nameBytes.Length >= LibC.IFNAMSIZ)
            throw new ArgumentException($"interface name must be 1 to {LibC.IFNAMSIZ - 1} ASCII characters", nameof(name));
        if (!offload) return OpenPlain(nameBytes, name, null);
        int fd = Attach(nameBytes, name, LibC.IFF_TUN | LibC.IFF_NO_PI | LibC.IFF_VNET_HDR, out string actual);
        int size = Offload.VirtioNetHeader.Size;
        string? error = null;
        if (LibC.Ioctl(fd, LibC.TUNSETVNETHDRSZ, (byte*)&size) < 0) error = Error("ioctl TUNSETVNETHDRSZ").Message;
        else if (LibC.IoctlValue(fd, LibC.TUNSETOFFLOAD, LibC.TUN_F_CSUM | LibC.TUN_F_TSO4 | LibC.TUN_F_TSO6) < 0)
            error = Error("ioctl TUNSETOFFLOAD").Message;
        if (error is null) return new TunDevice(fd, actual, vnetHeader: true, null);
        LibC.Close(fd);
        return OpenPlain(nameBytes, name, error);
    }

    private static TunDevice OpenPlain(byte[] nameBytes, string name, string? offloadError)
    {
        int fd = Attach(nameBytes, name, LibC.IFF_TUN | LibC.IFF_NO_PI, out string actual);
        // A persistent device keeps the offload features an earlier reader set; without the virtio header a GSO
        // super-packet could not be told apart, so switch them off (harmless if they were never on).
        LibC.IoctlValue(fd, LibC.TUNSETOFFLOAD, 0);
        return new TunDevice(fd, actual, vnetHeader: false, offloadError);
    }

    private static int Attach(byte[] nameBytes, string name, short flags, out string actualName)
    {
        int fd = LibC.Open("/dev/net/tun", LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (fd < 0) throw Error("open /dev/net/tun");
        byte* ifr = stackalloc byte[LibC.IfReqSize];
        new Span<byte>(ifr, LibC.IfReqSize).Clear();
        nameBytes.CopyTo(new Span<byte>(ifr, LibC.IFNAMSIZ));
        *(short*)(ifr + LibC.IFNAMSIZ) = flags;
        if (LibC.Ioctl(fd, LibC.TUNSETIFF, ifr) < 0)
        {
            var e = Error($"ioctl TUNSETIFF {name}");
            LibC.Close(fd);
            throw e;
        }
        // The kernel may have completed a name pattern such as "tun%d".
        int len = new ReadOnlySpan<byte>(ifr, LibC.IFNAMSIZ).IndexOf((byte)0);
        actualName = Encoding.ASCII.GetString(ifr, len < 0 ? LibC.IFNAMSIZ : len);
        return fd;
    }

    /// <summary>Reads one packet. Returns its length, 0 if none is waiting. Throws only on a device error.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = LibC.Read(_fd, p, (nuint)buffer.Length);
                if (n >= 0) return (int)n;
                int errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EINTR) continue;
                if (errno == LibC.EAGAIN) return 0;
                throw Error("read " + Name, errno);
            }
        }
    }

    /// <summary>Writes one packet. False if the kernel refused it (counted by the caller; the peer retransmits).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool Write(ReadOnlySpan<byte> packet)
    {
        fixed (byte* p = packet)
        {
            while (true)
            {
                nint n = LibC.Write(_fd, p, (nuint)packet.Length);
                if (n == packet.Length) return true;
                if (n < 0 && Marshal.GetLastPInvokeError() == LibC.EINTR) continue;
                return false;
            }
        }
    }

    /// <summary>Sleeps until a packet is readable or <paramref name="timeoutMs"/> passes (-1: forever). True if readable.</summary>
    public bool WaitReadable(int timeoutMs)
    {
        var pfd = new LibC.PollFd { Fd = _fd, Events = LibC.POLLIN };
        int r = LibC.Poll(&pfd, 1, timeoutMs);
        if (r < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == LibC.EINTR) return false;
            throw Error("poll " + Name, errno);
        }
        return r > 0 && (pfd.Revents & LibC.POLLIN) != 0;
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) LibC.Close(fd);
    }

    private static IOException Error(string what) => Error(what, Marshal.GetLastPInvokeError());

    private static IOException Error(string what, int errno)
        => new($"{what}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
}
