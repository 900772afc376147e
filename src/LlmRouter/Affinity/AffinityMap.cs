using System.Collections.Concurrent;

namespace LlmRouter;

/// <summary>
/// A bounded map from a conversation's key (a 64-bit hash) to the endpoint that served it last, each entry expiring
/// a while after its latest use. Reads and updates of an existing entry allocate nothing.
/// </summary>
internal sealed class AffinityMap
{
    private readonly ConcurrentDictionary<ulong, Entry> _entries = new();
    private readonly object _trimGate = new();
    private long _stayed;
    private long _moved;
    private long _evicted;

    /// <summary>The entries, counted as they are added and removed: ConcurrentDictionary.Count takes every lock of the map.</summary>
    private int _count;

    /// <summary>Gets the number of conversations remembered.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Gets how many returning turns were served by the endpoint that served the previous turn.</summary>
    public long Stayed => Volatile.Read(ref _stayed);

    /// <summary>Gets how many returning turns were served by another endpoint (the previous one was unfit or failed).</summary>
    public long Moved => Volatile.Read(ref _moved);

    /// <summary>Gets how many entries were forgotten to keep the map within its bound (expired ones not counted).</summary>
    public long Evicted => Volatile.Read(ref _evicted);

    /// <summary>The endpoint that served <paramref name="key"/> last, if remembered and not expired at <paramref name="now"/>.</summary>
    public string? Lookup(ulong key, long now) =>
        _entries.TryGetValue(key, out Entry? entry) && Volatile.Read(ref entry.ExpiresAt) > now ? entry.Endpoint : null;

    /// <summary>Remembers that <paramref name="endpoint"/> served <paramref name="key"/>; returns the endpoint remembered before, if any.</summary>
    /// <param name="key">The conversation's key.</param>
    /// <param name="endpoint">The endpoint that served it.</param>
    /// <param name="now">The current timestamp.</param>
    /// <param name="expiresAt">When the entry expires unless used again.</param>
    /// <param name="capacity">The most entries to keep.</param>
    /// <param name="returning">Whether to count the turn as a returning one (stayed or moved).</param>
    public string? Remember(ulong key, string endpoint, long now, long expiresAt, int capacity, bool returning)
    {
        string? previous = null;
        if (_entries.TryGetValue(key, out Entry? entry))
        {
            previous = Volatile.Read(ref entry.ExpiresAt) > now ? entry.Endpoint : null;
            entry.Endpoint = endpoint;
            Volatile.Write(ref entry.ExpiresAt, expiresAt);
        }
        else
        {
            if (_entries.TryAdd(key, new Entry { Endpoint = endpoint, ExpiresAt = expiresAt }) &&
                Interlocked.Increment(ref _count) > capacity)
            {
                Trim(now, capacity);
            }
        }

        if (returning && previous is not null)
        {
            _ = string.Equals(previous, endpoint, StringComparison.Ordinal) ? Interlocked.Increment(ref _stayed) : Interlocked.Increment(ref _moved);
        }

        return previous;
    }

    /// <summary>Forgets expired entries, then, while still above nine tenths of the bound, those expiring soonest.</summary>
    /// <remarks>
    /// A caller that finds the map over its bound waits for a trim in progress rather than pass by: had it returned,
    /// callers adding while the trimming thread is descheduled would grow the map far past its bound (2 to 3 times
    /// with eight callers on two cores). Waiting, each adds at most one entry meanwhile. A trim runs once per tenth
    /// of the bound of new conversations, so the wait is rare.
    /// </remarks>
    private void Trim(long now, int capacity)
    {
        Monitor.Enter(_trimGate);
        try
        {
            if (Volatile.Read(ref _count) <= capacity)
            {
                return; // trimmed by another caller while this one waited
            }

            foreach (KeyValuePair<ulong, Entry> pair in _entries)
            {
                if (Volatile.Read(ref pair.Value.ExpiresAt) <= now && _entries.TryRemove(pair))
                {
                    _ = Interlocked.Decrement(ref _count);
                }
            }

            int target = capacity - Math.Max(1, capacity / 10);
            if (Volatile.Read(ref _count) <= target)
            {
                return;
            }

            // ToArray takes a consistent copy; spreading the dictionary (ICollection.CopyTo into an array sized from an
            // earlier Count) throws when another thread adds meanwhile, failing a request that had already succeeded.
            KeyValuePair<ulong, Entry>[] all = _entries.ToArray();
            int excess = all.Length - target;
            Array.Sort(all, static (a, b) => a.Value.ExpiresAt.CompareTo(b.Value.ExpiresAt));
            for (int i = 0; i < excess && i < all.Length; i++)
            {
                if (_entries.TryRemove(all[i]))
                {
                    _ = Interlocked.Decrement(ref _count);
                    _ = Interlocked.Increment(ref _evicted);
                }
            }
        }
        finally
        {
            Monitor.Exit(_trimGate);
        }
    }

    private sealed class Entry
    {
        public string Endpoint = string.Empty;
        public long ExpiresAt;
    }
}
