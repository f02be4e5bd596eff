using System.Buffers.Binary;

namespace Bufferless.Tls.Messages;

/// <summary>
/// Writes TLS presentation-language bytes into a caller-sized span. Length prefixes are scopes:
/// <c>int mark = w.BeginVector16(); ... w.EndVector16(mark);</c> writes the length once the contents
/// are known. Running out of room is a bug in the caller's sizing and throws.
/// </summary>
internal ref struct TlsWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public TlsWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly int Position => _position;
    public readonly Span<byte> Written => _buffer[.._position];

    public void WriteUInt8(byte value)
    {
        Ensure(1);
        _buffer[_position++] = value;
    }

    public void WriteUInt16(ushort value)
    {
        Ensure(2);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[_position..], value);
        _position += 2;
    }

    public void WriteUInt24(int value)
    {
        if ((uint)value > 0xFFFFFF) throw new InvalidOperationException("uint24 overflow");
        Ensure(3);
        _buffer[_position] = (byte)(value >> 16);
        _buffer[_position + 1] = (byte)(value >> 8);
        _buffer[_position + 2] = (byte)value;
        _position += 3;
    }

    public void WriteUInt32(uint value)
    {
        Ensure(4);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[_position..], value);
        _position += 4;
    }

    public void WriteBytes(scoped ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer[_position..]);
        _position += bytes.Length;
    }

    /// <summary>Reserves <paramref name="count"/> bytes and returns them for the caller to fill.</summary>
    public Span<byte> Reserve(int count)
    {
        Ensure(count);
        Span<byte> span = _buffer.Slice(_position, count);
        _position += count;
        return span;
    }

    public void WriteVector8(scoped ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > byte.MaxValue) throw new InvalidOperationException("vector8 overflow");
        WriteUInt8((byte)bytes.Length);
        WriteBytes(bytes);
    }

    public void WriteVector16(scoped ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > ushort.MaxValue) throw new InvalidOperationException("vector16 overflow");
        WriteUInt16((ushort)bytes.Length);
        WriteBytes(bytes);
    }

    public int BeginVector8() { WriteUInt8(0); return _position; }
    public int BeginVector16() { WriteUInt16(0); return _position; }
    public int BeginVector24() { WriteUInt24(0); return _position; }

    public readonly void EndVector8(int mark)
    {
        int length = _position - mark;
        if (length > byte.MaxValue) throw new InvalidOperationException("vector8 overflow");
        _buffer[mark - 1] = (byte)length;
    }

    public readonly void EndVector16(int mark)
    {
        int length = _position - mark;
        if (length > ushort.MaxValue) throw new InvalidOperationException("vector16 overflow");
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(mark - 2)..], (ushort)length);
    }

    public readonly void EndVector24(int mark)
    {
        int length = _position - mark;
        if (length > 0xFFFFFF) throw new InvalidOperationException("vector24 overflow");
        _buffer[mark - 3] = (byte)(length >> 16);
        _buffer[mark - 2] = (byte)(length >> 8);
        _buffer[mark - 1] = (byte)length;
    }

    /// <summary>Starts a handshake message (RFC 8446 §4: msg_type, uint24 length); close with <see cref="EndVector24"/>.</summary>
    public int BeginHandshake(TlsHandshakeType type)
    {
        WriteUInt8((byte)type);
        return BeginVector24();
    }

    private readonly void Ensure(int count)
    {
        if (_buffer.Length - _position < count)
            throw new InvalidOperationException("TlsWriter buffer too small");
    }
}
