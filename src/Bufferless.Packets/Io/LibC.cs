using System.Runtime.InteropServices;

namespace Bufferless.Packets.Io;

/// <summary>The few libc calls packet I/O needs (Linux, x86-64 and arm64 share these constants).</summary>
internal static unsafe partial class LibC
{
    public const int O_RDWR = 0x2, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    public const int EINTR = 4, EAGAIN = 11, ENOBUFS = 105;
    public const short POLLIN = 0x1;
    /// <summary>_IOW('T', 202, int): linux/if_tun.h.</summary>
    public const uint TUNSETIFF = 0x400454ca;
    public const short IFF_TUN = 0x0001, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000;
    /// <summary>_IOW('T', 208, unsigned int): the offloads the reader can take (the argument is the value itself).</summary>
    public const uint TUNSETOFFLOAD = 0x400454d0;
    /// <summary>_IOW('T', 216, int): size of the virtio_net_hdr prefix.</summary>
    public const uint TUNSETVNETHDRSZ = 0x400454d8;
    public const uint TUN_F_CSUM = 0x01, TUN_F_TSO4 = 0x02, TUN_F_TSO6 = 0x04;
    public const int IFNAMSIZ = 16;
    public const int IfReqSize = 40; // struct ifreq on 64-bit Linux

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, byte* arg);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlValue(int fd, nuint request, nuint arg);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
