using Bufferless.Packets.Engine;
using Bufferless.Packets.Tests.Simulation;
using Bufferless.Tls;

namespace Bufferless.Packets.Tests.Engine;

/// <summary>
/// STYLE.md: the hot path allocates nothing. An established flow (real handshake through the engine) carries
/// thousands of full segments each way after a warm-up; the bytes allocated on this thread meanwhile must be zero.
/// The packets are built before the measurement, and the sink only counts.
/// </summary>
public class EngineAllocationTests
{
    private const int Warmup = 600;
    private const int Measured = 3000;

    [Theory]
    [InlineData(CutThroughMode.Verified, 1426, TlsCipherSuite.Aes128GcmSha256)]
    [InlineData(CutThroughMode.Verified, 16384, TlsCipherSuite.Aes256GcmSha384)]
    [InlineData(CutThroughMode.Bufferless, 1426, TlsCipherSuite.ChaCha20Poly1305Sha256)]
    [InlineData(CutThroughMode.Bufferless, 16384, TlsCipherSuite.Aes128GcmSha256)]
    public void ClientToServer_EstablishedFlow_ZeroBytesPerPacket(CutThroughMode mode, int recordSize, TlsCipherSuite suite)
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(mode, suite), suite);
        harness.Establish();
        harness.Capture = false;
        harness.Feed(harness.BuildClientBatch(Warmup, recordSize));
        long decrypted = harness.Engine.Counters.RecordsDecrypted;
        long allocated = MinOfTwoRounds(() => harness.BuildClientBatch(Measured, recordSize), harness.Feed);
        Assert.True(harness.Engine.Counters.RecordsDecrypted - decrypted >= 2 * (Measured * EngineHarness.SegmentPayload / (recordSize + 22) - 1),
            harness.Engine.Counters.ToString());
        Assert.Equal(0, harness.Engine.Counters.ProtocolErrors + harness.Engine.Counters.TagFailures);
        Assert.True(allocated == 0, $"{allocated} bytes allocated for {Measured} client segments ({(double)allocated / Measured:F1} per packet)");
    }

    [Theory]
    [InlineData(CutThroughMode.Verified, TlsCipherSuite.Aes128GcmSha256)]
    [InlineData(CutThroughMode.Bufferless, TlsCipherSuite.ChaCha20Poly1305Sha256)]
    public void ServerToClient_EstablishedFlow_ZeroBytesPerPacket(CutThroughMode mode, TlsCipherSuite suite)
    {
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(mode, suite), suite);
        harness.Establish();
        harness.Capture = false;
        harness.Feed(harness.BuildServerBatch(Warmup));
        long encrypted = harness.Engine.Counters.RecordsEncrypted;
        long allocated = MinOfTwoRounds(() => harness.BuildServerBatch(Measured), harness.Feed);
        Assert.Equal(2 * Measured, harness.Engine.Counters.RecordsEncrypted - encrypted);
        Assert.True(allocated == 0, $"{allocated} bytes allocated for {Measured} server segments ({(double)allocated / Measured:F1} per packet)");
    }

    /// <summary>
    /// Bytes allocated on this thread while feeding a batch, the smaller of two rounds: an allocation per packet shows
    /// in both, while a one-off one does not count (ArrayPool.Shared trims its per-thread cache on a gen-2 GC that
    /// another test's allocations cause, so the next rent of the verified mode's record buffer allocates once).
    /// </summary>
    private static long MinOfTwoRounds(Func<byte[][]> build, Action<byte[][]> feed)
    {
        long least = long.MaxValue;
        for (int round = 0; round < 2; round++)
        {
            byte[][] batch = build();
            long before = GC.GetAllocatedBytesForCurrentThread();
            feed(batch);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }

    [Theory]
    [InlineData(CutThroughMode.Verified, 16384)]
    [InlineData(CutThroughMode.Bufferless, 1426)]
    public void Harness_BothDirections_BytesArriveIntact(CutThroughMode mode, int recordSize)
    {
        // The batches the benchmarks time carry real records: the server gets exactly the client's plaintext and the
        // client's TLS stack opens every record the engine sealed.
        using var harness = new EngineHarness(EngineHarness.DefaultOptions(mode));
        harness.Establish();
        var sent = new List<byte>();
        harness.Feed(harness.BuildClientBatch(200, recordSize, sent));
        byte[] atServer = harness.TakeServerBytes();
        Assert.True(atServer.Length > 0 && atServer.Length <= sent.Count);
        Assert.True(sent.Take(atServer.Length).SequenceEqual(atServer), "server plaintext differs from the client's");
        Assert.True(sent.Count - atServer.Length < recordSize + 1448, "only the record still open may be missing");

        long from = harness.ServerPlainSent;
        harness.Feed(harness.BuildServerBatch(200));
        harness.DeliverToClient();
        Assert.Null(harness.Tls.Error);
        Assert.Equal(harness.ServerPlaintext(from, 200), harness.Tls.ApplicationData.ToArray());
    }
}
