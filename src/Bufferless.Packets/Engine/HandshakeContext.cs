using System.Buffers;
using System.Security.Cryptography;
using Bufferless.Tls;

namespace Bufferless.Packets.Engine;

/// <summary>
/// Per-flow state that exists only while the engine is the TLS server's TCP endpoint for the handshake bytes:
/// the sans-IO TLS connection and the engine's own unacknowledged bytes (the flight), kept until the client
/// acknowledges them (DESIGN.md §6). Released when the record layer is taken over.
/// </summary>
internal sealed class HandshakeContext : IDisposable
{
    public const int MaxFlight = 64 * 1024;

    public HandshakeContext(TlsServerConfig config, uint serverIsn, uint clientIsn)
    {
        Tls = new TlsServerConnection(config);
        FlightStart = serverIsn + 1;
        SndUna = FlightStart;
        SndNxt = FlightStart;
        RcvNxt = clientIsn + 1;
    }

    public TlsServerConnection Tls { get; }

    private byte[] _flight = ArrayPool<byte>.Shared.Rent(4096);

    public int FlightLength { get; private set; }

    /// <summary>C-space sequence number of the flight's first byte (server ISN + 1).</summary>
    public uint FlightStart { get; }

    /// <summary>Oldest unacknowledged and next unsent flight byte (C space of the server's stream).</summary>
    public uint SndUna;
    public uint SndNxt;

    /// <summary>Next client handshake byte expected.</summary>
    public uint RcvNxt;

    public uint FlightEnd => FlightStart + (uint)FlightLength;

    public ReadOnlySpan<byte> FlightFrom(uint seq, int max) =>
        _flight.AsSpan((int)(seq - FlightStart), Math.Min(max, (int)(FlightEnd - seq)));

    /// <summary>Moves what the TLS connection queued into the flight; false when the flight would exceed its bound.</summary>
    public bool DrainTls()
    {
        while (Tls.PendingOutput > 0)
        {
            int need = FlightLength + Tls.PendingOutput;
            if (need > MaxFlight)
                return false;
            if (need > _flight.Length)
            {
                byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Min(MaxFlight, Math.Max(need, _flight.Length * 2)));
                _flight.AsSpan(0, FlightLength).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_flight);
                _flight = bigger;
            }
            FlightLength += Tls.DrainOutput(_flight.AsSpan(FlightLength));
        }
        return true;
    }

    private bool _tlsReleased;

    /// <summary>
    /// The handshake is over but the client has not acknowledged the whole flight (a ticket sent after the server
    /// Finished, DESIGN.md §6): the TLS connection goes, the flight bytes stay until acknowledged.
    /// </summary>
    public void ReleaseTls()
    {
        if (_tlsReleased)
            return;
        _tlsReleased = true;
        Tls.Dispose();
    }

    public void Dispose()
    {
        ReleaseTls();
        CryptographicOperations.ZeroMemory(_flight);
        ArrayPool<byte>.Shared.Return(_flight);
        _flight = [];
    }
}
