namespace LlmRouter;

/// <summary>
/// The metrics of one endpoint: a fixed ring of recent attempts plus running totals. Recording is O(1), lock-free and
/// allocation-free; snapshots are built off the request path by <see cref="SnapshotRefresher"/> and published atomically.
/// </summary>
internal sealed class EndpointMetrics
{
    private const int RecentCount = 5;
    private static readonly int OutcomeSlots = Enum.GetValues<FailureKind>().Length + 1;

    private readonly Slot[] _slots;
    private readonly long[] _outcomes = new long[OutcomeSlots];
    private readonly float[] _latencyScratch;
    private readonly float[] _ttftScratch;
    private long _next;
    private long _inputTokens;
    private long _outputTokens;
    private double _cost;
    private int _inFlight;
    private EndpointSnapshot _snapshot;

    public EndpointMetrics(string endpoint, int capacity, DateTimeOffset now)
    {
        _slots = new Slot[capacity];
        _latencyScratch = new float[capacity];
        _ttftScratch = new float[capacity];
        _snapshot = new EndpointSnapshot(endpoint, now, HealthState.Healthy, new long[OutcomeSlots]);
    }

    public int Capacity => _slots.Length;

    /// <summary>Gets the latest published snapshot.</summary>
    public EndpointSnapshot Snapshot => Volatile.Read(ref _snapshot);

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Gets how many attempts were ever recorded.</summary>
    public long Recorded => Volatile.Read(ref _next);

    public void AttemptStarted() => Interlocked.Increment(ref _inFlight);

    public void AttemptEnded() => Interlocked.Decrement(ref _inFlight);

    public void Record(in AttemptSample sample)
    {
        _ = Interlocked.Increment(ref _outcomes[sample.Outcome]);
        if (sample.InputTokens > 0)
        {
            _ = Interlocked.Add(ref _inputTokens, sample.InputTokens);
        }

        if (sample.OutputTokens > 0)
        {
            _ = Interlocked.Add(ref _outputTokens, sample.OutputTokens);
        }

        if (sample.Cost > 0)
        {
            AddCost(sample.Cost);
        }

        // A per-slot sequence lets the snapshot builder skip a slot that is being written (a seqlock per slot). Two
        // writers a whole ring apart can meet on one slot: the write is claimed by compare-and-swap, the newer sample
        // wins, and an older one never overwrites it (a writer holds a slot for a few nanoseconds, so waiting spins).
        long index = Interlocked.Increment(ref _next) - 1;
        ref Slot slot = ref _slots[index % _slots.Length];
        long mine = index + 1;
        var spin = default(SpinWait);
        while (true)
        {
            long sequence = Volatile.Read(ref slot.Sequence);
            if (sequence >= mine)
            {
                return; // a newer attempt already holds the slot; the totals above counted this one
            }

            if (sequence >= 0 && Interlocked.CompareExchange(ref slot.Sequence, -1, sequence) == sequence)
            {
                break; // a full fence: the sample's writes cannot pass the claim
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }

        slot.Sample = sample;
        Volatile.Write(ref slot.Sequence, mine);
    }

    /// <summary>Builds and publishes a snapshot from the window. Called by one thread at a time.</summary>
    public EndpointSnapshot Build(string endpoint, long now, DateTimeOffset takenAt, HealthState health, MetricsOptions options, long frequency)
    {
        long windowStart = now - (long)(options.Window.TotalSeconds * frequency);
        double halfLifeTicks = options.SuccessHalfLife.TotalSeconds * frequency;
        int latencies = 0;
        int ttfts = 0;
        int samples = 0;
        int counted = 0;
        int succeeded = 0;
        double decayedSuccess = 0;
        double decayedTotal = 0;
        double outputTokens = 0;
        double inputTokens = 0;
        double cachedInputTokens = 0;
        double successSeconds = 0;
        double recentSum = 0;
        int recent = 0;
        double ttftRecentSum = 0;
        int ttftRecent = 0;

        long next = Volatile.Read(ref _next);
        long oldest = Math.Max(0, next - _slots.Length);
        long oldestInWindow = long.MaxValue;

        // Newest first, so that "recent" means the latest attempts.
        for (long index = next - 1; index >= oldest; index--)
        {
            ref Slot slot = ref _slots[index % _slots.Length];
            long sequence = Volatile.Read(ref slot.Sequence);
            if (sequence != index + 1)
            {
                continue; // being written, or already overwritten by a newer attempt
            }

            AttemptSample sample = slot.Sample;
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref slot.Sequence) != sequence || sample.Timestamp > now)
            {
                continue;
            }

            if (sample.Timestamp < windowStart)
            {
                // Slots are claimed in the order samples are recorded, so everything older is out of the window too
                // (give or take samples recorded in the same instant): stop rather than scan the whole ring.
                break;
            }

            samples++;
            oldestInWindow = Math.Min(oldestInWindow, sample.Timestamp);
            FailureKind? kind = sample.IsSuccess ? null : (FailureKind)(sample.Outcome - 1);
            if (kind is FailureKind.Canceled or FailureKind.BadRequest or FailureKind.ContentFilter or FailureKind.ContextLength)
            {
                continue; // says nothing about the endpoint
            }

            counted++;
            double weight = Math.Pow(2, -(now - sample.Timestamp) / halfLifeTicks);
            decayedTotal += weight;
            if (!sample.IsSuccess)
            {
                continue;
            }

            succeeded++;
            decayedSuccess += weight;
            outputTokens += sample.OutputTokens;
            inputTokens += sample.InputTokens;
            cachedInputTokens += sample.CachedInputTokens;
            successSeconds += sample.LatencyMs / 1000.0;
            if ((sample.Flags & AttemptSample.StreamedFlag) == 0)
            {
                _latencyScratch[latencies++] = sample.LatencyMs;
                if (recent < RecentCount)
                {
                    recentSum += sample.LatencyMs;
                    recent++;
                }
            }

            if (!float.IsNaN(sample.TimeToFirstTokenMs))
            {
                _ttftScratch[ttfts++] = sample.TimeToFirstTokenMs;
                if (ttftRecent < RecentCount)
                {
                    ttftRecentSum += sample.TimeToFirstTokenMs;
                    ttftRecent++;
                }
            }
        }

