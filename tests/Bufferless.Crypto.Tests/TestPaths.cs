namespace Bufferless.Crypto.Tests;

internal static class TestPaths
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Bufferless.slnx")))
                return dir.FullName;
        }
        throw new InvalidOperationException("repository root (Bufferless.slnx) not found above " + AppContext.BaseDirectory);
    });

    public static string RepoRoot => s_root.Value;

    /// <summary>A Wycheproof vector file shipped in tests/vectors/wycheproof (copied unchanged, see SOURCE.txt).</summary>
    public static string Wycheproof(string file) => Path.Combine(RepoRoot, "tests", "vectors", "wycheproof", file);
}
