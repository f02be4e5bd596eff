using System.Buffers;
using System.Security.Cryptography;

namespace Bufferless.Tls.Records;

/// <summary>
/// Bytes waiting for the caller to drain: a pooled buffer that grows on demand, shrinks back to nothing
/// once empty, and is zeroed before it returns to the pool (it held plaintext before sealing).
/// </summary>
internal sealed class OutputQueue : IDisposable
{
    private byte[]? _buffer;
    private int _start;
    private int _end;
    private int _highWater; // bytes of _buffer written since it was rented: all that needs zeroing

    public int Count => _end - _start;

    /// <summary>A span of at least <paramref name="size"/> bytes at the tail; commit with <see cref="Advance"/>.</summary>
    public Span<byte> GetWriteSpan(int size)
    {
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, 4096));
            _start = _end = 0;
        }
        if (_buffer.Length - _end < size)
        {
            int live = Count;
            if (_buffer.Length - live >= size && _start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, live);
            }
            else
            {
                byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(live + size, _buffer.Length * 2));
                Buffer.BlockCopy(_buffer, _start, bigger, 0, live);
                Return(_buffer, _highWater);
                _buffer = bigger;
                _highWater = live;
            }
            _start = 0;
            _end = live;
        }
        return _buffer.AsSpan(_end, size);
    }

    public void Advance(int count)
    {
        _end += count;
        _highWater = Math.Max(_highWater, _end);
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetWriteSpan(bytes.Length));
        Advance(bytes.Length);
    }

    public int Drain(Span<byte> destination)
    {
        if (_buffer is null)
            return 0;
        int n = Math.Min(destination.Length, Count);
        _buffer.AsSpan(_start, n).CopyTo(destination);
        _start += n;
        if (_start == _end)
        {
            Return(_buffer, _highWater);
            _buffer = null;
            _start = _end = _highWater = 0;
        }
        return n;
    }

    public ReadOnlySpan<byte> Peek() => _buffer is null ? default : _buffer.AsSpan(_start, Count);

    private static void Return(byte[] buffer, int used)
    {
        CryptographicOperations.ZeroMemory(buffer.AsSpan(0, Math.Min(used, buffer.Length)));
        ArrayPool<byte>.Shared.Return(buffer);
    }

    public void Dispose()
    {
        if (_buffer is not null)
            Return(_buffer, _highWater);
        _buffer = null;
        _start = _end = _highWater = 0;
    }
}
