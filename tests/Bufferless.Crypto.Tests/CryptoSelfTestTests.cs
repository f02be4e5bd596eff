namespace Bufferless.Crypto.Tests;

public class CryptoSelfTestTests
{
    [Fact]
    public void Run_EveryPrimitive_PassesItsKnownAnswer()
    {
        var results = CryptoSelfTest.Run();
        Assert.Equal(7, results.Count);
        Assert.All(results, r => Assert.True(r.Passed, $"{r.Name}: {r.Detail}"));
    }
}
