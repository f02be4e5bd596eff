namespace Bufferless.Tls;

/// <summary>Why <see cref="TlsServerConnection.Process"/> paused. Pending output is always drained with DrainOutput, whatever the status.</summary>
public enum TlsStatus
{
    /// <summary>All input was consumed; feed more bytes from the peer.</summary>
    WantRead,
    /// <summary>The output queue is over its high-water mark: drain it before feeding more input.</summary>
    WantWrite,
    /// <summary>A ClientHello was parsed and no configuration was given: inspect <see cref="TlsServerConnection.ClientHello"/>, call <see cref="TlsServerConnection.SetServerConfig"/>, then Process again.</summary>
    NeedsServerConfig,
    /// <summary>The client's Finished checked out (returned once). Application data can flow, or the record protection be taken.</summary>
    HandshakeComplete,
    /// <summary>Decrypted application data waits: read it with ReadApplicationData before processing more input.</summary>
    ApplicationDataAvailable,
    /// <summary>
    /// The peer sent close_notify. After the handshake this closes only the read side: application data may still be
    /// written, and <see cref="TlsServerConnection.Close"/> sends our close_notify. No more input is read.
    /// </summary>
    Closed,
    /// <summary>Fatal error (sticky): the alert we send, if any, is queued; see <see cref="TlsServerConnection.LocalAlert"/> / <see cref="TlsServerConnection.PeerAlert"/>.</summary>
    Failed,
}
