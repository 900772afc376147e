namespace LlmRouter;

/// <summary>
/// The router-wide retry budget: over a sliding window, extra attempts (retries, failovers, hedges, continuations) may
/// add at most <see cref="RetryOptions.BudgetRatio"/> of the requests, plus <see cref="RetryOptions.BudgetMinPerSecond"/>.
/// </summary>
/// <remarks>
/// The window is kept as ten buckets, each counting the requests and extra attempts of a tenth of it, so that old
/// traffic ages out. Counting is lock-free; a bucket is reset under a lock only when its time slice comes round again.
/// Concurrent requests may overdraw by a few attempts at most, which a budget tolerates.
/// </remarks>
internal sealed class RetryBudget
{
    private const int Buckets = 10;
    private readonly Bucket[] _buckets = new Bucket[Buckets];
    private readonly TimeProvider _timeProvider;
    private readonly Func<RetryOptions> _options;
    private long _sliceTicks;

    public RetryBudget(TimeProvider timeProvider, Func<RetryOptions> options)
    {
        _timeProvider = timeProvider;
        _options = options;
        for (int i = 0; i < Buckets; i++)
        {
            _buckets[i] = new Bucket();
        }
    }

    /// <summary>Counts a new request, which earns the budget its share of an extra attempt.</summary>
    public void OnRequest() => _ = Interlocked.Increment(ref Current(SliceOf(_options())).Requests);

    /// <summary>Takes one extra attempt from the budget.</summary>
    /// <returns><see langword="false"/> when the budget is spent: the attempt must not be made.</returns>
    public bool TryWithdraw()
    {
        RetryOptions options = _options();
        long slice = SliceOf(options);
        Bucket current = Current(slice);
        long requests = 0;
        long extras = 0;
        foreach (Bucket bucket in _buckets)
        {
            if (Volatile.Read(ref bucket.Slice) > slice - Buckets)
            {
                requests += Volatile.Read(ref bucket.Requests);
                extras += Volatile.Read(ref bucket.Extras);
            }
        }

        double allowed = (options.BudgetRatio * requests) + (options.BudgetMinPerSecond * options.BudgetWindow.TotalSeconds);
        if (extras + 1 > allowed)
        {
            return false;
        }

        _ = Interlocked.Increment(ref current.Extras);
        return true;
    }

    private long SliceOf(RetryOptions options)
    {
        long sliceTicks = Math.Max(1, (long)(options.BudgetWindow.TotalSeconds / Buckets * _timeProvider.TimestampFrequency));
        if (Volatile.Read(ref _sliceTicks) != sliceTicks)
        {
            // The window changed at run time: slice numbers of the old length mean nothing under the new one, so the
            // budget starts afresh rather than counting stale buckets as current.
            lock (_buckets)
            {
                if (_sliceTicks != sliceTicks)
                {
                    foreach (Bucket bucket in _buckets)
                    {
                        lock (bucket)
                        {
                            Volatile.Write(ref bucket.Requests, 0);
                            Volatile.Write(ref bucket.Extras, 0);
                            Volatile.Write(ref bucket.Slice, long.MinValue);
                        }
                    }

                    Volatile.Write(ref _sliceTicks, sliceTicks);
                }
            }
        }

        return _timeProvider.GetTimestamp() / sliceTicks;
    }

    private Bucket Current(long slice)
    {
        Bucket bucket = _buckets[(int)(slice % Buckets)];
        if (Volatile.Read(ref bucket.Slice) != slice)
        {
            lock (bucket)
            {
                if (bucket.Slice != slice)
                {
                    Volatile.Write(ref bucket.Requests, 0);
                    Volatile.Write(ref bucket.Extras, 0);
                    Volatile.Write(ref bucket.Slice, slice);
                }
            }
        }

        return bucket;
    }

    private sealed class Bucket
    {
        public long Slice = long.MinValue;
        public long Requests;
        public long Extras;
    }
}
