namespace LlmRouter;

/// <summary>
/// The health state machine of one endpoint (see <see cref="HealthOptions"/>). Transitions happen under a lock
/// private to the endpoint and never held across I/O; readers see an immutable <see cref="HealthStatus"/>.
/// </summary>
internal sealed class EndpointHealth
{
    private readonly object _gate = new();
    private HealthStatus _status = HealthStatus.Healthy;
    private int _consecutiveFailures;
    private int _consecutiveSlow;
    private int _consecutiveFast;
    private int _failedProbes;
    private int _probeInFlight;
    private int _fleetProbeDenied;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _recovered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public HealthStatus Status => Volatile.Read(ref _status);

    /// <summary>Gets a value indicating whether a half-open probe is in flight, here or (fleet mode) at another instance.</summary>
    public bool ProbeInFlight => Volatile.Read(ref _probeInFlight) != 0 || Volatile.Read(ref _fleetProbeDenied) != 0;

    /// <summary>Gets a value indicating whether this instance's own half-open probe is in flight.</summary>
    public bool LocalProbeInFlight => Volatile.Read(ref _probeInFlight) != 0;

    /// <summary>Gets or sets who hears of what this endpoint's health learns locally (fleet mode); <see langword="null"/> when none.</summary>
    public IEndpointHealthObserver? Observer { get; set; }

    /// <summary>Gets the number of probes in a row that failed.</summary>
    public int FailedProbes => Volatile.Read(ref _failedProbes);

    /// <summary>
    /// Gets or sets a value indicating whether the fleet withholds the probe from this instance: another instance holds
    /// the endpoint's probe lock, so a half-open endpoint stays closed to traffic here until the probe's outcome arrives.
    /// </summary>
    public bool FleetProbeDenied
    {
        get => Volatile.Read(ref _fleetProbeDenied) != 0;
        set
        {
            if (Interlocked.Exchange(ref _fleetProbeDenied, value ? 1 : 0) != 0 && !value)
            {
                Signal(); // requests waiting on an all-open group may probe now
            }
        }
    }

    /// <summary>Gets a task that completes at the next transition or probe release; for requests waiting on an all-open group.</summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    /// <summary>
    /// Gets a task that completes when the endpoint closes again after being open (a probe succeeded, here or in the
    /// fleet): not at every failure or probe release, so that many waiting requests are not woken by each of them.
    /// </summary>
    public Task Recovered => Volatile.Read(ref _recovered).Task;

    /// <summary>The state as callers see it at <paramref name="now"/>: an open endpoint past its break is half-open.</summary>
    public HealthState StateAt(long now)
    {
        HealthStatus status = Status;
        return status.State == HealthState.Open && now >= status.OpenUntil ? HealthState.HalfOpen : status.State;
    }

    /// <summary>Decides, at attempt time, whether an attempt may go to the endpoint; at most one probe at a time.</summary>
    public Admission TryAdmit(long now)
    {
        HealthStatus status = Status;
        if (status.State != HealthState.Open)
        {
            return Admission.Admitted;
        }

        if (now < status.OpenUntil || Volatile.Read(ref _fleetProbeDenied) != 0)
        {
            return Admission.Rejected;
        }

        return Interlocked.CompareExchange(ref _probeInFlight, 1, 0) == 0 ? Admission.Probe : Admission.Rejected;
    }

    /// <summary>Admits a probe to an open endpoint before its break ends (every candidate is open); at most one probe at a time.</summary>
    public Admission TryAdmitEarly()
    {
        if (Status.State != HealthState.Open)
        {
            return Admission.Admitted;
        }

        return Interlocked.CompareExchange(ref _probeInFlight, 1, 0) == 0 ? Admission.Probe : Admission.Rejected;
    }

    /// <summary>The share of first choices the endpoint should get now: 1 when healthy, the canary share when degraded, ramping after a recovery.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public double FirstChoiceShare(long now, HealthOptions options, long timestampFrequency)
    {
        HealthStatus status = Status;
        if (status.State == HealthState.Degraded)
        {
            return options.CanaryShare;
        }

        // Inlined up to here: most endpoints are healthy and not ramping, and planning asks about every one.
        return status.State != HealthState.Healthy || status.RampStart == 0 ? 1 : RampShare(status, now, options, timestampFrequency);
    }

