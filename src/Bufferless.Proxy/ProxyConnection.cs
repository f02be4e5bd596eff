using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Bufferless.Tls;

namespace Bufferless.Proxy;

/// <summary>
/// One client connection of the socket full proxy (patent Fig. 7): TLS on the client socket, plain TCP to a backend.
/// Holds no buffer while idle: every read first waits for readability with a zero-byte receive, then rents a
/// buffer for exactly the bytes that are there and returns it before waiting again (as YARP does).
/// The TLS object is not thread-safe: the two directions take its lock for each synchronous call, and every
/// write to the client socket goes through <see cref="FlushToClientAsync"/> under one async lock, so queued
/// TLS output leaves in the order it was produced.
/// </summary>
internal sealed class ProxyConnection
{
    // Both directions move up to 64 KiB per receive and per send (four records' worth), not one record's. Downloads: a
    // 256 MiB download through the lab took 0.42-0.43 CPU-s instead of 0.54-0.57 with 16 KiB reads (690 against 495 MB/s;
    // `TESTS=bulk BL_TESTS="bulk ka" BL_RSA=0 bash bench/lab/proxy-vs-peers.sh none` from each build, interleaved,
    // docs/BENCHMARKS.md S4.1). Uploads: the records of one client read go to the backend in one write, 0.23-0.27 against
    // 0.34-0.40 CPU-s per 256 MiB (`bash bench/lab/proxy-upload.sh`, docs/BENCHMARKS.md S5.2). The buffers are rented only
    // while a read is pending, so idle connections still hold none.
    private const int ClientReadSize = 64 * 1024;
    private const int BackendReadSize = 64 * 1024;
    // The largest plaintext a TLS record carries (RFC 8446 §5.1).
    private const int MaxRecordPlaintext = 16 * 1024;
    // One flush sends a whole 64 KiB read as records (4 x (16 KiB + 22 bytes) overhead included) in one write.
    private const int FlushChunk = 72 * 1024;
    // Output waiting in the TLS queue is flushed once it reaches this while the backend keeps sending.
    private const int DeferredFlushLimit = 32 * 1024;

    private readonly ProxyServer _server;
    private readonly Socket _client;
    private readonly TlsServerConnection _tls;
    private readonly SemaphoreSlim _clientSendLock = new(1, 1);
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private Socket? _backend;
    private EndPoint? _backendEndPoint;
    private Task? _backendLoop;
    private long _lastActivity = Environment.TickCount64;
    private long _bytesFromClient;
    private long _bytesToClient;
    private volatile bool _handshakeDone;
    private volatile bool _backendEof;
    private int _aborted;
    private string? _end;

    public ProxyConnection(ProxyServer server, Socket client, TlsServerConnection tls)
    {
        _server = server;
        _client = client;
        _tls = tls;
        RemoteEndPoint = client.RemoteEndPoint;
    }

    public EndPoint? RemoteEndPoint { get; }

    /// <summary>Called by the server's once-a-second sweep: enforces the handshake and idle timeouts.</summary>
    public void CheckTimeouts(long nowTicks, ProxyOptions options)
    {
        long idle = nowTicks - Volatile.Read(ref _lastActivity);
        if (!_handshakeDone && Stopwatch.GetElapsedTime(_startTimestamp) > options.HandshakeTimeout)
            Abort("handshake-timeout");
        else if (idle > (long)options.IdleTimeout.TotalMilliseconds)
            Abort("idle-timeout");
    }

