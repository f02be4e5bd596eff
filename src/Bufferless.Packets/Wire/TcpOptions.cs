using System.Buffers.Binary;

namespace Bufferless.Packets.Wire;

/// <summary>TCP option kinds the engine understands (IANA "TCP Option Kind Numbers").</summary>
public enum TcpOptionKind : byte
{
    EndOfList = 0,      // RFC 9293 §3.2
    Nop = 1,            // RFC 9293 §3.2
    Mss = 2,            // RFC 9293 §3.2, length 4
    WindowScale = 3,    // RFC 7323 §2.2, length 3
    SackPermitted = 4,  // RFC 2018 §2, length 2
    Sack = 5,           // RFC 2018 §3, length 2 + 8n
    Timestamps = 8,     // RFC 7323 §3.2, length 10
}

/// <summary>The validated meaning of a segment's options. Fields are meaningful only when their <c>Has*</c> flag is set.</summary>
public readonly record struct TcpOptionSummary(
    bool HasMss, ushort Mss,
    bool HasWindowScale, byte WindowScale,
    bool SackPermitted,
    int SackBlockCount,
    bool HasTimestamps, uint TsVal, uint TsEcr,
    bool Malformed);

/// <summary>
/// A cursor over TCP options. Unknown kinds are skipped by their length; a length that runs past the end,
/// is below 2, or does not match the fixed length of a known kind stops the walk and sets
/// <see cref="IsMalformed"/>. It never throws.
/// </summary>
public ref struct TcpOptionReader
{
    private readonly ReadOnlySpan<byte> _options;
    private int _next;

    public TcpOptionReader(ReadOnlySpan<byte> options) => _options = options;

    public TcpOptionKind Kind { get; private set; }
    /// <summary>Offset of the current option (its kind byte) within the options area.</summary>
    public int Offset { get; private set; }
    /// <summary>The current option's data (after kind and length).</summary>
    public ReadOnlySpan<byte> Data { get; private set; }
    public bool IsMalformed { get; private set; }

    /// <summary>Moves to the next option other than NOP. False at EOL, at the end, or on a malformed option.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool MoveNext()
    {
        while (_next < _options.Length)
        {
            int at = _next;
            var kind = (TcpOptionKind)_options[at];
            if (kind == TcpOptionKind.EndOfList) { _next = _options.Length; return false; }
            if (kind == TcpOptionKind.Nop) { _next++; continue; }
            if (at + 1 >= _options.Length) return Malformed();
            int length = _options[at + 1];
            if (length < 2 || at + length > _options.Length || !LengthFits(kind, length)) return Malformed();
            Kind = kind;
            Offset = at;
            Data = _options.Slice(at + 2, length - 2);
            _next = at + length;
            return true;
        }
        return false;
    }

    private bool Malformed()
    {
        IsMalformed = true;
        _next = _options.Length;
        return false;
    }

    private static bool LengthFits(TcpOptionKind kind, int length) => kind switch
    {
        TcpOptionKind.Mss => length == 4,
        TcpOptionKind.WindowScale => length == 3,
        TcpOptionKind.SackPermitted => length == 2,
        TcpOptionKind.Sack => length >= 10 && length <= 34 && (length - 2) % 8 == 0,
        TcpOptionKind.Timestamps => length == 10,
        _ => true,
    };
}

