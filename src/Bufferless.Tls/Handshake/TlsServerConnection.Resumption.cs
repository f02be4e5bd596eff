using System.Buffers.Binary;
using System.Security.Cryptography;
using Bufferless.Crypto.Hash;
using Bufferless.Tls.KeySchedule;
using Bufferless.Tls.Messages;
using Bufferless.Tls.Resumption;

namespace Bufferless.Tls;

/// <summary>
/// Stateless resumption: TLS 1.3 PSK tickets (RFC 8446 §4.2.11, §4.6.1; psk_dhe_ke only) and TLS 1.2 session
/// tickets (RFC 5077). Tickets are sealed by <see cref="TlsServerConfig.TicketKeys"/>; a ticket that does not open,
/// has expired or does not fit the negotiation is ignored and the handshake continues in full.
/// </summary>
public sealed partial class TlsServerConnection
{
    /// <summary>RFC 8446 §4.2.9 psk_dhe_ke.</summary>
    private const byte PskDheKe = 1;

    /// <summary>Allowed difference between the client's and the server's view of a ticket's age (RFC 8446 §8.3 discusses the window).</summary>
    private static readonly TimeSpan TicketAgeTolerance = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Picks the first offered identity whose ticket opens, is a TLS 1.3 ticket for a suite with the selected hash
    /// (RFC 8446 §4.2.11), is within its lifetime by both the server's clock and the client's obfuscated_ticket_age,
    /// and satisfies client authentication; then checks its binder. Returns false only on a fatal error
    /// (a binder that does not verify: decrypt_error, RFC 8446 §4.2.11 / §6.2).
    /// </summary>
    private bool TryAcceptPsk(ClientHello hello, CipherSuiteInfo suite, out TicketState? accepted, out int index)
    {
        accepted = null;
        index = -1;
        TlsServerConfig config = _config!;
        if (config.TicketKeys is not { } keys || !hello.HasPreSharedKey || !hello.PskKeyExchangeModes.Contains(PskDheKe))
            return true;
        for (int i = 0; i < hello.PskIdentities.Count; i++)
        {
            TlsPskIdentity identity = hello.PskIdentities[i];
            if (keys.TryOpen(identity.Identity.Span, _now) is not { } plain || TicketState.Decode(plain) is not { } state)
                continue;
            if (state.Version != TlsVersion.Tls13 || !CipherSuiteInfo.TryGet(state.Suite, out CipherSuiteInfo ticketSuite)
                || ticketSuite.IsTls12 || ticketSuite.Hash != suite.Hash || state.Secret.Length != suite.HashLength)
                continue;
            if (!IsTicketFresh(state))
                continue;
            // RFC 8446 §4.2.11.1: the client's age = obfuscated_ticket_age - ticket_age_add (mod 2^32), in milliseconds.
            uint clientAge = unchecked(identity.ObfuscatedTicketAge - state.AgeAdd);
            long serverAge = _now.ToUnixTimeMilliseconds() - state.IssuedUnixMilliseconds;
            if (Math.Abs(clientAge - serverAge) > TicketAgeTolerance.TotalMilliseconds)
                continue;
            if (config.ClientAuth == TlsClientAuth.Require && state.ClientCertificate is null)
                continue;
            if (!CheckBinder(hello, suite, state.Secret, hello.PskBinders[i].Span))
            {
                CryptographicOperations.ZeroMemory(state.Secret);
                return Fail(TlsAlertDescription.DecryptError, "PSK binder does not verify");
            }
            accepted = state;
            index = i;
            return true;
        }
        return true;
    }

    private bool IsTicketFresh(TicketState state)
    {
        long age = _now.ToUnixTimeMilliseconds() - state.IssuedUnixMilliseconds;
        // A ticket from the future (clock steps between instances) gets the same tolerance as the age check.
        return age >= -TicketAgeTolerance.TotalMilliseconds && age <= EffectiveTicketLifetime.TotalMilliseconds;
    }

    /// <summary>RFC 8446 §4.6.1: ticket lifetimes MUST NOT exceed 7 days.</summary>
    private TimeSpan EffectiveTicketLifetime => _config!.TicketLifetime > TimeSpan.FromDays(7) ? TimeSpan.FromDays(7) : _config.TicketLifetime;

