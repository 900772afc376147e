using LlmRouter.Tests.TestSupport;

namespace LlmRouter.Tests.Health;

/// <summary>The health state machine on its own, with exact timestamps.</summary>
public sealed class EndpointHealthTests
{
    private readonly ObservableFakeTimeProvider _time = new();
    private readonly HealthOptions _options = new() { BreakJitter = 0, BreakDuration = TimeSpan.FromSeconds(30), MaxBreakDuration = TimeSpan.FromSeconds(100) };

    private long Frequency => _time.TimestampFrequency;

    [Fact]
    public void FirstChoiceShare_AfterRecovery_RampsLinearlyFromCanaryShareToOne()
    {
        var health = new EndpointHealth();
        long t0 = _time.GetTimestamp();
        Open(health, t0);
        Assert.Equal(Admission.Probe, health.TryAdmit(t0 + Ticks(30)));
        Assert.Equal(HealthState.Healthy, health.OnSuccess(t0 + Ticks(30), isSlow: false, Admission.Probe, _options));
        long rampStart = t0 + Ticks(30);

        Assert.Equal(0.05, health.FirstChoiceShare(rampStart, _options, Frequency), 12);
        Assert.Equal(0.05 + (0.95 * 0.25), health.FirstChoiceShare(rampStart + Ticks(7.5), _options, Frequency), 12);
        Assert.Equal(0.525, health.FirstChoiceShare(rampStart + Ticks(15), _options, Frequency), 12);
        Assert.True(health.FirstChoiceShare(rampStart + Ticks(30) - 1, _options, Frequency) < 1);
        Assert.Equal(1.0, health.FirstChoiceShare(rampStart + Ticks(30), _options, Frequency));
        Assert.Equal(1.0, health.FirstChoiceShare(rampStart + Ticks(3_000), _options, Frequency));
    }

    [Fact]
    public void FirstChoiceShare_SlowStartDisabled_IsOneRightAfterRecovery()
    {
        var health = new EndpointHealth();
        long t0 = _time.GetTimestamp();
        Open(health, t0);
        _ = health.OnSuccess(t0 + Ticks(30), isSlow: false, health.TryAdmit(t0 + Ticks(30)), _options);
        var noRamp = new HealthOptions { SlowStartDuration = TimeSpan.Zero };

        Assert.Equal(1.0, health.FirstChoiceShare(t0 + Ticks(30), noRamp, Frequency));
    }

    [Fact]
    public void FirstChoiceShare_Degraded_IsTheCanaryShare()
    {
        var health = new EndpointHealth();
        var options = new HealthOptions { CanaryShare = 0.2, DegradedAfterSlowRequests = 2 };
        long now = _time.GetTimestamp();
        Assert.Equal(1.0, health.FirstChoiceShare(now, options, Frequency));

        Assert.Null(health.OnSuccess(now, isSlow: true, Admission.Admitted, options));
        Assert.Equal(HealthState.Degraded, health.OnSuccess(now, isSlow: true, Admission.Admitted, options));

        Assert.Equal(0.2, health.FirstChoiceShare(now, options, Frequency));
    }

    [Fact]
    public void TryAdmit_HalfOpen_AdmitsOneProbeAtATimeUntilItsOutcomeIsKnown()
    {
        var health = new EndpointHealth();
        long t0 = _time.GetTimestamp();
        Open(health, t0);

        Assert.Equal(Admission.Rejected, health.TryAdmit(t0 + Ticks(30) - 1));
        Assert.Equal(Admission.Probe, health.TryAdmit(t0 + Ticks(30)));
        Assert.Equal(Admission.Rejected, health.TryAdmit(t0 + Ticks(30)));
        Assert.True(health.ProbeInFlight);

        health.OnNeutral(Admission.Probe); // e.g. the caller cancelled the probe: it says nothing about the endpoint
        Assert.False(health.ProbeInFlight);
        Assert.Equal(HealthState.HalfOpen, health.StateAt(t0 + Ticks(30)));
        Assert.Equal(Admission.Probe, health.TryAdmit(t0 + Ticks(31)));
    }