/// <summary>
/// Writes TCP options into a caller span. Every method returns false (and writes nothing) if the option does
/// not fit. Call <see cref="PadToWord"/> last: the header length is a multiple of 4 (RFC 9293 §3.1).
/// </summary>
public ref struct TcpOptionWriter
{
    private readonly Span<byte> _buffer;

    public TcpOptionWriter(Span<byte> buffer) => _buffer = buffer;

    public int Written { get; private set; }
    public ReadOnlySpan<byte> WrittenSpan => _buffer[..Written];

    public bool WriteNop() => Put(1, out var o) && Set(o, (byte)TcpOptionKind.Nop);

    public bool WriteMss(ushort mss)
    {
        if (!Put(4, out var o)) return false;
        Head(o, TcpOptionKind.Mss);
        BinaryPrimitives.WriteUInt16BigEndian(o[2..], mss);
        return true;
    }

    /// <summary>RFC 7323 §2.3: shift counts above 14 are treated as 14 by receivers; we never write more.</summary>
    public bool WriteWindowScale(byte shift)
    {
        if (!Put(3, out var o)) return false;
        Head(o, TcpOptionKind.WindowScale);
        o[2] = Math.Min(shift, (byte)14);
        return true;
    }

    public bool WriteSackPermitted()
    {
        if (!Put(2, out var o)) return false;
        Head(o, TcpOptionKind.SackPermitted);
        return true;
    }

    public bool WriteTimestamps(uint tsVal, uint tsEcr)
    {
        if (!Put(10, out var o)) return false;
        Head(o, TcpOptionKind.Timestamps);
        BinaryPrimitives.WriteUInt32BigEndian(o[2..], tsVal);
        BinaryPrimitives.WriteUInt32BigEndian(o[6..], tsEcr);
        return true;
    }

    /// <summary>SACK blocks as (left, right) edge pairs: <paramref name="edges"/> holds 2 values per block, 1 to 4 blocks.</summary>
    public bool WriteSack(ReadOnlySpan<SeqNumber> edges)
    {
        if (edges.Length < 2 || edges.Length > 8 || edges.Length % 2 != 0) return false;
        if (!Put(2 + edges.Length * 4, out var o)) return false;
        Head(o, TcpOptionKind.Sack);
        for (int i = 0; i < edges.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(o[(2 + i * 4)..], edges[i].Value);
        return true;
    }

    /// <summary>Pads with EOL (zero) bytes up to a multiple of 4, as the header requires.</summary>
    public bool PadToWord()
    {
        int pad = (4 - (Written & 3)) & 3;
        if (!Put(pad, out var o)) return false;
        o.Clear();
        return true;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private bool Put(int length, out Span<byte> slot)
    {
        slot = default;
        if (Written + length > _buffer.Length || Written + length > TcpSegment.MaxHeaderLength - TcpSegment.MinHeaderLength) return false;
        slot = _buffer.Slice(Written, length);
        Written += length;
        return true;
    }

    private static bool Set(Span<byte> slot, byte value)
    {
        slot[0] = value;
        return true;
    }

    private static void Head(Span<byte> slot, TcpOptionKind kind)
    {
        slot[0] = (byte)kind;
        slot[1] = (byte)slot.Length;
    }
}

/// <summary>Helpers over an options area (the bytes between the fixed TCP header and the data).</summary>
public static class TcpOptions
{
    /// <summary>Offset of the first well-formed option of <paramref name="kind"/>, or -1 (also -1 if the walk hits a malformed option first).</summary>
    public static int Find(ReadOnlySpan<byte> options, TcpOptionKind kind)
    {
        var r = new TcpOptionReader(options);
        while (r.MoveNext())
            if (r.Kind == kind) return r.Offset;
        return -1;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static TcpOptionSummary Summarize(ReadOnlySpan<byte> options)
    {
        bool hasMss = false, hasWs = false, sackOk = false, hasTs = false;
        ushort mss = 0;
        byte ws = 0;
        int sackBlocks = 0;
        uint tsVal = 0, tsEcr = 0;
        var r = new TcpOptionReader(options);
        while (r.MoveNext())
        {
            switch (r.Kind)
            {
                case TcpOptionKind.Mss: hasMss = true; mss = BinaryPrimitives.ReadUInt16BigEndian(r.Data); break;
                case TcpOptionKind.WindowScale: hasWs = true; ws = r.Data[0]; break;
                case TcpOptionKind.SackPermitted: sackOk = true; break;
                case TcpOptionKind.Sack: sackBlocks = r.Data.Length / 8; break;
                case TcpOptionKind.Timestamps:
                    hasTs = true;
                    tsVal = BinaryPrimitives.ReadUInt32BigEndian(r.Data);
                    tsEcr = BinaryPrimitives.ReadUInt32BigEndian(r.Data[4..]);
                    break;
            }
        }
        return new TcpOptionSummary(hasMss, mss, hasWs, ws, sackOk, sackBlocks, hasTs, tsVal, tsEcr, r.IsMalformed);
    }
}
