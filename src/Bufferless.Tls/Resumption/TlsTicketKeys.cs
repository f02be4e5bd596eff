using System.Security.Cryptography;
using Bufferless.Crypto;
using Bufferless.Crypto.Aead;

namespace Bufferless.Tls;

/// <summary>
/// Keys that seal stateless session tickets (RFC 5077 §4 recommended layout, AES-256-GCM instead of CBC+HMAC):
/// one current key that issues tickets plus previous keys that still open them, so a rotation does not invalidate
/// tickets in flight and several instances sharing one file resume each other's sessions.
/// <para>
/// Ticket: <c>key_name (16) || nonce (12) || AES-256-GCM(state) || tag (16)</c>, the key name as AAD, a random nonce.
/// </para>
/// <para>
/// Key file format (the nginx/haproxy 80-byte convention, so <c>openssl rand 80 &gt; ticket.key</c> makes one key):
/// either raw binary, a multiple of 80 bytes, or text with one base64-encoded 80-byte key per line ('#' comments allowed).
/// Each 80-byte key is <c>name (16) || secret (64)</c>; the AES-256 key is HKDF-SHA256(secret, salt = name,
/// info = "bufferless ticket key", 32). The FIRST key in the file issues tickets; the others only open them.
/// To rotate with files: put a new key first, keep the old ones after it, and reload on every instance.
/// </para>
/// Thread-safe: one instance is shared by every connection of a configuration.
/// </summary>
public sealed class TlsTicketKeys : IDisposable
{
    public const int KeyMaterialLength = 80;
    public const int KeyNameLength = 16;
    private const int NonceLength = 12;
    private const int TagLength = 16;

    /// <summary>Bytes a ticket adds to the sealed state.</summary>
    public const int TicketOverhead = KeyNameLength + NonceLength + TagLength;

    private readonly Lock _lock = new();
    private readonly List<TicketKey> _keys; // [0] issues
    private readonly int _keep;

    private TlsTicketKeys(List<TicketKey> keys, TimeSpan? rotationInterval, int keep, DateTimeOffset created)
    {
        _keys = keys;
        RotationInterval = rotationInterval;
        _keep = keep;
        CurrentKeyCreated = created;
    }

    /// <summary>When set, the issuing key is replaced once it is this old (checked whenever a ticket is issued or opened).</summary>
    public TimeSpan? RotationInterval { get; }

    /// <summary>When the current issuing key was made or loaded.</summary>
    public DateTimeOffset CurrentKeyCreated { get; private set; }

    /// <summary>Keys currently held (issuing + accepting).</summary>
    public int KeyCount
    {
        get { lock (_lock) return _keys.Count; }
    }

    /// <summary>The name of the issuing key (the first 16 bytes of every ticket it seals).</summary>
    public byte[] CurrentKeyName
    {
        get { lock (_lock) return _keys[0].Name.ToArray(); }
    }

    /// <summary>Fresh random keys that rotate themselves every <paramref name="rotationInterval"/>, keeping <paramref name="previousKeys"/> old keys for accepting.</summary>
    public static TlsTicketKeys CreateRandom(DateTimeOffset now, TimeSpan? rotationInterval = null, int previousKeys = 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(previousKeys);
        return new TlsTicketKeys([TicketKey.FromMaterial(RandomNumberGenerator.GetBytes(KeyMaterialLength))], rotationInterval, previousKeys, now);
    }

    /// <summary>Keys from concatenated 80-byte records (first issues). No self-rotation: rotate by reloading.</summary>
    public static TlsTicketKeys FromBytes(ReadOnlySpan<byte> material, DateTimeOffset now)
    {
        if (material.IsEmpty || material.Length % KeyMaterialLength != 0)
            throw new ArgumentException($"ticket key material must be a non-empty multiple of {KeyMaterialLength} bytes (got {material.Length})", nameof(material));
        var keys = new List<TicketKey>();
        for (int offset = 0; offset < material.Length; offset += KeyMaterialLength)
            keys.Add(TicketKey.FromMaterial(material.Slice(offset, KeyMaterialLength)));
        return new TlsTicketKeys(keys, null, keys.Count, now);
    }