        Span<float> sortedLatency = _latencyScratch.AsSpan(0, latencies);
        Span<float> sortedTtft = _ttftScratch.AsSpan(0, ttfts);
        sortedLatency.Sort();
        sortedTtft.Sort();

        var snapshot = new EndpointSnapshot(endpoint, takenAt, health, CopyOutcomes())
        {
            SampleCount = samples,
            AgesOutAt = oldestInWindow == long.MaxValue ? long.MaxValue : oldestInWindow + (now - windowStart),
            LatencySamples = latencies,
            TtftSamples = ttfts,
            InFlight = InFlight,
            TotalAttempts = Volatile.Read(ref _next),
            InputTokens = Volatile.Read(ref _inputTokens),
            OutputTokens = Volatile.Read(ref _outputTokens),
            TotalCost = (decimal)Volatile.Read(ref _cost),
            P50Ms = Percentile(sortedLatency, 0.50),
            P95Ms = Percentile(sortedLatency, 0.95),
            P99Ms = Percentile(sortedLatency, 0.99),
            RecentMs = recent > 0 ? recentSum / recent : double.NaN,
            TtftP50Ms = Percentile(sortedTtft, 0.50),
            TtftP95Ms = Percentile(sortedTtft, 0.95),
            TtftP99Ms = Percentile(sortedTtft, 0.99),
            TtftRecentMs = ttftRecent > 0 ? ttftRecentSum / ttftRecent : double.NaN,
            SuccessRateValue = counted > 0 ? succeeded / (double)counted : double.NaN,
            DecayedSuccess = decayedTotal > 0 ? decayedSuccess / decayedTotal : double.NaN,
            TokensPerSecondValue = successSeconds > 0 ? outputTokens / successSeconds : double.NaN,
            AverageOutputTokens = succeeded > 0 ? outputTokens / succeeded : double.NaN,
            CachedInputRatioValue = inputTokens > 0 ? cachedInputTokens / inputTokens : double.NaN,
        };

        Volatile.Write(ref _snapshot, snapshot);
        return snapshot;
    }

    /// <summary>Nearest-rank percentile of sorted values; NaN when there are none.</summary>
    internal static double Percentile(ReadOnlySpan<float> sorted, double percentile)
    {
        if (sorted.IsEmpty)
        {
            return double.NaN;
        }

        int rank = (int)Math.Ceiling(percentile * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }

    private long[] CopyOutcomes()
    {
        long[] copy = new long[_outcomes.Length];
        for (int i = 0; i < copy.Length; i++)
        {
            copy[i] = Volatile.Read(ref _outcomes[i]);
        }

        return copy;
    }

    private void AddCost(double cost)
    {
        double current = Volatile.Read(ref _cost);
        while (true)
        {
            double seen = Interlocked.CompareExchange(ref _cost, current + cost, current);
            if (seen.Equals(current))
            {
                return;
            }

            current = seen;
        }
    }

    private struct Slot
    {
        public long Sequence;
        public AttemptSample Sample;
    }
}
