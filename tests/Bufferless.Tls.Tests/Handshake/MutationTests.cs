using Bufferless.Crypto.KeyExchange;
using Bufferless.Tls.Tests.TestSupport;

namespace Bufferless.Tls.Tests.Handshake;

/// <summary>
/// Seeded mutations of recorded ClientHellos (bit flips, byte overwrites, truncations, insertions, length-field
/// rewrites), each fed in random-sized pieces to a fresh server: no exception escapes, a failure always carries
/// an alert that is queued for the peer, and a failed connection stays failed.
/// </summary>
public class MutationTests
{
    private static readonly TlsServerConfig Config = new()
    {
        Certificates = [TestCertificates.Create(TlsCertificateKeyType.EcdsaP256), TestCertificates.Create(TlsCertificateKeyType.Rsa)],
        ApplicationProtocols = ["h2", "http/1.1"],
        TicketKeys = TlsTicketKeys.CreateRandom(DateTimeOffset.UtcNow),
    };

    private static List<byte[]> RecordedHellos()
    {
        var hellos = new List<byte[]> { Rfc8448.ClientHelloRecord, new HelloBuilder().Record() };
        TlsTestClientOptions[] variants =
        [
            new(),
            new() { KeyShareGroups = [NamedGroup.X25519, NamedGroup.Secp256r1, NamedGroup.Secp384r1], Alpn = ["h2", "http/1.1"], RecordSizeLimit = 4096 },
            new() { KeyShareGroups = [], OfferEarlyData = true, CompatibilitySessionId = false, ServerName = null },
            new() { Suites = [TlsCipherSuite.ChaCha20Poly1305Sha256], SignatureSchemes = [TlsSignatureScheme.RsaPssRsaeSha512] },
        ];
        foreach (var options in variants)
        {
            using var client = new TlsTestClient(options);
            client.Start();
            hellos.Add(client.TakeOutput());
        }
        Tls12TestClientOptions[] variants12 =
        [
            new(),
            new() { SessionTicket = [], Alpn = ["h2"], SupportedVersions = [0x0303] },
            new() { SessionTicket = new byte[120], SessionId = new byte[32], ServerName = null, Groups = [NamedGroup.Secp384r1] },
        ];
        foreach (var options in variants12)
        {
            using var client = new Tls12TestClient(options);
            client.Start();
            hellos.Add(client.TakeOutput());
        }
        // Hellos offering real tickets (TLS 1.3 PSK with binder, TLS 1.2 SessionTicket) that the server can open.
        var (first, server) = Pump.Handshake(Config);
        TlsTestTicket ticket = first.Tickets[0];
        first.Dispose(); server.Dispose();
        using (var psk = new TlsTestClient(new TlsTestClientOptions { Resume = ticket }))
        {
            psk.Start();
            hellos.Add(psk.TakeOutput());
        }
        var (first12, server12) = Pump12.Handshake(Config, new Tls12TestClientOptions { SessionTicket = [] });
        using (var resume12 = new Tls12TestClient(new Tls12TestClientOptions { SessionTicket = first12.Ticket, SessionId = new byte[32] }))
        {
            resume12.Start();
            hellos.Add(resume12.TakeOutput());
        }
        first12.Dispose(); server12.Dispose();
        return hellos;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void ClientHello_ThousandsOfMutations_NoCrashAndAlertOnFailure(int seed)
    {
        var random = new Random(seed);
        List<byte[]> hellos = RecordedHellos();
        int failed = 0, accepted = 0;
        for (int i = 0; i < 1500; i++)
        {
            byte[] original = hellos[random.Next(hellos.Count)];
            byte[] mutated = Mutate(original, random);
            using var server = new TlsServerConnection(Config);
            TlsStatus status = TlsStatus.WantRead;
            int offset = 0;
            while (offset < mutated.Length)
            {
                int size = Math.Min(mutated.Length - offset, random.Next(1, 300));
                status = server.Process(mutated.AsSpan(offset, size), out int consumed);
                offset += consumed;
                if (status is TlsStatus.Failed or TlsStatus.Closed)
                    break;
                Assert.Equal(TlsStatus.WantRead, status);
                Assert.Equal(size, consumed);
            }
            if (status == TlsStatus.Failed)
            {
                failed++;
                if (server.PeerAlert is null)
                {
                    Assert.NotNull(server.LocalAlert);
                    byte[] output = Rfc8448HandshakeTests.Drain(server);
                    Assert.Equal((byte)server.LocalAlert!.Value, output[^1]);
                }
                Assert.Equal(TlsStatus.Failed, server.Process(original, out int after));
                Assert.Equal(0, after);
            }
            else if (server.PendingOutput > 0)
            {
                accepted++;
            }
        }
        // The mix must exercise both outcomes, or the mutations are too mild or too wild.
        Assert.True(failed > 300, $"failed {failed}");
        Assert.True(accepted > 30, $"accepted {accepted}");
    }

    private static byte[] Mutate(byte[] input, Random random)
    {
        byte[] data = (byte[])input.Clone();
        int kind = random.Next(7);
        switch (kind)
        {
            case 0: // flip bits
                for (int n = random.Next(1, 4); n > 0; n--)
                    data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
                return data;
            case 1: // overwrite a byte inside the handshake body
                data[random.Next(5, data.Length)] = (byte)random.Next(256);
                return data;
            case 2: // truncate
                return data[..random.Next(1, data.Length)];
            case 3: // insert bytes and fix the record length so the record layer passes them up
            {
                int at = random.Next(9, data.Length);
                byte[] insert = new byte[random.Next(1, 8)];
                random.NextBytes(insert);
                byte[] grown = [.. data[..at], .. insert, .. data[at..]];
                FixLengths(grown);
                return grown;
            }
            case 4: // rewrite a likely length field (a big-endian uint16 somewhere)
            {
                int at = random.Next(5, data.Length - 1);
                ushort value = (ushort)random.Next(0, 3) switch { 0 => 0, 1 => 0xFFFF, _ => (ushort)random.Next(0, 600) };
                data[at] = (byte)(value >> 8);
                data[at + 1] = (byte)value;
                return data;
            }
            case 5: // remove a slice and fix the outer lengths
            {
                int at = random.Next(9, data.Length - 1);
                int count = random.Next(1, Math.Min(40, data.Length - at));
                byte[] shrunk = [.. data[..at], .. data[(at + count)..]];
                FixLengths(shrunk);
                return shrunk;
            }
            default: // duplicate a slice (duplicate extensions, repeated entries), fix lengths
            {
                int at = random.Next(9, data.Length - 1);
                int count = random.Next(1, Math.Min(60, data.Length - at));
                byte[] grown = [.. data[..(at + count)], .. data[at..]];
                FixLengths(grown);
                return grown;
            }
        }
    }

    /// <summary>Rewrites the record length and the handshake length to match a resized single-record hello.</summary>
    private static void FixLengths(byte[] record)
    {
        int body = record.Length - 5;
        if (body > 0xFFFF) return;
        record[3] = (byte)(body >> 8);
        record[4] = (byte)body;
        int hs = body - 4;
        if (hs < 0) return;
        record[6] = (byte)(hs >> 16);
        record[7] = (byte)(hs >> 8);
        record[8] = (byte)hs;
    }
}
