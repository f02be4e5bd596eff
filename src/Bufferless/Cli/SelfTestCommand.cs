using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using Bufferless.Crypto;
using Bufferless.Crypto.Aead;
using Bufferless.Crypto.KeyExchange;

namespace Bufferless.Cli;

/// <summary><c>bufferless selftest</c>: known answers for every primitive, then throughput measured on this machine.</summary>
internal static class SelfTestCommand
{
    public static Command Create()
    {
        var seconds = new Option<double>("--seconds")
        {
            Description = "Time spent on each throughput figure.",
            DefaultValueFactory = _ => 0.5,
        };
        var noBench = new Option<bool>("--no-bench") { Description = "Only run the known-answer checks." };
        var cmd = new Command("selftest", "Checks every crypto primitive against known answers and prints the throughput measured here.")
        {
            seconds, noBench,
        };
        cmd.SetAction(parse => Run(parse.GetValue(seconds), parse.GetValue(noBench)));
        return cmd;
    }

    private static int Run(double seconds, bool noBench)
    {
        var results = CryptoSelfTest.Run();
        int failed = 0;
        Console.WriteLine("known-answer checks");
        foreach (var r in results)
        {
            Console.WriteLine($"  {(r.Passed ? "ok  " : "FAIL")} {r.Name,-18} {r.Detail}");
            if (!r.Passed) failed++;
        }
        if (failed > 0)
        {
            Console.Error.WriteLine($"selftest: {failed} of {results.Count} checks failed");
            return 1;
        }
        if (noBench) return 0;

        var budget = TimeSpan.FromSeconds(Math.Clamp(seconds, 0.05, 10));
        Console.WriteLine();
        Console.WriteLine($"throughput, one core, {budget.TotalSeconds:0.##} s per figure (MB/s = 10^6 bytes/s)");
        Console.WriteLine($"  {"AEAD",-18} {"seal 1448",10} {"open 1448",10} {"stream 16K",11} {"platform 16K",13}");
        foreach (var alg in new[] { AeadAlgorithm.Aes128Gcm, AeadAlgorithm.Aes256Gcm, AeadAlgorithm.ChaCha20Poly1305 })
            Console.WriteLine($"  {alg,-18} {SealMBps(alg, 1448, budget),10:0} {OpenMBps(alg, 1448, budget),10:0} {StreamMBps(alg, 16384, 1448, budget),11:0} {PlatformMBps(alg, 16384, budget),13:0}");
        Console.WriteLine();
        Console.WriteLine("key exchange, server side (fresh key + derive)");
        foreach (var g in new[] { NamedGroup.X25519, NamedGroup.Secp256r1, NamedGroup.Secp384r1, NamedGroup.X25519MLKEM768 })
            Console.WriteLine($"  {g,-18} {KeyExchangeMicros(g, budget),8:0.0} us/op");
        return 0;
    }

    private static double Measure(TimeSpan budget, int bytesPerOp, Action op)
    {
        // Warm up long enough for tiered compilation to promote the hot methods (they run as tier 0 at first).
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < TimeSpan.FromMilliseconds(300))
            op();
        long ops = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < budget)
        {
            for (int i = 0; i < 64; i++) op();
            ops += 64;
        }
        return ops * (double)bytesPerOp / sw.Elapsed.TotalSeconds / 1e6;
    }

    private static (RecordAead aead, byte[] nonce, byte[] aad, byte[] pt, byte[] body) Setup(AeadAlgorithm alg, int size)
    {
        var aead = RecordAead.Create(alg, RandomNumberGenerator.GetBytes(alg.KeySize()));
        byte[] nonce = RandomNumberGenerator.GetBytes(AeadAlgorithmInfo.NonceSize), aad = RandomNumberGenerator.GetBytes(5);
        byte[] pt = RandomNumberGenerator.GetBytes(size), body = new byte[size + AeadAlgorithmInfo.TagSize];
        aead.Seal(nonce, aad, pt, body);
        return (aead, nonce, aad, pt, body);
    }

    private static double SealMBps(AeadAlgorithm alg, int size, TimeSpan budget)
    {
        var (aead, nonce, aad, pt, body) = Setup(alg, size);
        using (aead) return Measure(budget, size, () => aead.Seal(nonce, aad, pt, body));
    }

    private static double OpenMBps(AeadAlgorithm alg, int size, TimeSpan budget)
    {
        var (aead, nonce, aad, pt, body) = Setup(alg, size);
        using (aead) return Measure(budget, size, () =>
        {
            if (!aead.Open(nonce, aad, body, pt)) throw new CryptographicException("self-sealed record failed to open");
        });
    }

    private static double StreamMBps(AeadAlgorithm alg, int size, int piece, TimeSpan budget)
    {
        var (aead, nonce, aad, pt, body) = Setup(alg, size);
        using (aead)
        using (var opener = aead.CreateOpener())
        {
            return Measure(budget, size, () =>
            {
                opener.Begin(nonce, aad, size);
                int written = 0;
                for (int i = 0; i < body.Length; i += piece)
                    written += opener.Update(body.AsSpan(i, Math.Min(piece, body.Length - i)), pt.AsSpan(written));
                if (!opener.Finish()) throw new CryptographicException("self-sealed record failed to open");
            });
        }
    }

    private static double PlatformMBps(AeadAlgorithm alg, int size, TimeSpan budget)
    {
        byte[] key = RandomNumberGenerator.GetBytes(alg.KeySize()), nonce = new byte[12], aad = new byte[5];
        byte[] pt = new byte[size], ct = new byte[size], tag = new byte[16];
        if (alg == AeadAlgorithm.ChaCha20Poly1305)
        {
            using var c = new ChaCha20Poly1305(key);
            c.Encrypt(nonce, pt, ct, tag, aad);
            return Measure(budget, size, () => c.Decrypt(nonce, ct, tag, pt, aad));
        }
        using var g = new AesGcm(key, 16);
        g.Encrypt(nonce, pt, ct, tag, aad);
        return Measure(budget, size, () => g.Decrypt(nonce, ct, tag, pt, aad));
    }

    private static double KeyExchangeMicros(NamedGroup group, TimeSpan budget)
    {
        var ka = KeyAgreement.Get(group);
        using var client = ka.CreateClientShare();
        byte[] share = client.PublicShare.ToArray(), serverShare = new byte[ka.ServerShareLength], secret = new byte[ka.SharedSecretLength];
        double opsPerSecMillion = Measure(budget / 2, 1, () => ka.TryServerRespond(share, serverShare, secret));
        return 1.0 / opsPerSecMillion;
    }
}