    [Fact]
    public void OnFailure_FailedProbes_DoubleTheBreakUpToMaxBreakDuration()
    {
        var health = new EndpointHealth();
        long now = _time.GetTimestamp();
        Open(health, now);
        Assert.Equal(now + Ticks(30), health.Status.OpenUntil);

        long[] expected = [60, 100, 100];
        foreach (long seconds in expected)
        {
            now = health.Status.OpenUntil;
            Assert.Equal(Admission.Probe, health.TryAdmit(now));
            Assert.Equal(HealthState.Open, health.OnFailure(now, FailureKind.Transient, Admission.Probe, _options, 0.5, Frequency));
            Assert.Equal(now + Ticks(seconds), health.Status.OpenUntil);
        }
    }

    [Fact]
    public void OnFailure_Jitter_SpreadsTheBreakBetweenItsBounds()
    {
        var options = new HealthOptions { BreakJitter = 0.2, BreakDuration = TimeSpan.FromSeconds(30) };
        long now = _time.GetTimestamp();

        Assert.Equal(now + Ticks(24), OpenUntil(0.0));
        Assert.Equal(now + Ticks(30), OpenUntil(0.5));
        Assert.Equal(now + Ticks(33), OpenUntil(0.75));

        long OpenUntil(double random)
        {
            var health = new EndpointHealth();
            for (int i = 0; i < options.FailureThreshold; i++)
            {
                _ = health.OnFailure(now, FailureKind.Timeout, Admission.Admitted, options, random, Frequency);
            }

            return health.Status.OpenUntil;
        }
    }

    [Fact]
    public void OnFailure_LaterShorterBreak_NeverMovesTheDeadlineEarlier()
    {
        var health = new EndpointHealth();
        long t0 = _time.GetTimestamp();
        _ = health.OnFailure(t0, FailureKind.Auth, Admission.Admitted, new HealthOptions { AuthFailureCooldown = TimeSpan.FromMinutes(5) }, 0.5, Frequency);
        Assert.Equal(t0 + Ticks(300), health.Status.OpenUntil);

        // An attempt admitted before the endpoint opened fails later with a shorter break: the deadline stays.
        _ = health.OnFailure(t0 + Ticks(10), FailureKind.Auth, Admission.Admitted, new HealthOptions { AuthFailureCooldown = TimeSpan.FromMinutes(1) }, 0.5, Frequency);
        Assert.Equal(t0 + Ticks(300), health.Status.OpenUntil);

        // A longer one moves it later.
        _ = health.OnFailure(t0 + Ticks(10), FailureKind.Auth, Admission.Admitted, new HealthOptions { AuthFailureCooldown = TimeSpan.FromMinutes(10) }, 0.5, Frequency);
        Assert.Equal(t0 + Ticks(610), health.Status.OpenUntil);
    }

    [Theory]
    [InlineData(FailureKind.RateLimited)]
    [InlineData(FailureKind.BadRequest)]
    [InlineData(FailureKind.ContentFilter)]
    [InlineData(FailureKind.ContextLength)]
    [InlineData(FailureKind.Canceled)]
    public void OnFailure_KindsThatSayNothingAboutTheEndpoint_NeverOpenIt(FailureKind kind)
    {
        var health = new EndpointHealth();
        long now = _time.GetTimestamp();

        for (int i = 0; i < 50; i++)
        {
            Assert.Null(health.OnFailure(now, kind, Admission.Admitted, _options, 0.5, Frequency));
        }

        Assert.Equal(HealthState.Healthy, health.StateAt(now));
    }

    [Fact]
    public async Task Changed_CompletesAtTheNextTransition()
    {
        var health = new EndpointHealth();
        Task changed = health.Changed;
        Assert.False(changed.IsCompleted);

        Open(health, _time.GetTimestamp());

        await changed.WaitAsync(TestContext.Current.CancellationToken);
        Assert.False(health.Changed.IsCompleted); // a fresh task for the next transition
    }

    private long Ticks(double seconds) => (long)(seconds * Frequency);

    private void Open(EndpointHealth health, long now)
    {
        for (int i = 1; i < _options.FailureThreshold; i++)
        {
            Assert.Null(health.OnFailure(now, FailureKind.Transient, Admission.Admitted, _options, 0.5, Frequency));
        }

        Assert.Equal(HealthState.Open, health.OnFailure(now, FailureKind.Transient, Admission.Admitted, _options, 0.5, Frequency));
    }
}
