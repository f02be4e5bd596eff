using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Bufferless.Demo;

/// <summary>The demo's self-signed ECDSA P-256 certificate for localhost, made once and kept in the state folder.</summary>
internal static class DemoCertificate
{
    public static (string CertPath, string KeyPath) Ensure(string stateDir)
    {
        Directory.CreateDirectory(stateDir);
        string certPath = Path.Combine(stateDir, "demo-cert.pem");
        string keyPath = Path.Combine(stateDir, "demo-key.pem");
        if (File.Exists(certPath) && File.Exists(keyPath) && StillValid(certPath))
            return (certPath, keyPath);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost, O=Bufferless demo", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(365));

        File.WriteAllText(certPath, cert.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return (certPath, keyPath);
    }

    private static bool StillValid(string certPath)
    {
        try
        {
            // The certificate alone: CreateFromPemFile(path) would look for the key in the same file, fail, and make
            // every run replace the certificate a user may already trust.
            using var cert = X509Certificate2.CreateFromPem(File.ReadAllText(certPath));
            return cert.NotAfter > DateTime.Now.AddDays(1);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
