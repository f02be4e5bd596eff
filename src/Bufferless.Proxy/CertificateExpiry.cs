using Bufferless.Tls;

namespace Bufferless.Proxy;

/// <summary>
/// Warnings for served certificates that have expired or expire soon: logged at start and on reload, printed by
/// <c>--check</c>. An expired certificate is still served (some deployments knowingly do), but clients that check it
/// refuse the connection, so the operator should hear of it before they do.
/// </summary>
public static class CertificateExpiry
{
    /// <summary>Certificates that expire within this time get a warning.</summary>
    public static readonly TimeSpan WarnBefore = TimeSpan.FromDays(14);

    public static IEnumerable<string> Warnings(IEnumerable<TlsCertificate> certificates, DateTimeOffset now)
    {
        foreach (var c in certificates)
        {
            if (c.NotAfter <= now)
                yield return $"certificate {c.Subject} expired on {c.NotAfter:yyyy-MM-dd HH:mm} UTC: clients that check it will refuse the connection";
            else if (c.NotAfter - now < WarnBefore)
                yield return $"certificate {c.Subject} expires on {c.NotAfter:yyyy-MM-dd HH:mm} UTC (in {Remaining(c.NotAfter - now)})";
        }
    }

    /// <summary>"364 days", "30 hours", "expired".</summary>
    public static string Remaining(TimeSpan left) =>
        left <= TimeSpan.Zero ? "expired" : left.TotalDays >= 2 ? $"{(int)left.TotalDays} days" : $"{(int)left.TotalHours} hours";
}
