using System.Buffers.Binary;

namespace Bufferless.Tls.Messages;

/// <summary>
/// A forward-only cursor over TLS presentation-language bytes (RFC 8446 §3). Every read checks the
/// remaining length first and returns false instead of throwing, so a parser written with it cannot
/// read past its input. Vectors come back as a nested reader bounded by their length prefix.
/// </summary>
internal ref struct TlsReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public TlsReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    public readonly int Remaining => _data.Length - _position;
    public readonly bool IsEmpty => _position == _data.Length;
    public readonly ReadOnlySpan<byte> RemainingBytes => _data[_position..];

    /// <summary>True when every byte was consumed (the usual last check of a struct parser).</summary>
    public readonly bool ExpectEmpty() => IsEmpty;

    public bool TryReadUInt8(out byte value)
    {
        if (Remaining < 1) { value = 0; return false; }
        value = _data[_position++];
        return true;
    }

    public bool TryReadUInt16(out ushort value)
    {
        if (Remaining < 2) { value = 0; return false; }
        value = BinaryPrimitives.ReadUInt16BigEndian(_data[_position..]);
        _position += 2;
        return true;
    }

    public bool TryReadUInt24(out int value)
    {
        if (Remaining < 3) { value = 0; return false; }
        value = (_data[_position] << 16) | (_data[_position + 1] << 8) | _data[_position + 2];
        _position += 3;
        return true;
    }

    public bool TryReadUInt32(out uint value)
    {
        if (Remaining < 4) { value = 0; return false; }
        value = BinaryPrimitives.ReadUInt32BigEndian(_data[_position..]);
        _position += 4;
        return true;
    }

    public bool TryReadBytes(int count, out ReadOnlySpan<byte> bytes)
    {
        if (count < 0 || Remaining < count) { bytes = default; return false; }
        bytes = _data.Slice(_position, count);
        _position += count;
        return true;
    }

    public bool TryReadVector8(out ReadOnlySpan<byte> inner)
    {
        inner = default;
        return TryReadUInt8(out byte length) && TryReadBytes(length, out inner);
    }

    public bool TryReadVector16(out ReadOnlySpan<byte> inner)
    {
        inner = default;
        return TryReadUInt16(out ushort length) && TryReadBytes(length, out inner);
    }

    public bool TryReadVector24(out ReadOnlySpan<byte> inner)
    {
        inner = default;
        return TryReadUInt24(out int length) && TryReadBytes(length, out inner);
    }

    public bool TryReadVector8(out TlsReader inner)
    {
        bool ok = TryReadVector8(out ReadOnlySpan<byte> bytes);
        inner = new TlsReader(bytes);
        return ok;
    }

    public bool TryReadVector16(out TlsReader inner)
    {
        bool ok = TryReadVector16(out ReadOnlySpan<byte> bytes);
        inner = new TlsReader(bytes);
        return ok;
    }

    public bool TryReadVector24(out TlsReader inner)
    {
        bool ok = TryReadVector24(out ReadOnlySpan<byte> bytes);
        inner = new TlsReader(bytes);
        return ok;
    }
}
