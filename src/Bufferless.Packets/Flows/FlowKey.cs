using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Bufferless.Packets.Flows;

/// <summary>
/// Identifies a direct-mode flow: client address and port, server address. The server port is implied by the
/// engine's configuration (TLS port on the client side, plain port on the server side), so both directions of a
/// flow produce the same key. IPv4 addresses are stored as IPv4-mapped IPv6 (RFC 4291 §2.5.5.2).
/// </summary>
internal readonly record struct FlowKey(ulong ClientHi, ulong ClientLo, ulong ServerHi, ulong ServerLo, ushort ClientPort, bool IsIPv6)
{
    private const ulong V4MappedHi = 0;
    private const ulong V4MappedLoPrefix = 0x0000_FFFF_0000_0000;

    public static FlowKey Create(ReadOnlySpan<byte> clientAddress, ReadOnlySpan<byte> serverAddress, ushort clientPort)
    {
        bool v6 = clientAddress.Length == 16;
        Split(clientAddress, out ulong ch, out ulong cl);
        Split(serverAddress, out ulong sh, out ulong sl);
        return new FlowKey(ch, cl, sh, sl, clientPort, v6);
    }

    private static void Split(ReadOnlySpan<byte> address, out ulong hi, out ulong lo)
    {
        if (address.Length == 4)
        {
            hi = V4MappedHi;
            lo = V4MappedLoPrefix | BinaryPrimitives.ReadUInt32BigEndian(address);
            return;
        }
        hi = BinaryPrimitives.ReadUInt64BigEndian(address);
        lo = BinaryPrimitives.ReadUInt64BigEndian(address[8..]);
    }

    /// <summary>The client address as the Wire views take it (IPv4 in the low 32 bits).</summary>
    public UInt128 ClientAddress => IsIPv6 ? new UInt128(ClientHi, ClientLo) : (uint)ClientLo;

    public UInt128 ServerAddress => IsIPv6 ? new UInt128(ServerHi, ServerLo) : (uint)ServerLo;

    /// <summary>Writes the client address (4 or 16 bytes) and returns its length.</summary>
    public int WriteClientAddress(Span<byte> destination) => Write(ClientHi, ClientLo, destination);

    /// <summary>Writes the server address (4 or 16 bytes) and returns its length.</summary>
    public int WriteServerAddress(Span<byte> destination) => Write(ServerHi, ServerLo, destination);

    private int Write(ulong hi, ulong lo, Span<byte> destination)
    {
        if (!IsIPv6)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)lo);
            return 4;
        }
        BinaryPrimitives.WriteUInt64BigEndian(destination, hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], lo);
        return 16;
    }

    /// <summary>A keyed hash (the key is per engine, so an attacker cannot aim many flows at one bucket).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Hash(ulong seed)
    {
        ulong h = seed;
        h = Mix(h ^ ClientHi);
        h = Mix(h ^ ClientLo);
        h = Mix(h ^ ServerHi);
        h = Mix(h ^ ServerLo);
        h = Mix(h ^ ClientPort);
        return (uint)(h ^ (h >> 32));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong x)
    {
        // splitmix64 finaliser: cheap and well distributed; keyed by the seed folded in first.
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
