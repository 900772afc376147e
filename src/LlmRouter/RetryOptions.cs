namespace LlmRouter;

/// <summary>How often and how patiently the router retries and fails over within one request.</summary>
public sealed class RetryOptions
{
    /// <summary>Gets or sets the most attempts one request may make, across all endpoints and retries.</summary>
    /// <remarks>Default 5. Between 1 and 100.</remarks>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Gets or sets how many times a transient or rate-limited failure is retried on the same endpoint before it is left.</summary>
    /// <remarks>Default 1. Between 0 and 10. Other failure kinds are never retried on the same endpoint.</remarks>
    public int MaxRetriesPerEndpoint { get; set; } = 1;

    /// <summary>Gets or sets the base of the exponential backoff between retries on one endpoint.</summary>
    /// <remarks>
    /// Default 200 ms. Retry <c>n</c> (from 0) waits a uniformly random time in
    /// <c>[0, min(MaxDelay, BaseDelay × 2ⁿ)]</c> ("full jitter"), so that callers retrying together spread out.
    /// </remarks>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Gets or sets the cap of one backoff delay.</summary>
    /// <remarks>Default 5 s. At least <see cref="BaseDelay"/>.</remarks>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the longest Retry-After the router waits for on the same endpoint.</summary>
    /// <remarks>
    /// Default 10 s. A longer Retry-After is not waited for: the endpoint cools down for that long and the request moves
    /// on. The router still waits only after every other candidate has been tried.
    /// </remarks>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets the retry budget: extra attempts (retries, failovers, hedges, continuations) allowed as a share of requests.</summary>
    /// <remarks>
    /// Default 0.1: over <see cref="BudgetWindow"/>, extra attempts may add at most 10% to the requests, plus
    /// <see cref="BudgetMinPerSecond"/>. Between 0 and 10. When the budget is spent, a request makes its first attempt
    /// and at most one failover, to an endpoint it has not tried that is succeeding now (not open, not rate-limited, at
    /// least half of its recent attempts successful), no retry and no hedge, and its routing information says so
    /// (<see cref="RoutingInfo.RetryBudgetExhausted"/>). A provider outage then cannot turn into a retry storm.
    /// </remarks>
    public double BudgetRatio { get; set; } = 0.1;

    /// <summary>Gets or sets the extra attempts per second allowed whatever the traffic, so that a quiet application can still retry.</summary>
    /// <remarks>Default 1. Between 0 and 10,000.</remarks>
    public double BudgetMinPerSecond { get; set; } = 1;

    /// <summary>Gets or sets the sliding window over which the retry budget counts requests and extra attempts.</summary>
    /// <remarks>Default 10 s. Between 1 s and 10 minutes.</remarks>
    public TimeSpan BudgetWindow { get; set; } = TimeSpan.FromSeconds(10);
}
