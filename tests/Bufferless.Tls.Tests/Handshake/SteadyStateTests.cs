using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Handshake;

public class SteadyStateTests
{
    /// <summary>After warm-up, writing, draining, processing and reading application records allocates nothing.</summary>
    [Fact]
    public void ApplicationRecords_SteadyState_NoAllocation()
    {
        var (client, server) = Pump.Handshake(HandshakeTests.Config(TlsCertificateKeyType.EcdsaP256));
        using var _c = client; using var _s = server;
        TlsServerConnection connection = server.Connection;
        const int records = 200;
        byte[] chunk = new byte[1400];
        for (int i = 0; i < records; i++)
            client.SendApplicationData(chunk);
        byte[] incoming = client.TakeOutput();
        byte[] output = new byte[2048];
        byte[] plain = new byte[2048];

        void RoundTrip(ReadOnlySpan<byte> input)
        {
            while (!input.IsEmpty)
            {
                TlsStatus status = connection.Process(input, out int consumed);
                input = input[consumed..];
                if (status == TlsStatus.ApplicationDataAvailable)
                {
                    int n;
                    while ((n = connection.ReadApplicationData(plain)) > 0)
                    {
                        connection.WriteApplicationData(plain.AsSpan(0, n));
                        while (connection.DrainOutput(output) > 0) { }
                    }
                }
            }
        }

        int half = incoming.Length / 2 / (1400 + 22) * (1400 + 22);
        RoundTrip(incoming.AsSpan(0, half)); // warm-up: pools, JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        RoundTrip(incoming.AsSpan(half));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal((ulong)records, connection.ReadSequence);
    }
}
