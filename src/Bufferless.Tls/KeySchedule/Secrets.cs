using System.Security.Cryptography;
using Bufferless.Crypto.Hash;

namespace Bufferless.Tls.KeySchedule;

/// <summary>
/// The TLS 1.3 key schedule (RFC 8446 §7.1) as one type per stage, so a secret cannot be used at the
/// wrong stage: <see cref="EarlySecret"/> -> <see cref="HandshakeSecret"/> -> <see cref="MasterSecret"/>,
/// each handing out <see cref="TrafficSecret"/>s. Every stage zeroes its secret on Dispose.
/// </summary>
internal abstract class StageSecret : IDisposable
{
    private readonly byte[] _secret;

    protected StageSecret(CipherSuiteInfo suite, byte[] secret)
    {
        Suite = suite;
        _secret = secret;
    }

    public CipherSuiteInfo Suite { get; }

    /// <summary>The raw secret (for tests and the key log). Empty after Dispose.</summary>
    public ReadOnlySpan<byte> Secret => _secret;

    protected byte[] DeriveSecret(string label, ReadOnlySpan<byte> transcriptHash)
    {
        byte[] output = new byte[Suite.HashLength];
        HkdfLabel.Expand(Suite.HashKind, _secret, label, transcriptHash, output);
        return output;
    }

    /// <summary>Derive-Secret(this, "derived", "") then HKDF-Extract with <paramref name="ikm"/>: the next stage's secret.</summary>
    protected byte[] ExtractNext(ReadOnlySpan<byte> ikm)
    {
        Span<byte> emptyHash = stackalloc byte[Suite.HashLength];
        Suite.HashEmpty(emptyHash);
        Span<byte> salt = stackalloc byte[Suite.HashLength];
        HkdfLabel.Expand(Suite.HashKind, _secret, "derived", emptyHash, salt);
        byte[] next = new byte[Suite.HashLength];
        Hkdf.Extract(Suite.HashKind, ikm, salt, next);
        CryptographicOperations.ZeroMemory(salt);
        return next;
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_secret);
        GC.SuppressFinalize(this);
    }
}

internal sealed class EarlySecret : StageSecret
{
    private EarlySecret(CipherSuiteInfo suite, byte[] secret) : base(suite, secret) { }

    /// <summary>RFC 8446 §7.1: Early Secret = HKDF-Extract(0, PSK), with a zero PSK of hash length when there is none.</summary>
    public static EarlySecret Create(CipherSuiteInfo suite, ReadOnlySpan<byte> psk = default)
    {
        Span<byte> zeros = stackalloc byte[suite.HashLength];
        zeros.Clear();
        byte[] secret = new byte[suite.HashLength];
        Hkdf.Extract(suite.HashKind, psk.IsEmpty ? zeros : psk, zeros, secret);
        return new EarlySecret(suite, secret);
    }

    public HandshakeSecret DeriveHandshakeSecret(ReadOnlySpan<byte> sharedSecret) =>
        new(Suite, ExtractNext(sharedSecret));

    /// <summary>RFC 8446 §7.1: binder_key = Derive-Secret(Early Secret, "res binder", ""); its finished key MACs the binder (§4.2.11.2).</summary>
    public TrafficSecret DeriveResumptionBinderKey()
    {
        Span<byte> emptyHash = stackalloc byte[Suite.HashLength];
        Suite.HashEmpty(emptyHash);
        return new TrafficSecret(Suite, DeriveSecret("res binder", emptyHash));
    }
}

internal sealed class HandshakeSecret : StageSecret
{
    internal HandshakeSecret(CipherSuiteInfo suite, byte[] secret) : base(suite, secret) { }

    /// <param name="helloHash">Transcript-Hash(ClientHello...ServerHello).</param>
    public TrafficSecret DeriveClientTrafficSecret(ReadOnlySpan<byte> helloHash) => new(Suite, DeriveSecret("c hs traffic", helloHash));

    public TrafficSecret DeriveServerTrafficSecret(ReadOnlySpan<byte> helloHash) => new(Suite, DeriveSecret("s hs traffic", helloHash));

    public MasterSecret DeriveMasterSecret()
    {
        Span<byte> zeros = stackalloc byte[Suite.HashLength];
        zeros.Clear();
        return new MasterSecret(Suite, ExtractNext(zeros));
    }
}

internal sealed class MasterSecret : StageSecret
{
    internal MasterSecret(CipherSuiteInfo suite, byte[] secret) : base(suite, secret) { }

    /// <param name="handshakeHash">Transcript-Hash(ClientHello...server Finished).</param>
    public TrafficSecret DeriveClientApplicationSecret(ReadOnlySpan<byte> handshakeHash) => new(Suite, DeriveSecret("c ap traffic", handshakeHash));

    public TrafficSecret DeriveServerApplicationSecret(ReadOnlySpan<byte> handshakeHash) => new(Suite, DeriveSecret("s ap traffic", handshakeHash));

    public byte[] DeriveExporterSecret(ReadOnlySpan<byte> handshakeHash) => DeriveSecret("exp master", handshakeHash);

    /// <param name="fullHash">Transcript-Hash(ClientHello...client Finished).</param>
    public byte[] DeriveResumptionSecret(ReadOnlySpan<byte> fullHash) => DeriveSecret("res master", fullHash);
}

/// <summary>A handshake or application traffic secret: keys, IV, Finished key, and its KeyUpdate successor.</summary>
internal sealed class TrafficSecret : StageSecret
{
    internal TrafficSecret(CipherSuiteInfo suite, byte[] secret) : base(suite, secret) { }

    /// <summary>RFC 8446 §7.3: write_key = HKDF-Expand-Label(Secret, "key", "", key_length); write_iv likewise with "iv".</summary>
    public void DeriveKeyAndIv(Span<byte> key, Span<byte> iv)
    {
        HkdfLabel.Expand(Suite.HashKind, Secret, "key", default, key[..Suite.KeyLength]);
        HkdfLabel.Expand(Suite.HashKind, Secret, "iv", default, iv[..12]);
    }

    /// <summary>RFC 8446 §4.4.4: verify_data = HMAC(finished_key, Transcript-Hash(...)), finished_key from label "finished".</summary>
    public void ComputeFinished(ReadOnlySpan<byte> transcriptHash, Span<byte> verifyData)
    {
        Span<byte> finishedKey = stackalloc byte[Suite.HashLength];
        HkdfLabel.Expand(Suite.HashKind, Secret, "finished", default, finishedKey);
        Hmac.Compute(Suite.HashKind, finishedKey, transcriptHash, verifyData);
        CryptographicOperations.ZeroMemory(finishedKey);
    }

    /// <summary>RFC 8446 §7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length).</summary>
    public TrafficSecret Next() => new(Suite, DeriveSecret("traffic upd", default));

    public byte[] ToArray() => Secret.ToArray();

    /// <summary>RFC 8446 §4.6.1: PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length).</summary>
    public static byte[] ResumptionPsk(CipherSuiteInfo suite, ReadOnlySpan<byte> resumptionMasterSecret, ReadOnlySpan<byte> ticketNonce)
    {
        byte[] psk = new byte[suite.HashLength];
        HkdfLabel.Expand(suite.HashKind, resumptionMasterSecret, "resumption", ticketNonce, psk);
        return psk;
    }
}
