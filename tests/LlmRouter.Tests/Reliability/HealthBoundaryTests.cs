using LlmRouter.Tests.TestSupport;

namespace LlmRouter.Tests.Reliability;

/// <summary>
/// The health state machine held to exact boundaries, as Envoy's outlier detection and Polly's circuit breaker are
/// tested: the threshold, the break to the millisecond at both ends of its jitter, one probe among racing threads,
/// the canary and ramp shares at their configured values, and deadlines that never move earlier.
/// </summary>
public sealed class HealthBoundaryTests
{
    private static readonly TimeSpan OneMs = TimeSpan.FromMilliseconds(1);
    private readonly ObservableFakeTimeProvider _time = new();

    private long Frequency => _time.TimestampFrequency;

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Frequency);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(17)]
    [InlineData(1000)]
    public void Threshold_NMinusOneHardFailures_StayHealthy_TheNthOpens(int threshold)
    {
        foreach (FailureKind kind in new[] { FailureKind.Transient, FailureKind.Timeout })
        {
            var options = new HealthOptions { FailureThreshold = threshold, BreakJitter = 0 };
            var health = new EndpointHealth();
            long now = _time.GetTimestamp();
            for (int i = 1; i < threshold; i++)
            {
                Assert.Null(health.OnFailure(now, kind, Admission.Admitted, options, 0.5, Frequency));
                Assert.Equal(HealthState.Healthy, health.StateAt(now));
                Assert.Equal(Admission.Admitted, health.TryAdmit(now));
            }

            Assert.Equal(HealthState.Open, health.OnFailure(now, kind, Admission.Admitted, options, 0.5, Frequency));
            Assert.Equal(Admission.Rejected, health.TryAdmit(now));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void Threshold_ASuccessJustBeforeTheNth_RestartsTheCount(int threshold)
    {
        var options = new HealthOptions { FailureThreshold = threshold, BreakJitter = 0 };
        var health = new EndpointHealth();
        long now = _time.GetTimestamp();
        for (int round = 0; round < 3; round++)
        {
            for (int i = 1; i < threshold; i++)
            {
                _ = health.OnFailure(now, FailureKind.Transient, Admission.Admitted, options, 0.5, Frequency);
            }

            _ = health.OnSuccess(now, isSlow: false, Admission.Admitted, options);
            Assert.Equal(HealthState.Healthy, health.StateAt(now));
        }
    }

    // random 0 → the shortest break (1 − jitter), random → 1 the longest (1 + jitter); jitter 0 the nominal one.
    [Theory]
    [InlineData(0.0, 0.0, 30_000)]
    [InlineData(0.2, 0.0, 24_000)]
    [InlineData(0.2, 0.5, 30_000)]
    [InlineData(0.2, 0.999999999, 36_000)]
    [InlineData(0.9, 0.0, 3_000)]
    public void Break_StaysOpenAtBreakMinusOneMs_AdmitsOneProbeAtBreakPlusOneMs(double jitter, double random, int expectedMs)
    {
        var options = new HealthOptions { FailureThreshold = 1, BreakDuration = TimeSpan.FromSeconds(30), MaxBreakDuration = TimeSpan.FromMinutes(5), BreakJitter = jitter };
        var health = new EndpointHealth();
        long t0 = _time.GetTimestamp();
        Assert.Equal(HealthState.Open, health.OnFailure(t0, FailureKind.Transient, Admission.Admitted, options, random, Frequency));
        TimeSpan brk = TimeSpan.FromMilliseconds(expectedMs);

        Assert.Equal(HealthState.Open, health.StateAt(t0 + Ticks(brk - OneMs)));
        Assert.Equal(Admission.Rejected, health.TryAdmit(t0 + Ticks(brk - OneMs)));
        Assert.Equal(HealthState.HalfOpen, health.StateAt(t0 + Ticks(brk + OneMs)));
        Assert.Equal(Admission.Probe, health.TryAdmit(t0 + Ticks(brk + OneMs)));
        Assert.Equal(Admission.Rejected, health.TryAdmit(t0 + Ticks(brk + OneMs)));
    }

    [Fact]
    public void Break_FailedProbes_DoubleAtTheMillisecond_UpToTheCap_WithJitterNeverPastTheCap()
    {
        var options = new HealthOptions { FailureThreshold = 1, BreakDuration = TimeSpan.FromSeconds(10), MaxBreakDuration = TimeSpan.FromSeconds(70), BreakJitter = 0.2 };
        var health = new EndpointHealth();
        long now = _time.GetTimestamp();
        _ = health.OnFailure(now, FailureKind.Transient, Admission.Admitted, options, 0.5, Frequency);
        now += Ticks(TimeSpan.FromSeconds(10));

        // Nominal 20, 40, 70 (cap), 70 s; random → 1 asks for +20 %, which the cap clips.
        int[] expectedMs = [20_000, 40_000, 70_000, 70_000];
        foreach (int ms in expectedMs)
        {
            Assert.Equal(Admission.Probe, health.TryAdmit(now));
            Assert.Equal(HealthState.Open, health.OnFailure(now, FailureKind.Timeout, Admission.Probe, options, 0.5, Frequency));
            Assert.Equal(Admission.Rejected, health.TryAdmit(now + Ticks(TimeSpan.FromMilliseconds(ms) - OneMs)));
            now += Ticks(TimeSpan.FromMilliseconds(ms));
        }

        Assert.Equal(Admission.Probe, health.TryAdmit(now));
        _ = health.OnFailure(now, FailureKind.Transient, Admission.Probe, options, 0.999999, Frequency);
        Assert.Equal(now + Ticks(TimeSpan.FromSeconds(70)), health.Status.OpenUntil);
    }

    [Fact]
    public async Task HalfOpen_64ThreadsRacingAtTheBreaksEnd_ExactlyOneProbeIsAdmitted_EveryRound()
    {
        const int callers = 64;
        var options = new HealthOptions { FailureThreshold = 1, BreakJitter = 0, BreakDuration = TimeSpan.FromSeconds(1), MaxBreakDuration = TimeSpan.FromSeconds(1) };
        var health = new EndpointHealth();
        long now = _time.GetTimestamp();
        _ = health.OnFailure(now, FailureKind.Transient, Admission.Admitted, options, 0.5, Frequency);
        int rounds = ReliabilityScale.Count(50, 500);
        for (int round = 0; round < rounds; round++)
        {
            now += Ticks(TimeSpan.FromSeconds(1));
            long at = now;
            using var start = new Barrier(callers);
            Task<Admission>[] racers = [.. Enumerable.Range(0, callers).Select(_ => Task.Factory.StartNew(
                () => { start.SignalAndWait(TestContext.Current.CancellationToken); return health.TryAdmit(at); },
                TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default))];
            Admission[] admissions = await Task.WhenAll(racers);

            Assert.Equal(1, admissions.Count(a => a == Admission.Probe));
            Assert.Equal(callers - 1, admissions.Count(a => a == Admission.Rejected));

            // The probe fails: open again for the (capped) break, and the next round races again.
            Assert.Equal(HealthState.Open, health.OnFailure(now, FailureKind.Transient, Admission.Probe, options, 0.5, Frequency));
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    [InlineData(0.05)]
    [InlineData(0.37)]
    [InlineData(1.0)]
    public void CanaryShare_Degraded_IsExactlyTheConfiguredShare(double canary)
    {
        var options = new HealthOptions { CanaryShare = canary, DegradedAfterSlowRequests = 3 };
        var health = new EndpointHealth();
        long now = _time.GetTimestamp();
        Assert.Null(health.OnSuccess(now, isSlow: true, Admission.Admitted, options));
        Assert.Null(health.OnSuccess(now, isSlow: true, Admission.Admitted, options));
        Assert.Equal(1.0, health.FirstChoiceShare(now, options, Frequency)); // N − 1 slow: still healthy
        Assert.Equal(HealthState.Degraded, health.OnSuccess(now, isSlow: true, Admission.Admitted, options));
        Assert.Equal(canary, health.FirstChoiceShare(now, options, Frequency));
    }

    [Theory]
    [InlineData(0.05, 30)]
    [InlineData(0.0, 1)]
    [InlineData(0.25, 86_400)]
    [InlineData(0.9, 7)]
    public void SlowStart_RampIsLinearFromCanaryToOne_AtItsExactConfiguredDuration(double canary, int seconds)
    {
        TimeSpan ramp = TimeSpan.FromSeconds(seconds);
        var options = new HealthOptions { CanaryShare = canary, SlowStartDuration = ramp, FailureThreshold = 1, BreakJitter = 0, BreakDuration = TimeSpan.FromSeconds(1) };
        var health = new EndpointHealth();
        long t0 = _time.GetTimestamp();
        _ = health.OnFailure(t0, FailureKind.Transient, Admission.Admitted, options, 0.5, Frequency);
        long closed = t0 + Ticks(TimeSpan.FromSeconds(1));
        Assert.Equal(HealthState.Healthy, health.OnSuccess(closed, isSlow: false, health.TryAdmit(closed), options));

        foreach (double fraction in new[] { 0, 0.1, 0.25, 0.5, 0.75, 0.999 })
        {
            double expected = canary + ((1 - canary) * fraction);
            Assert.Equal(expected, health.FirstChoiceShare(closed + Ticks(ramp * fraction), options, Frequency), 6);
        }

        Assert.True(health.FirstChoiceShare(closed + Ticks(ramp) - 1, options, Frequency) < 1 || canary == 1);
        Assert.Equal(1.0, health.FirstChoiceShare(closed + Ticks(ramp), options, Frequency));
    }

    [Fact]
    public void Deadlines_RandomSequencesOfFailuresProbesAndAuth_NeverMoveAnOpenDeadlineEarlier()
    {
        var random = new Random(9);
        int cases = ReliabilityScale.Count(2_000, 20_000);
        for (int c = 0; c < cases; c++)
        {
            var options = new HealthOptions
            {
                FailureThreshold = random.Next(1, 4),
                BreakDuration = TimeSpan.FromMilliseconds(random.Next(1, 60_000)),
                BreakJitter = random.NextDouble() * 0.9,
                AuthFailureCooldown = TimeSpan.FromMilliseconds(random.Next(0, 600_000)),
            };
            options.MaxBreakDuration = options.BreakDuration * random.Next(1, 20);
            var health = new EndpointHealth();
            long now = _time.GetTimestamp();
            long lastDeadline = 0;
            for (int step = 0; step < 30; step++)
            {
                now += random.Next(0, 3) == 0 ? Ticks(TimeSpan.FromMilliseconds(random.Next(0, 120_000))) : 0;
                HealthStatus before = health.Status;
                Admission admission = health.TryAdmit(now);
                if (admission == Admission.Rejected && random.Next(2) == 0)
                {
                    admission = Admission.Admitted; // an attempt admitted before the endpoint opened, ending now
                }

                var kind = (FailureKind)random.Next(0, 8);
                if (random.Next(4) == 0)
                {
                    _ = health.OnSuccess(now, isSlow: false, admission, options);
                }
                else
                {
                    _ = health.OnFailure(now, kind, admission, options, random.NextDouble(), Frequency);
                }

                HealthStatus after = health.Status;
                if (before.State == HealthState.Open && after.State == HealthState.Open)
                {
                    Assert.True(after.OpenUntil >= before.OpenUntil, $"case {c} step {step}: deadline moved from {before.OpenUntil} to {after.OpenUntil} on {kind}");
                }

                lastDeadline = after.State == HealthState.Open ? after.OpenUntil : 0;
            }

            _ = lastDeadline;
        }
    }

    [Fact]
    public async Task Cooldown_ConcurrentExtensions_KeepTheLatestDeadline_NeverAnEarlierOne()
    {
        var cooldown = new EndpointCooldown();
        long[] deadlines = [.. Enumerable.Range(0, 64 * 200).Select(i => (long)((i * 7919L) % 100_003) + 1)];
        long seenMax = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 64), TestContext.Current.CancellationToken, (worker, ct) =>
        {
            for (int i = worker; i < deadlines.Length; i += 64)
            {
                long before = cooldown.Deadline;
                _ = cooldown.ExtendTo(deadlines[i]);
                long after = cooldown.Deadline;
                Assert.True(after >= before);
                Assert.True(after >= deadlines[i]);
                long observed = Interlocked.Read(ref seenMax);
                while (after > observed && Interlocked.CompareExchange(ref seenMax, after, observed) != observed)
                {
                    observed = Interlocked.Read(ref seenMax);
                }
            }

            return ValueTask.CompletedTask;
        });

        Assert.Equal(deadlines.Max(), cooldown.Deadline);
    }
}
