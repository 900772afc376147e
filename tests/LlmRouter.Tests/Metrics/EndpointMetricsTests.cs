using LlmRouter.Tests.TestSupport;

namespace LlmRouter.Tests.Metrics;

/// <summary>The lock-free ring buffer of one endpoint, used directly.</summary>
public sealed class EndpointMetricsTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public void Record_8ThreadsX100000Calls_LoseNoSampleInTheCountsWhileSnapshotsAreBuilt()
    {
        const int Threads = 8;
        const int PerThread = 100_000;
        var metrics = new EndpointMetrics("a", 1024, _time.GetUtcNow());
        var options = new MetricsOptions();
        long now = _time.GetTimestamp();
        using var start = new ManualResetEventSlim();
        int writersLeft = Threads;
        var violations = new List<string>();

        var writers = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.Wait();
            for (int i = 0; i < PerThread; i++)
            {
                // 8 in 10 succeed (10 ms or 20 ms), 1 in 10 is transient, 1 in 10 rate-limited.
                byte outcome = (i % 10) switch { 0 => (byte)(FailureKind.Transient + 1), 1 => (byte)(FailureKind.RateLimited + 1), _ => 0 };
                var sample = new AttemptSample
                {
                    Timestamp = now,
                    LatencyMs = i % 2 == 0 ? 10 : 20,
                    TimeToFirstTokenMs = float.NaN,
                    InputTokens = 1,
                    OutputTokens = 2,
                    Outcome = outcome,
                };
                metrics.Record(sample);
            }

            _ = Interlocked.Decrement(ref writersLeft);
        })).ToArray();

        // One builder at a time, as the refresher guarantees, racing the writers.
        var builder = new Thread(() =>
        {
            start.Wait();
            while (Volatile.Read(ref writersLeft) > 0)
            {
                EndpointSnapshot snapshot = metrics.Build("a", now, _time.GetUtcNow(), HealthState.Healthy, options, _time.TimestampFrequency);
                if (snapshot.SampleCount > metrics.Capacity || snapshot.LatencyP50 is { TotalMilliseconds: not (10 or 20) } || snapshot.LatencyP99 is { TotalMilliseconds: not (10 or 20) })
                {
                    lock (violations)
                    {
                        violations.Add($"samples {snapshot.SampleCount}, p50 {snapshot.LatencyP50}, p99 {snapshot.LatencyP99}");
                    }
                }
            }
        });

        foreach (Thread thread in writers)
        {
            thread.Start();
        }

        builder.Start();
        start.Set();
        foreach (Thread thread in writers)
        {
            thread.Join();
        }

        builder.Join();
        EndpointSnapshot final = metrics.Build("a", now, _time.GetUtcNow(), HealthState.Healthy, options, _time.TimestampFrequency);

        Assert.Empty(violations);
        Assert.Equal(Threads * PerThread, final.TotalAttempts);
        Assert.Equal(Threads * PerThread * 8 / 10, final.Successes);
        Assert.Equal(Threads * PerThread / 10, final.FailureCount(FailureKind.Transient));
        Assert.Equal(Threads * PerThread / 10, final.FailureCount(FailureKind.RateLimited));
        Assert.Equal(0, final.FailureCount(FailureKind.Timeout));
        Assert.Equal(Threads * PerThread, final.InputTokens);
        Assert.Equal(Threads * PerThread * 2, final.OutputTokens);
        Assert.Equal(Threads * PerThread, metrics.Recorded);
        Assert.Equal(metrics.Capacity, final.SampleCount);
    }

    [Theory]
    [InlineData(1_000, 3_500)] // wrapped three and a half times
    [InlineData(1_024, 1_024)] // exactly full
    [InlineData(16, 17)]
    public void Build_FullBuffer_PercentilesMatchASortedReferenceWithinOneRank(int capacity, int recorded)
    {
        var metrics = new EndpointMetrics("a", capacity, _time.GetUtcNow());
        var random = new Random(42);
        Func<int, TimeSpan> latency = LatencyChatClient.LogNormal(random, 200, 0.6);
        var all = new List<float>();
        for (int i = 0; i < recorded; i++)
        {
            float ms = (float)latency(i).TotalMilliseconds;
            all.Add(ms);
            metrics.Record(new AttemptSample { Timestamp = _time.GetTimestamp(), LatencyMs = ms, TimeToFirstTokenMs = float.NaN });
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        EndpointSnapshot snapshot = metrics.Build("a", _time.GetTimestamp(), _time.GetUtcNow(), HealthState.Healthy, new MetricsOptions(), _time.TimestampFrequency);

        float[] window = [.. all.Skip(recorded - capacity)];
        Array.Sort(window);
        Assert.Equal(capacity, snapshot.SampleCount);
        AssertWithinOneRank(window, 0.50, snapshot.LatencyP50);
        AssertWithinOneRank(window, 0.95, snapshot.LatencyP95);
        AssertWithinOneRank(window, 0.99, snapshot.LatencyP99);
        Assert.Equal(all.TakeLast(5).Average(x => (double)x), snapshot.RecentLatency!.Value.TotalMilliseconds, 3);
    }

    [Fact]
    public void Percentile_NearestRank_OfKnownValues()
    {
        float[] sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

        Assert.Equal(5, EndpointMetrics.Percentile(sorted, 0.50));
        Assert.Equal(10, EndpointMetrics.Percentile(sorted, 0.95));
        Assert.Equal(10, EndpointMetrics.Percentile(sorted, 0.99));
        Assert.Equal(1, EndpointMetrics.Percentile(sorted, 0.10));
        Assert.Equal(1, EndpointMetrics.Percentile(sorted, 0.0));
        Assert.True(double.IsNaN(EndpointMetrics.Percentile([], 0.5)));
    }

    [Fact]
    public void Build_SamplesOlderThanWindow_AgeOutWithoutNewSamples()
    {
        var metrics = new EndpointMetrics("a", 64, _time.GetUtcNow());
        var options = new MetricsOptions { Window = TimeSpan.FromSeconds(10) };
        long t0 = _time.GetTimestamp();
        for (int i = 0; i < 5; i++)
        {
            metrics.Record(new AttemptSample { Timestamp = t0, LatencyMs = 100, TimeToFirstTokenMs = float.NaN });
        }

        EndpointSnapshot atEdge = metrics.Build("a", t0 + (10 * _time.TimestampFrequency), _time.GetUtcNow(), HealthState.Healthy, options, _time.TimestampFrequency);
        EndpointSnapshot past = metrics.Build("a", t0 + (10 * _time.TimestampFrequency) + 1, _time.GetUtcNow(), HealthState.Healthy, options, _time.TimestampFrequency);

        Assert.Equal(5, atEdge.SampleCount);
        Assert.Equal(TimeSpan.FromMilliseconds(100), atEdge.LatencyP50);
        Assert.Equal(0, past.SampleCount);
        Assert.Null(past.LatencyP50);
        Assert.Null(past.SuccessRate);
        Assert.Equal(5, past.TotalAttempts); // totals are since the start, not per window
        Assert.Equal(5, past.Successes);
    }

    [Fact]
    public void Build_DecayedSuccess_WeighsAnAttemptOneHalfLifeOldAtHalf()
    {
        var metrics = new EndpointMetrics("a", 64, _time.GetUtcNow());
        var options = new MetricsOptions { SuccessHalfLife = TimeSpan.FromSeconds(60) };
        long t0 = _time.GetTimestamp();
        long t1 = t0 + (60 * _time.TimestampFrequency);
        for (int i = 0; i < 5; i++)
        {
            metrics.Record(new AttemptSample { Timestamp = t0, Outcome = (byte)(FailureKind.Timeout + 1), TimeToFirstTokenMs = float.NaN });
            metrics.Record(new AttemptSample { Timestamp = t1, LatencyMs = 50, TimeToFirstTokenMs = float.NaN });
        }

        // Request errors and cancellations say nothing about the endpoint: they count as samples, not in the rates.
        metrics.Record(new AttemptSample { Timestamp = t1, Outcome = (byte)(FailureKind.BadRequest + 1), TimeToFirstTokenMs = float.NaN });
        metrics.Record(new AttemptSample { Timestamp = t1, Outcome = (byte)(FailureKind.Canceled + 1), TimeToFirstTokenMs = float.NaN });

        EndpointSnapshot snapshot = metrics.Build("a", t1, _time.GetUtcNow(), HealthState.Healthy, options, _time.TimestampFrequency);

        Assert.Equal(12, snapshot.SampleCount);
        Assert.Equal(0.5, snapshot.SuccessRate);
        Assert.Equal(5 / 7.5, snapshot.DecayedSuccessRate!.Value, 9);
        Assert.Equal(1, snapshot.FailureCount(FailureKind.BadRequest));
    }

    private static void AssertWithinOneRank(float[] sorted, double percentile, TimeSpan? actual)
    {
        int rank = (int)Math.Ceiling(percentile * sorted.Length); // nearest rank, 1-based
        double low = sorted[Math.Max(rank - 2, 0)];
        double high = sorted[Math.Min(rank, sorted.Length - 1)];
        Assert.NotNull(actual);
        Assert.InRange(actual.Value.TotalMilliseconds, low - 0.001, high + 0.001);
    }
}