    /// <summary>RFC 8446 §4.2.11.2: binder = HMAC(finished_key(binder_key), Transcript-Hash(Truncate(ClientHello))), after an HRR prefixed by it.</summary>
    private bool CheckBinder(ClientHello hello, CipherSuiteInfo suite, byte[] psk, ReadOnlySpan<byte> binder)
    {
        if (binder.Length != suite.HashLength)
            return false;
        Span<byte> transcript = stackalloc byte[suite.HashLength];
        Sha2.HashData(suite.HashKind, _hrrTranscriptPrefix, _currentHelloMessage.AsSpan(0, hello.TruncatedLength), transcript);
        using EarlySecret early = EarlySecret.Create(suite, psk);
        using TrafficSecret binderKey = early.DeriveResumptionBinderKey();
        Span<byte> expected = stackalloc byte[suite.HashLength];
        binderKey.ComputeFinished(transcript, expected);
        bool ok = CryptographicOperations.FixedTimeEquals(expected, binder);
        CryptographicOperations.ZeroMemory(expected);
        return ok;
    }

    /// <summary>RFC 8446 §4.6.1: one NewSessionTicket under the server's application key; the transcript must include the client Finished.</summary>
    private void SendTicket13()
    {
        TlsServerConfig config = _config!;
        Span<byte> hash = stackalloc byte[_suite.HashLength];
        _transcript!.GetCurrentHash(hash);
        byte[] resumptionMaster = _masterSecret!.DeriveResumptionSecret(hash);
        ReadOnlySpan<byte> nonce = [0]; // one ticket per connection: the nonce only has to be unique within it
        byte[] psk = TrafficSecret.ResumptionPsk(_suite, resumptionMaster, nonce);
        CryptographicOperations.ZeroMemory(resumptionMaster);
        Span<byte> ageAddBytes = stackalloc byte[4];
        config.Random(ageAddBytes);
        var state = new TicketState
        {
            Version = TlsVersion.Tls13,
            Suite = CipherSuite,
            IssuedUnixMilliseconds = _now.ToUnixTimeMilliseconds(),
            AgeAdd = BinaryPrimitives.ReadUInt32BigEndian(ageAddBytes),
            Secret = psk,
            ClientCertificate = ClientCertificateDer,
        };
        byte[] encoded = state.Encode();
        byte[] ticket = config.TicketKeys!.Seal(encoded, _now);
        CryptographicOperations.ZeroMemory(encoded);
        CryptographicOperations.ZeroMemory(psk);
        byte[] message = new byte[32 + ticket.Length];
        var w = new TlsWriter(message);
        ServerMessages.WriteNewSessionTicket13(ref w, (uint)EffectiveTicketLifetime.TotalSeconds, state.AgeAdd, nonce, ticket);
        WriteProtected(TlsContentType.Handshake, w.Written);
        _ticketSent = true;
        TicketsIssued++;
    }

    /// <summary>Tickets this connection issued (0 or 1).</summary>
    public int TicketsIssued { get; private set; }

    /// <summary>Opens a TLS 1.2 ticket offered in the SessionTicket extension (RFC 5077 §3.4); null when it cannot be used.</summary>
    private TicketState? TryOpenTicket12(ClientHello hello)
    {
        TlsServerConfig config = _config!;
        if (config.TicketKeys is not { } keys || hello.SessionTicket is not { Length: > 0 } ticket)
            return null;
        if (keys.TryOpen(ticket.Span, _now) is not { } plain || TicketState.Decode(plain) is not { } state)
            return null;
        bool usable = state.Version == TlsVersion.Tls12
            && state.Secret.Length == Tls12KeySchedule.MasterSecretLength
            && config.Tls12CipherSuites.Contains(state.Suite)
            && hello.CipherSuites.Contains((ushort)state.Suite)
            && IsTicketFresh(state)
            && !(config.ClientAuth == TlsClientAuth.Require && state.ClientCertificate is null);
        if (usable)
            return state;
        CryptographicOperations.ZeroMemory(state.Secret);
        return null;
    }

    /// <summary>RFC 5077 §3.3 NewSessionTicket carrying the master secret (always with the extended master secret here).</summary>
    private void WriteTicket12(ref TlsWriter w, ReadOnlySpan<byte> master, long issuedUnixMilliseconds)
    {
        TlsServerConfig config = _config!;
        var state = new TicketState
        {
            Version = TlsVersion.Tls12,
            Suite = CipherSuite,
            IssuedUnixMilliseconds = issuedUnixMilliseconds,
            Secret = master.ToArray(),
            ClientCertificate = ClientCertificateDer,
        };
        byte[] encoded = state.Encode();
        byte[] ticket = config.TicketKeys!.Seal(encoded, _now);
        CryptographicOperations.ZeroMemory(encoded);
        CryptographicOperations.ZeroMemory(state.Secret);
        long remaining = (long)EffectiveTicketLifetime.TotalSeconds - (_now.ToUnixTimeMilliseconds() - issuedUnixMilliseconds) / 1000;
        ServerMessages.WriteNewSessionTicket12(ref w, (uint)Math.Max(0, remaining), ticket);
        TicketsIssued++;
    }
}