    /// <summary>Cuts the connection: both sockets closed, pending operations fail, the loops end.</summary>
    public void Abort(string reason)
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
            return;
        SetEnd(reason);
        _client.Dispose();
        _backend?.Dispose();
    }

    public async Task RunAsync()
    {
        try
        {
            await ClientLoopAsync().ConfigureAwait(false);
            if (_backendLoop is not null)
                await _backendLoop.ConfigureAwait(false);
        }
        catch (Exception e) when (IsConnectionError(e))
        {
            SetEnd(_aborted != 0 ? "aborted" : "socket-error: " + e.Message);
        }
        catch (Exception e)
        {
            // A bug, not peer input: log it loudly, never take the process down.
            SetEnd("internal-error");
            _server.Log.UnexpectedError(RemoteEndPoint, e);
        }
        finally
        {
            Finish();
        }
    }

    private void Finish()
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            _client.Dispose();
            _backend?.Dispose();
        }
        TimeSpan duration = Stopwatch.GetElapsedTime(_startTimestamp);
        lock (_tls)
        {
            _server.OnConnectionEnded(this, new ConnectionSummary(
                RemoteEndPoint, _backendEndPoint, _tls.ServerName, _handshakeDone ? TlsNames.Version(_tls.NegotiatedVersion) : null,
                _handshakeDone ? TlsNames.CipherSuite(_tls.CipherSuite) : null, _handshakeDone ? _tls.Group?.ToString() : null,
                _handshakeDone && _tls.IsResumed, _tls.ApplicationProtocol,
                _bytesFromClient, _bytesToClient, duration, _end ?? "closed", _handshakeDone));
            _tls.Dispose();
        }
        _clientSendLock.Dispose();
    }

    private void SetEnd(string reason) => Interlocked.CompareExchange(ref _end, reason, null);

    private void Touch() => Volatile.Write(ref _lastActivity, Environment.TickCount64);

    // ------------------------------------------------------------------ client -> backend

    private async Task ClientLoopAsync()
    {
        bool first = true;
        while (true)
        {
            // Wait for data without holding a buffer: idle connections are the common case, and a client that stops
            // half-way through its handshake must not hold 64 KiB until the handshake timeout. Only the first read goes
            // straight in: the listener accepts once the ClientHello is there (TcpHints.DeferAccept).
            if (!first)
                await _client.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
            first = false;
            byte[] buffer = ArrayPool<byte>.Shared.Rent(ClientReadSize);
            try
            {
                int n = await _client.ReceiveAsync(buffer.AsMemory(0, ClientReadSize), SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                {
                    OnClientEof();
                    return;
                }
                Touch();
                if (!await ProcessClientBytesAsync(buffer, n).ConfigureAwait(false))
                    return;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Feeds client bytes to TLS and acts on every pause. False when the client side is finished.</summary>
    private async ValueTask<bool> ProcessClientBytesAsync(byte[] buffer, int count)
    {
        int offset = 0;
        TlsStatus? next = null;
        while (true)
        {
            TlsStatus status;
            if (next is TlsStatus pending)
            {
                // The pause that ended a run of application records (see ForwardToBackendAsync).
                status = pending;
                next = null;
            }
            else
            {
                int used;
                lock (_tls)
                    status = _tls.Process(buffer.AsSpan(offset, count - offset), out used);
                offset += used;
            }
            switch (status)
            {
                case TlsStatus.WantRead:
                    await FlushToClientAsync().ConfigureAwait(false);
                    return true;
                case TlsStatus.WantWrite:
                    await FlushToClientAsync().ConfigureAwait(false);
                    break;
                case TlsStatus.HandshakeComplete:
                    // When nothing answers the client's Finished (no ticket, or the ticket already left with the server
                    // flight) and nothing came after it, acknowledge it now rather than after the 40 ms delayed-ACK
                    // timer: a client with Nagle on holds its first request until that ACK. A request that came with the
                    // Finished is acknowledged by its answer.
                    if (_tls.PendingOutput == 0 && offset == count)
                        TcpHints.AckNow(_client);
                    await FlushToClientAsync().ConfigureAwait(false);
                    _handshakeDone = true;
                    _server.Stats.Handshakes.Increment();
                    if (_server.Options.ConnectBackendEarly && !await EnsureBackendAsync(dataFollows: false).ConfigureAwait(false))
                        return false;
                    break;
                case TlsStatus.ApplicationDataAvailable:
                    // The backend is connected on the first byte of application data (as HAProxy does in HTTP mode):
                    // an idle TLS connection costs no backend connection and no second socket.
                    if (!await EnsureBackendAsync(dataFollows: true).ConfigureAwait(false))
                        return false;
                    (offset, next) = await ForwardToBackendAsync(buffer, offset, count).ConfigureAwait(false);
                    break;
                case TlsStatus.Closed:
                    // close_notify from the client: its write side is done; pass the half-close on.
                    await FlushToClientAsync().ConfigureAwait(false);
                    SetEnd("client-close-notify");
                    if (_backend is null)
                    {
                        CloseTlsAndFlushLater();
                        return false;
                    }
                    HalfCloseBackend();
                    return false;
                case TlsStatus.Failed:
                    await FlushToClientAsync().ConfigureAwait(false);
                    lock (_tls)
                        SetEnd($"tls-error: {_tls.FailureReason} (alert {_tls.LocalAlert?.ToString() ?? _tls.PeerAlert?.ToString() ?? "none"})");
                    _server.Stats.TlsFailures.Increment();
                    Abort("tls-error");
                    return false;
                default:
                    Abort("unexpected-tls-status " + status);
                    return false;
            }
        }
    }

    private void OnClientEof()
    {
        if (!_handshakeDone)
        {
            Abort("client-closed-in-handshake");
            return;
        }
        // FIN without close_notify: a truncation as far as TLS goes, but the backend still gets the half-close.
        SetEnd("client-fin");
        if (_backend is null)
        {
            CloseTlsAndFlushLater();
            return;
        }
        HalfCloseBackend();
    }

    /// <summary>
    /// Passes the client's end of data on to the backend as a FIN. When the backend has already ended its side (its EOF
    /// was read), both directions are done and the socket is closed right after, which sends the same FIN: the
    /// shutdown call is skipped then (one system call per connection for a request that ends with the response).
    /// </summary>
    private void HalfCloseBackend()
    {
        if (!_backendEof)
            ShutdownSend(_backend);
    }

    /// <summary>
    /// Sends the record that is decrypted, and the records complete behind it in this read, to the backend in as few
    /// writes as the plaintext buffer allows. Returns where the input stands and the pause that ended the run (anything
    /// but <see cref="TlsStatus.ApplicationDataAvailable"/>), for the caller to act on after the data went out.
    /// </summary>
    private async ValueTask<(int Offset, TlsStatus Next)> ForwardToBackendAsync(byte[] input, int offset, int count)
    {
        byte[] plain = ArrayPool<byte>.Shared.Rent(BackendReadSize);
        // Plaintext is cleared before the buffer goes back to the pool: only the bytes written (a 1 KiB request does not
        // pay for clearing 64 KiB), all of it if something failed half-way.
        int dirty = plain.Length;
        try
        {
            int filled = 0, written = 0;
            while (true)
            {
                TlsStatus status = TlsStatus.ApplicationDataAvailable;
                bool recordLeft;
                lock (_tls)
                {
                    filled += _tls.ReadApplicationData(plain.AsSpan(filled));
                    recordLeft = _tls.ApplicationDataAvailable > 0;
                    // The next record joins this write while a whole one still fits behind what is there.
                    if (!recordLeft && plain.Length - filled >= MaxRecordPlaintext)
                    {
                        status = _tls.Process(input.AsSpan(offset, count - offset), out int used);
                        offset += used;
                    }
                }
                written = Math.Max(written, filled);
                bool more = status == TlsStatus.ApplicationDataAvailable;
                if (filled > 0 && (!more || recordLeft || plain.Length - filled < MaxRecordPlaintext))
                {
                    _bytesFromClient += filled;
                    await SendAllAsync(_backend!, plain.AsMemory(0, filled)).ConfigureAwait(false);
                    Touch();
                    filled = 0;
                }
                if (!more)
                {
                    dirty = written;
                    return (offset, status);
                }
            }
        }
        finally
        {
            plain.AsSpan(0, dirty).Clear();
            ArrayPool<byte>.Shared.Return(plain);
        }
    }

    /// <summary>The client is done before any data: no backend was ever needed; answer close_notify and finish.</summary>
    private void CloseTlsAndFlushLater()
    {
        lock (_tls)
            _tls.Close();
        _backendLoop = CloseClientAsync();
    }

    private async Task CloseClientAsync()
    {
        await FlushToClientAsync().ConfigureAwait(false);
        ShutdownSend(_client);
    }

    private async ValueTask<bool> EnsureBackendAsync(bool dataFollows)
    {
        if (_backend is not null)
            return true;
        if (!await ConnectBackendAsync(dataFollows || _server.Options.ProxyProtocol != ProxyProtocolVersion.None).ConfigureAwait(false))
            return false;
        _backendLoop = BackendLoopAsync();
        return true;
    }

    /// <param name="dataFollows">Bytes go out right after the connect (a request, a PROXY header).</param>
    private async ValueTask<bool> ConnectBackendAsync(bool dataFollows)
    {
        var pool = _server.Backends;
        uint start = pool.NextStart();
        ulong down = pool.DownMask(start);
        for (int attempt = 0; attempt < 2 * pool.Count; attempt++)
        {
            // The backends that are up first, then the ones marked down after a failed connect (see BackendPool).
            if (!pool.TryPick(start, attempt, down, out int index))
                continue;
            EndPoint target = pool[index];
            var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            // When bytes go out right after the connect (the request that made us connect, or a PROXY header), the
            // handshake's last ACK rides on them instead of leaving alone. Not for an early connect to a server that
            // speaks first: it would see the connection only when the delayed ACK timer fires (up to 200 ms).
            if (dataFollows)
                TcpHints.DelayAcks(socket);
            using var timeout = new CancellationTokenSource(_server.Options.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(target, timeout.Token).ConfigureAwait(false);
                if (_server.Options.ProxyProtocol != ProxyProtocolVersion.None)
                    await SendAllAsync(socket, BuildProxyHeader()).ConfigureAwait(false);
                _backend = socket;
                _backendEndPoint = target;
                if (pool.MarkUp(index))
                    _server.Log.BackendUp(target);
                if (Volatile.Read(ref _aborted) != 0)
                    socket.Dispose();
                return true;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                _server.Stats.BackendConnectFailures.Increment();
                string reason = e is OperationCanceledException ? "timeout" : e.Message;
                if (pool.MarkDown(index))
                    _server.Log.BackendDown(target, reason, pool.FailTimeout.TotalSeconds);
                else
                    _server.Log.BackendConnectFailed(target, reason);
            }
        }
        // No backend: tell the client cleanly rather than leaving it waiting.
        lock (_tls)
            _tls.Close();
        await FlushToClientAsync().ConfigureAwait(false);
        Abort("no-backend");
        return false;
    }

    private byte[] BuildProxyHeader()
    {
        ProxyTlsInfo info;
        lock (_tls)
            info = new ProxyTlsInfo(_tls.ServerName, _tls.ApplicationProtocol, TlsNames.Version(_tls.NegotiatedVersion),
                TlsNames.CipherSuite(_tls.CipherSuite), _tls.ClientCertificateSubject, ClientCertVerified: _tls.ClientCertificateSubject is not null);
        return ProxyProtocol.Build(_server.Options.ProxyProtocol, (IPEndPoint)RemoteEndPoint!, (IPEndPoint)_client.LocalEndPoint!, info);
    }

    // ------------------------------------------------------------------ backend -> client

    private async Task BackendLoopAsync()
    {
        Socket backend = _backend!;
        try
        {
            while (true)
            {
                // Ask whether more is already waiting (the zero-byte receive is a non-blocking peek when it is) before
                // sending what the last reads produced: a response and the backend's FIN that arrive together then leave
                // as one write (data and close_notify), and a burst of reads leaves as one larger write. Only when
                // nothing is waiting does the queued output go out, so no byte waits for the next event.
                ValueTask<int> ready = backend.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                if (ready.IsCompleted)
                {
                    ready.GetAwaiter().GetResult();
                }
                else
                {
                    await FlushToClientAsync().ConfigureAwait(false);
                    await ready.ConfigureAwait(false);
                }
                byte[] buffer = ArrayPool<byte>.Shared.Rent(BackendReadSize);
                int pending;
                int dirty = buffer.Length; // cleared before the buffer goes back: what was read, or all of it after a failure
                try
                {
                    int n = await backend.ReceiveAsync(buffer.AsMemory(0, BackendReadSize), SocketFlags.None).ConfigureAwait(false);
                    dirty = n;
                    if (n == 0)
                    {
                        _backendEof = true; // nothing unread: closing the socket later sends a FIN, never an RST
                        // Backend FIN: close_notify, then FIN to the client. Corked, so the last data, close_notify and
                        // the FIN leave in one segment (shutdown pushes the corked tail with FIN set).
                        lock (_tls)
                            _tls.Close();
                        TcpHints.Cork(_client);
                        await FlushToClientAsync().ConfigureAwait(false);
                        SetEnd("backend-close");
                        ShutdownSend(_client);
                        return;
                    }
                    Touch();
                    lock (_tls)
                    {
                        _tls.WriteApplicationData(buffer.AsSpan(0, n));
                        pending = _tls.PendingOutput;
                    }
                    _bytesToClient += n;
                }
                finally
                {
                    buffer.AsSpan(0, dirty).Clear();
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                // Bound what waits in the TLS output queue while the backend keeps sending.
                if (pending >= DeferredFlushLimit)
                    await FlushToClientAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (IsConnectionError(e) || e is InvalidOperationException)
        {
            Abort(_aborted != 0 ? "aborted" : "backend-error: " + e.Message);
        }
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Sends all queued TLS output to the client, in order, under the client send lock.</summary>
    private async ValueTask FlushToClientAsync()
    {
        await _clientSendLock.WaitAsync().ConfigureAwait(false);
        byte[]? chunk = null;
        try
        {
            while (true)
            {
                int n;
                lock (_tls)
                {
                    int pending = _tls.PendingOutput;
                    if (pending == 0)
                        return;
                    chunk ??= ArrayPool<byte>.Shared.Rent(Math.Min(pending, FlushChunk));
                    n = _tls.DrainOutput(chunk);
                }
                await SendAllAsync(_client, chunk.AsMemory(0, n)).ConfigureAwait(false);
                Touch();
            }
        }
        finally
        {
            if (chunk is not null)
                ArrayPool<byte>.Shared.Return(chunk);
            _clientSendLock.Release();
        }
    }

    private static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    private static void ShutdownSend(Socket? socket)
    {
        try
        {
            socket?.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (IsConnectionError(e))
        {
            // Already gone: nothing to half-close.
        }
    }

    private static bool IsConnectionError(Exception e) => e is SocketException or ObjectDisposedException or OperationCanceledException or IOException;
}

/// <summary>What the one log line per connection says.</summary>
public readonly record struct ConnectionSummary(
    EndPoint? Client, EndPoint? Backend, string? ServerName, string? Version, string? CipherSuite, string? Group, bool Resumed, string? Alpn,
    long BytesFromClient, long BytesToClient, TimeSpan Duration, string End, bool HandshakeDone);