    private static double RampShare(HealthStatus status, long now, HealthOptions options, long timestampFrequency)
    {
        if (options.SlowStartDuration <= TimeSpan.Zero)
        {
            return 1;
        }

        double elapsed = (now - status.RampStart) / (double)timestampFrequency;
        double progress = elapsed / options.SlowStartDuration.TotalSeconds;
        return progress >= 1 ? 1 : options.CanaryShare + ((1 - options.CanaryShare) * Math.Max(0, progress));
    }

    /// <summary>Records a successful attempt.</summary>
    /// <param name="now">The current timestamp.</param>
    /// <param name="isSlow">Whether its latency was above the endpoint's p95 baseline (false when there is no baseline yet).</param>
    /// <param name="admission">How the attempt was admitted.</param>
    /// <param name="options">The health options.</param>
    /// <returns>The new state when it changed; otherwise <see langword="null"/>.</returns>
    public HealthState? OnSuccess(long now, bool isSlow, Admission admission, HealthOptions options)
    {
        HealthState? transition;
        long closedOpenUntil = 0;
        try
        {
            lock (_gate)
            {
                HealthStatus before = _status;
                transition = Succeeded(now, isSlow, options);
                if (before.State == HealthState.Open && transition == HealthState.Healthy)
                {
                    closedOpenUntil = before.OpenUntil;
                }
            }
        }
        finally
        {
            // After the verdict is published, so that requests woken by the release see it.
            if (admission == Admission.Probe)
            {
                ReleaseProbe();
            }
        }

        if (Observer is { } observer)
        {
            observer.OnSuccess();
            if (closedOpenUntil != 0)
            {
                observer.OnClosed(closedOpenUntil);
            }
        }

        return transition;
    }

    private HealthState? Succeeded(long now, bool isSlow, HealthOptions options)
    {
        HealthStatus status = _status;
        _consecutiveFailures = 0;

        if (status.State == HealthState.Open)
        {
            // A probe (or an attempt admitted before the endpoint opened) came back well: close, ramping up.
            _failedProbes = 0;
            _consecutiveSlow = 0;
            _consecutiveFast = 0;
            return Publish(new HealthStatus(HealthState.Healthy, 0, now));
        }

        if (isSlow)
        {
            _consecutiveFast = 0;
            if (++_consecutiveSlow >= options.DegradedAfterSlowRequests && status.State == HealthState.Healthy)
            {
                return Publish(new HealthStatus(HealthState.Degraded, 0, 0));
            }

            return null;
        }

        _consecutiveSlow = 0;
        if (status.State == HealthState.Degraded && ++_consecutiveFast >= options.RecoverAfterFastRequests)
        {
            _consecutiveFast = 0;
            return Publish(new HealthStatus(HealthState.Healthy, 0, now));
        }

        return null;
    }

    /// <summary>Records a failed attempt.</summary>
    /// <param name="now">The current timestamp.</param>
    /// <param name="kind">The failure kind.</param>
    /// <param name="admission">How the attempt was admitted.</param>
    /// <param name="options">The health options.</param>
    /// <param name="random">A uniform number in [0, 1), for the break's jitter.</param>
    /// <param name="timestampFrequency">The time provider's timestamp frequency.</param>
    /// <returns>The new state when it changed; otherwise <see langword="null"/>.</returns>
    public HealthState? OnFailure(long now, FailureKind kind, Admission admission, HealthOptions options, double random, long timestampFrequency)
    {
        HealthState? transition;
        HealthStatus after;
        int failedProbes;
        try
        {
            lock (_gate)
            {
                HealthStatus before = _status;
                transition = Failed(now, kind, admission, options, random, timestampFrequency);
                after = _status;
                failedProbes = _failedProbes;
                if (!ReferenceEquals(before, after) && after.State == HealthState.Open)
                {
                    transition = HealthState.Open; // a failed probe moved the break later: news for the fleet too
                }
            }
        }
        finally
        {
            // After the verdict is published, so that requests woken by the release see it.
            if (admission == Admission.Probe)
            {
                ReleaseProbe();
            }
        }

        if (Observer is { } observer)
        {
            if (admission != Admission.Probe && kind is FailureKind.Transient or FailureKind.Timeout)
            {
                observer.OnHardFailure();
            }

            if (transition == HealthState.Open)
            {
                observer.OnOpened(after.OpenUntil, failedProbes);
            }
        }

        return transition;
    }

