using System.Text.Json;

namespace Bufferless.Crypto.Tests.KeyExchange;

/// <summary>Reads the flat test list of a Wycheproof file: every test with its group's fields merged in.</summary>
internal static class WycheproofFile
{
    public static IEnumerable<JsonElement> Tests(string file, out JsonDocument document)
    {
        document = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Wycheproof(file)));
        return Enumerate(document);
    }

    private static IEnumerable<JsonElement> Enumerate(JsonDocument document)
    {
        foreach (JsonElement group in document.RootElement.GetProperty("testGroups").EnumerateArray())
            foreach (JsonElement test in group.GetProperty("tests").EnumerateArray())
                yield return test;
    }

    public static byte[] Hex(this JsonElement test, string name) => Convert.FromHexString(test.GetProperty(name).GetString()!);

    public static string Str(this JsonElement test, string name) => test.GetProperty(name).GetString()!;

    public static int Id(this JsonElement test) => test.GetProperty("tcId").GetInt32();

    public static bool HasFlag(this JsonElement test, string flag) =>
        test.GetProperty("flags").EnumerateArray().Any(f => f.GetString() == flag);
}
