namespace LlmRouter;

/// <summary>The health state machine: when an endpoint degrades, opens, is probed and recovers.</summary>
/// <remarks>
/// Healthy → Degraded (slower than its own p95 baseline for <see cref="DegradedAfterSlowRequests"/> requests in a row;
/// keeps <see cref="CanaryShare"/> of first choices) → Open (after <see cref="FailureThreshold"/> hard failures in a
/// row — transient, timeout, auth — no traffic) → HalfOpen (once its break ends, one probe) → Healthy (ramping up over
/// <see cref="SlowStartDuration"/>). A rate-limited endpoint cools down for its Retry-After and is tried only after the
/// others. Deadlines only ever move later: a shorter break never shortens a longer one.
/// </remarks>
public sealed class HealthOptions
{
    /// <summary>Gets or sets how many hard failures in a row (transient, timeout) open an endpoint.</summary>
    /// <remarks>Default 5. Between 1 and 1000. An auth failure opens it at once, for <see cref="AuthFailureCooldown"/>.</remarks>
    public int FailureThreshold { get; set; } = 5;

    /// <summary>Gets or sets how long an endpoint stays open the first time; each failed probe doubles it.</summary>
    /// <remarks>Default 30 s. Between 1 ms and 1 day.</remarks>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets the cap of the doubled break.</summary>
    /// <remarks>Default 5 minutes. At least <see cref="BreakDuration"/>, at most 1 day.</remarks>
    public TimeSpan MaxBreakDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets the relative jitter of a break, so that probes of many clients spread out.</summary>
    /// <remarks>Default 0.2: a break lasts between 0.8× and 1.2× its nominal length, never more than <see cref="MaxBreakDuration"/>. Between 0 and 0.9.</remarks>
    public double BreakJitter { get; set; } = 0.2;

    /// <summary>Gets or sets how many requests in a row above the endpoint's p95 baseline make it degraded.</summary>
    /// <remarks>Default 5. Between 1 and 1000.</remarks>
    public int DegradedAfterSlowRequests { get; set; } = 5;

    /// <summary>Gets or sets how many requests in a row within the baseline bring a degraded endpoint back.</summary>
    /// <remarks>Default 3. Between 1 and 1000.</remarks>
    public int RecoverAfterFastRequests { get; set; } = 3;

    /// <summary>Gets or sets the share of first choices a degraded endpoint keeps, whatever its score, to watch it recover.</summary>
    /// <remarks>Default 0.05. Between 0 and 1.</remarks>
    public double CanaryShare { get; set; } = 0.05;

    /// <summary>Gets or sets how long a recovered endpoint takes to ramp from <see cref="CanaryShare"/> to its full share of first choices.</summary>
    /// <remarks>Default 30 s. Between 0 and 1 day; 0 disables the ramp.</remarks>
    public TimeSpan SlowStartDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how long a request waits for the earliest recovery when every candidate is open.</summary>
    /// <remarks>
    /// Default 5 s. Between 0 and 1 day. Past it the request throws <see cref="NoEndpointAvailableException"/> naming each
    /// endpoint's state and when it may recover.
    /// </remarks>
    public TimeSpan AllOpenMaxWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets a value indicating whether, when every candidate is open, the one soonest to recover is probed at once.</summary>
    /// <remarks>
    /// Default <see langword="false"/>: a request waits up to <see cref="AllOpenMaxWait"/> for a break to end. When
    /// <see langword="true"/>, a request that finds every candidate open probes the open endpoint whose break ends
    /// soonest (still one probe per endpoint at a time), as Envoy's panic threshold routes to ejected hosts: a provider
    /// that recovered before its break ended serves at once, instead of the request failing. The price is load on
    /// providers that are really down: up to one probe in flight per endpoint for as long as every candidate stays open.
    /// </remarks>
    public bool ProbeEarlyWhenAllOpen { get; set; }

    /// <summary>Gets or sets a value indicating whether a request whose attempts all failed looks once more for an endpoint it has not failed on, waiting for one to recover.</summary>
    /// <remarks>
    /// Default <see langword="false"/>: the request throws <see cref="AllEndpointsFailedException"/> as soon as its plan
    /// is spent. When <see langword="true"/>, it plans once more, leaving out the endpoints it failed on that are still
    /// closed: an endpoint that recovered meanwhile serves at once; otherwise it waits, as a request arriving at that
    /// moment would, for a break to end or another request's probe to succeed, up to <see cref="AllOpenMaxWait"/> after
    /// its plan ran out. The attempt after it is an extra one, paid from the retry budget
    /// (<see cref="RetryOptions.BudgetRatio"/>); it never probes early. Without an endpoint in time it throws as before,
    /// having waited. A request that arrives a moment before every provider goes down then fares as one arriving a
    /// moment after; the price is a slower failure when they stay down.
    /// </remarks>
    public bool WaitForRecoveryAfterFailures { get; set; }

    /// <summary>Gets or sets the longest a half-open probe may take (for a stream, to its first output); <see langword="null"/> for the attempt's own timeouts.</summary>
    /// <remarks>
    /// Default <see langword="null"/>. Between 1 ms and 1 day; never longer than the attempt timeout. A probe's purpose is
    /// to learn whether the endpoint answers again; one sent to a provider that accepts connections and never answers
    /// holds the endpoint's only probe slot for the whole attempt timeout, during which nobody may try the endpoint, even
    /// if it recovered meanwhile. Set it to a few times the endpoint's usual latency: a probe that times out counts as a
    /// failed probe (the break doubles), so a value below the slow answers of a healthy endpoint keeps it open longer.
    /// </remarks>
    public TimeSpan? ProbeTimeout { get; set; }

    /// <summary>Gets or sets how long an endpoint stays open after an authentication or configuration failure (401, 403, 404).</summary>
    /// <remarks>Default 5 minutes: such an endpoint stays broken until someone fixes its key or model name. Between 0 and 1 day.</remarks>
    public TimeSpan AuthFailureCooldown { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets how long an endpoint cools down after a rate-limit failure that carries no Retry-After.</summary>
    /// <remarks>Default 5 s. At least 0. A Retry-After, when present, sets the cool-down instead, capped by <see cref="MaxRateLimitCooldown"/>.</remarks>
    public TimeSpan DefaultRateLimitCooldown { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the longest cool-down a Retry-After may impose.</summary>
    /// <remarks>Default 5 minutes. At least <see cref="DefaultRateLimitCooldown"/>; guards against absurd Retry-After values.</remarks>
    public TimeSpan MaxRateLimitCooldown { get; set; } = TimeSpan.FromMinutes(5);
}
