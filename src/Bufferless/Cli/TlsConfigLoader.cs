using Bufferless.Tls;

namespace Bufferless.Cli;

/// <summary>
/// Builds the TLS configuration from the files named on the command line, at start-up and again on every SIGHUP.
/// A failed load leaves the caller's running configuration untouched.
/// </summary>
internal sealed class TlsConfigLoader(FileInfo certFile, FileInfo keyFile)
{
    public bool TryLoad(out TlsServerConfig? config, out string error)
    {
        config = null;
        if (!ProxyCommand.TryLoadCertificate(certFile, keyFile, out var certificate, out error))
            return false;
        config = new TlsServerConfig { Certificates = [certificate!] };
        return true;
    }

    public string Describe() => $"certificate {certFile.FullName}";
}
