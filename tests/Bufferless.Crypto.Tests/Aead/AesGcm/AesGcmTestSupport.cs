using System.Text.Json;
using Bufferless.Crypto.Aead;

namespace Bufferless.Crypto.Tests.Aead.AesGcm;

internal static class AesGcmTestSupport
{
    /// <summary>Every path this machine supports; the portable path always.</summary>
    public static TheoryData<string> SupportedPaths()
    {
        var data = new TheoryData<string>();
        foreach (AesGcmPath path in new[] { AesGcmPath.Portable, AesGcmPath.Accelerated, AesGcmPath.Wide })
        {
            if (AesGcmPaths.IsSupported(path))
                data.Add(path.ToString());
        }
        return data;
    }

    /// <summary>Feeds <paramref name="body"/> to the opener in pieces whose sizes come from <paramref name="nextPiece"/>; returns the plaintext and Finish's verdict.</summary>
    public static bool OpenInPieces(RecordOpener opener, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> body, Span<byte> plaintext, Func<int> nextPiece)
    {
        int ctLen = body.Length - 16;
        opener.Begin(nonce, aad, ctLen);
        int inPos = 0, outPos = 0;
        while (inPos < body.Length)
        {
            Assert.Equal(body.Length - inPos, opener.Remaining);
            int piece = Math.Min(Math.Max(1, nextPiece()), body.Length - inPos);
            outPos += opener.Update(body.Slice(inPos, piece), plaintext[outPos..]);
            inPos += piece;
        }
        Assert.Equal(0, opener.Remaining);
        Assert.Equal(ctLen, outPos);
        return opener.Finish();
    }
}

internal sealed record WycheproofGcmVector(int TcId, string Comment, byte[] Key, byte[] Iv, byte[] Aad, byte[] Msg, byte[] Ct, byte[] Tag, string Result)
{
    public bool IsTlsShaped => Iv.Length == 12 && Tag.Length == 16 && Key.Length is 16 or 32;

    public override string ToString() => $"tcId {TcId} ({Comment})";

    private static readonly Lazy<IReadOnlyList<WycheproofGcmVector>> s_all = new(Load);

    public static IReadOnlyList<WycheproofGcmVector> All => s_all.Value;

    private static IReadOnlyList<WycheproofGcmVector> Load()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Wycheproof("aes_gcm_test.json")));
        var list = new List<WycheproofGcmVector>();
        foreach (JsonElement group in doc.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            foreach (JsonElement t in group.GetProperty("tests").EnumerateArray())
            {
                list.Add(new WycheproofGcmVector(
                    t.GetProperty("tcId").GetInt32(),
                    t.GetProperty("comment").GetString() ?? "",
                    Convert.FromHexString(t.GetProperty("key").GetString()!),
                    Convert.FromHexString(t.GetProperty("iv").GetString()!),
                    Convert.FromHexString(t.GetProperty("aad").GetString()!),
                    Convert.FromHexString(t.GetProperty("msg").GetString()!),
                    Convert.FromHexString(t.GetProperty("ct").GetString()!),
                    Convert.FromHexString(t.GetProperty("tag").GetString()!),
                    t.GetProperty("result").GetString()!));
            }
        }
        int declared = doc.RootElement.GetProperty("numberOfTests").GetInt32();
        if (list.Count != declared)
            throw new InvalidDataException($"aes_gcm_test.json declares {declared} tests, parsed {list.Count}");
        return list;
    }
}