    /// <summary>Loads a key file (binary or base64 lines, see the type comment).</summary>
    public static TlsTicketKeys LoadFile(string path, DateTimeOffset now)
    {
        byte[] raw = File.ReadAllBytes(path);
        try
        {
            if (raw.Length > 0 && raw.Length % KeyMaterialLength == 0 && !LooksLikeText(raw))
                return FromBytes(raw, now);
            var material = new List<byte>();
            foreach (string line in System.Text.Encoding.ASCII.GetString(raw).Split('\n'))
            {
                string text = line.Trim();
                if (text.Length == 0 || text.StartsWith('#'))
                    continue;
                byte[] key;
                try
                {
                    key = Convert.FromBase64String(text);
                }
                catch (FormatException)
                {
                    throw new ArgumentException($"ticket key file {path}: a line is not base64", nameof(path));
                }
                if (key.Length != KeyMaterialLength)
                    throw new ArgumentException($"ticket key file {path}: each key must be {KeyMaterialLength} bytes (got {key.Length}); "
                        + "a base64 key must be on one line, e.g. from `openssl rand 80 | openssl base64 -A`", nameof(path));
                material.AddRange(key);
                CryptographicOperations.ZeroMemory(key);
            }
            byte[] all = [.. material];
            try
            {
                return FromBytes(all, now);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(all);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }

    /// <summary>Text for a new key file with <paramref name="count"/> random keys, one base64 line each.</summary>
    public static string GenerateKeyFileText(int count = 1)
    {
        var lines = new System.Text.StringBuilder();
        for (int i = 0; i < count; i++)
            lines.Append(Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyMaterialLength))).Append('\n');
        return lines.ToString();
    }

    private static bool LooksLikeText(byte[] raw)
    {
        foreach (byte b in raw)
        {
            if (b is not ((>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'+' or (byte)'/' or (byte)'=' or (byte)'\n' or (byte)'\r' or (byte)' ' or (byte)'#'))
                return false;
        }
        return true;
    }

    /// <summary>Makes a new issuing key now; the old one moves to the accepting keys (the oldest beyond the kept count is dropped).</summary>
    public void Rotate(DateTimeOffset now)
    {
        lock (_lock)
        {
            _keys.Insert(0, TicketKey.FromMaterial(RandomNumberGenerator.GetBytes(KeyMaterialLength)));
            while (_keys.Count > _keep + 1)
            {
                _keys[^1].Dispose();
                _keys.RemoveAt(_keys.Count - 1);
            }
            CurrentKeyCreated = now;
        }
    }

    /// <summary>Rotates when <see cref="RotationInterval"/> has passed since the current key was made; returns whether it did.</summary>
    public bool RotateIfDue(DateTimeOffset now)
    {
        if (RotationInterval is not TimeSpan interval)
            return false;
        lock (_lock)
        {
            if (now - CurrentKeyCreated < interval)
                return false;
            Rotate(now);
            return true;
        }
    }

    /// <summary>Seals <paramref name="state"/> under the issuing key (rotating first if due).</summary>
    internal byte[] Seal(ReadOnlySpan<byte> state, DateTimeOffset now)
    {
        RotateIfDue(now);
        byte[] ticket = new byte[TicketOverhead + state.Length];
        lock (_lock)
        {
            TicketKey key = _keys[0];
            key.Name.CopyTo(ticket, 0);
            Span<byte> nonce = ticket.AsSpan(KeyNameLength, NonceLength);
            RandomBytes.Fill(nonce);
            key.Aead.Seal(nonce, key.Name, state, ticket.AsSpan(KeyNameLength + NonceLength));
        }
        return ticket;
    }

    /// <summary>Opens a ticket sealed by any held key (rotating first if due); null when the key is unknown or the ticket was altered.</summary>
    internal byte[]? TryOpen(ReadOnlySpan<byte> ticket, DateTimeOffset now)
    {
        RotateIfDue(now);
        if (ticket.Length < TicketOverhead)
            return null;
        ReadOnlySpan<byte> name = ticket[..KeyNameLength];
        lock (_lock)
        {
            foreach (TicketKey key in _keys)
            {
                if (!name.SequenceEqual(key.Name))
                    continue;
                byte[] state = new byte[ticket.Length - TicketOverhead];
                return key.Aead.Open(ticket.Slice(KeyNameLength, NonceLength), key.Name, ticket[(KeyNameLength + NonceLength)..], state) ? state : null;
            }
        }
        return null;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (TicketKey key in _keys)
                key.Dispose();
            _keys.Clear();
        }
    }

    private sealed class TicketKey(byte[] name, RecordAead aead) : IDisposable
    {
        public byte[] Name { get; } = name;
        public RecordAead Aead { get; } = aead;

        public static TicketKey FromMaterial(ReadOnlySpan<byte> material)
        {
            byte[] name = material[..KeyNameLength].ToArray();
            Span<byte> key = stackalloc byte[32];
            HKDF.DeriveKey(HashAlgorithmName.SHA256, material[KeyNameLength..], key, name, "bufferless ticket key"u8);
            var aead = RecordAead.Create(AeadAlgorithm.Aes256Gcm, key);
            CryptographicOperations.ZeroMemory(key);
            return new TicketKey(name, aead);
        }

        public void Dispose() => Aead.Dispose();
    }
}