    /// <summary>Opens the endpoint until <paramref name="openUntil"/> as another instance decided, unless it is already open longer.</summary>
    /// <param name="openUntil">The break's end, as a <see cref="TimeProvider.GetTimestamp"/> value.</param>
    /// <param name="failedProbes">The fleet's count of failed probes in a row, so that the next break doubles from it.</param>
    /// <returns><see langword="true"/> when the state changed; the change is not reported to <see cref="Observer"/>.</returns>
    public bool ApplyRemoteOpen(long openUntil, int failedProbes)
    {
        lock (_gate)
        {
            _failedProbes = Math.Max(_failedProbes, failedProbes);
            HealthStatus status = _status;
            if (status.State == HealthState.Open && status.OpenUntil >= openUntil)
            {
                return false; // deadlines only move later
            }

            _consecutiveFailures = 0;
            _consecutiveSlow = 0;
            _consecutiveFast = 0;
            _ = Publish(new HealthStatus(HealthState.Open, openUntil, 0));
            return true;
        }
    }

    /// <summary>Closes the endpoint because the fleet's probe of the break ending at <paramref name="openUntil"/> succeeded.</summary>
    /// <param name="openUntil">The end of the break the probe ended.</param>
    /// <param name="now">The current timestamp: the slow-start ramp begins here.</param>
    /// <param name="tolerance">Timestamp ticks of clock skew to allow between instances.</param>
    /// <returns>
    /// <see langword="true"/> when the endpoint closed; an endpoint open until later than the probed break (it learnt
    /// of a newer failure) stays open.
    /// </returns>
    public bool ApplyRemoteClose(long openUntil, long now, long tolerance)
    {
        lock (_gate)
        {
            HealthStatus status = _status;
            if (status.State != HealthState.Open || status.OpenUntil > openUntil + tolerance)
            {
                return false;
            }

            _failedProbes = 0;
            _consecutiveFailures = 0;
            _consecutiveSlow = 0;
            _consecutiveFast = 0;
            _ = Publish(new HealthStatus(HealthState.Healthy, 0, now));
            return true;
        }
    }

    private HealthState? Failed(long now, FailureKind kind, Admission admission, HealthOptions options, double random, long timestampFrequency)
    {
        TimeSpan breakFor;
        switch (kind)
        {
            case FailureKind.Auth:
                breakFor = options.AuthFailureCooldown;
                break;
            case FailureKind.Transient or FailureKind.Timeout:
                if (admission == Admission.Probe)
                {
                    _failedProbes++;
                    breakFor = BreakAfter(_failedProbes, options, random);
                    break;
                }

                if (++_consecutiveFailures < options.FailureThreshold || _status.State == HealthState.Open)
                {
                    return null;
                }

                breakFor = BreakAfter(0, options, random);
                break;
            default:
                // Rate limits cool down separately; request errors and cancellations say nothing about the endpoint.
                return null;
        }

        if (breakFor <= TimeSpan.Zero)
        {
            return null;
        }

        _consecutiveFailures = 0;
        _consecutiveSlow = 0;
        _consecutiveFast = 0;
        long until = now + (long)(breakFor.TotalSeconds * timestampFrequency);
        HealthStatus status = _status;
        if (status.State == HealthState.Open && status.OpenUntil > until)
        {
            until = status.OpenUntil; // deadlines only move later
        }

        return Publish(new HealthStatus(HealthState.Open, until, 0));
    }

    /// <summary>Records an attempt whose outcome says nothing about the endpoint (cancellation, request error), releasing a probe.</summary>
    public void OnNeutral(Admission admission)
    {
        if (admission == Admission.Probe)
        {
            ReleaseProbe();
        }
    }

    private static TimeSpan BreakAfter(int failedProbes, HealthOptions options, double random)
    {
        double nominal = Math.Min(
            options.MaxBreakDuration.TotalMilliseconds,
            options.BreakDuration.TotalMilliseconds * Math.Pow(2, Math.Min(failedProbes, 30)));
        double jitter = 1 + (options.BreakJitter * ((2 * random) - 1));
        return TimeSpan.FromMilliseconds(Math.Min(nominal * jitter, options.MaxBreakDuration.TotalMilliseconds));
    }

    private void ReleaseProbe()
    {
        Volatile.Write(ref _probeInFlight, 0);
        Signal();
    }

    private HealthState Publish(HealthStatus status)
    {
        HealthStatus previous = Interlocked.Exchange(ref _status, status);
        Signal();
        if (previous.State == HealthState.Open && status.State != HealthState.Open)
        {
            Interlocked.Exchange(ref _recovered, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        return status.State;
    }

    private void Signal() =>
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
