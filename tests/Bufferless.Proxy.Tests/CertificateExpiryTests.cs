using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bufferless.Tls;

namespace Bufferless.Proxy.Tests;

public class CertificateExpiryTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static TlsCertificate Certificate(string cn, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256);
        using var cert = req.CreateSelfSigned(notAfter.AddDays(-400), notAfter);
        using var withKey = X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
        return TlsCertificate.FromX509(withKey);
    }

    [Fact]
    public void Warnings_ExpiredAndSoon_OneLineEach_FarOneSilent()
    {
        using var expired = Certificate("old.test", Now.AddHours(-3));
        using var soon = Certificate("soon.test", Now.AddDays(5).AddHours(1));
        using var far = Certificate("far.test", Now.AddDays(90));
        var warnings = CertificateExpiry.Warnings([expired, soon, far], Now).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.StartsWith("certificate CN=old.test expired on 2026-11-27 09:00 UTC", warnings[0]);
        Assert.Equal("certificate CN=soon.test expires on 2026-12-02 13:00 UTC (in 5 days)", warnings[1]);
    }

    [Fact]
    public void Warnings_Boundary_FourteenDaysIsSilent_JustUnderWarns()
    {
        using var atLimit = Certificate("limit.test", Now + CertificateExpiry.WarnBefore);
        using var under = Certificate("under.test", Now + CertificateExpiry.WarnBefore - TimeSpan.FromMinutes(1));
        Assert.Empty(CertificateExpiry.Warnings([atLimit], Now));
        Assert.Single(CertificateExpiry.Warnings([under], Now));
    }

    [Theory]
    [InlineData(-1.0, "expired")]
    [InlineData(30.0, "30 hours")]
    [InlineData(49.0, "2 days")]
    [InlineData(24 * 364 + 5.0, "364 days")]
    public void Remaining_HoursUnderTwoDays_DaysAbove(double hours, string expected) =>
        Assert.Equal(expected, CertificateExpiry.Remaining(TimeSpan.FromHours(hours)));
}
