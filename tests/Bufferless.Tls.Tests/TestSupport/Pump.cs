namespace Bufferless.Tls.Tests.TestSupport;

/// <summary>Drives a <see cref="TlsServerConnection"/> with chosen input and output chunk sizes, recording every status.</summary>
internal sealed class ServerDriver : IDisposable
{
    public ServerDriver(TlsServerConfig? config, int inChunk = int.MaxValue, int outChunk = 16384, TlsServerConfig? lateConfig = null)
    {
        Connection = new TlsServerConnection(config);
        InChunk = inChunk;
        OutChunk = outChunk;
        LateConfig = lateConfig;
    }

    public TlsServerConnection Connection { get; }
    public int InChunk { get; }
    public int OutChunk { get; }
    public TlsServerConfig? LateConfig { get; }
    public List<TlsStatus> Statuses { get; } = [];
    public List<byte> Received { get; } = [];
    public TlsStatus Last => Statuses.Count == 0 ? TlsStatus.WantRead : Statuses[^1];

    /// <summary>Offers all bytes (in InChunk pieces), returns everything the server queued (drained in OutChunk pieces).</summary>
    public byte[] Feed(ReadOnlySpan<byte> bytes)
    {
        int offset = 0;
        while (true)
        {
            int size = Math.Min(InChunk, bytes.Length - offset);
            TlsStatus status = Connection.Process(bytes.Slice(offset, size), out int consumed);
            offset += consumed;
            Statuses.Add(status);
            switch (status)
            {
                case TlsStatus.ApplicationDataAvailable:
                    byte[] buffer = new byte[Math.Min(OutChunk, 1 << 16)];
                    int n;
                    while ((n = Connection.ReadApplicationData(buffer)) > 0) Received.AddRange(buffer.AsSpan(0, n));
                    continue;
                case TlsStatus.NeedsServerConfig:
                    Connection.SetServerConfig(LateConfig!);
                    continue;
                case TlsStatus.HandshakeComplete:
                case TlsStatus.WantWrite:
                    continue;
                case TlsStatus.WantRead:
                    if (offset < bytes.Length) continue;
                    return Drain();
                default:
                    return Drain();
            }
        }
    }

    public byte[] Drain()
    {
        var all = new List<byte>();
        byte[] buffer = new byte[Math.Min(OutChunk, 1 << 16)];
        int n;
        while ((n = Connection.DrainOutput(buffer)) > 0) all.AddRange(buffer.AsSpan(0, n));
        return [.. all];
    }

    public void Dispose() => Connection.Dispose();
}

internal static class Pump
{
    /// <summary>Moves bytes both ways until neither side has anything to say.</summary>
    public static void Run(TlsTestClient client, ServerDriver server, int maxRounds = 20)
    {
        for (int round = 0; round < maxRounds; round++)
        {
            byte[] toServer = client.TakeOutput();
            byte[] toClient = toServer.Length > 0 && server.Last is not (TlsStatus.Failed or TlsStatus.Closed)
                ? server.Feed(toServer)
                : server.Drain();
            if (toServer.Length == 0 && toClient.Length == 0)
                return;
            client.Feed(toClient);
        }
    }

    public static (TlsTestClient Client, ServerDriver Server) Handshake(TlsServerConfig config, TlsTestClientOptions? options = null,
        int inChunk = int.MaxValue, int outChunk = 16384)
    {
        var client = new TlsTestClient(options);
        var server = new ServerDriver(config, inChunk, outChunk);
        client.Start();
        Run(client, server);
        return (client, server);
    }
}
