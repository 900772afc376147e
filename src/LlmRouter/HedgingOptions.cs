namespace LlmRouter;

/// <summary>Hedged requests: when an attempt is slow, start the next candidate as well and keep whichever answers first.</summary>
/// <remarks>
/// The first success wins (for a stream, the first output); every other attempt is cancelled, its stream disposed,
/// and it is recorded as cancelled by a hedge, not as a failure. Hedges spend from the same retry budget as retries
/// (<see cref="RetryOptions.BudgetRatio"/>), so they can never double the load on the providers.
/// </remarks>
public sealed class HedgingOptions
{
    /// <summary>Gets or sets a value indicating whether slow requests are hedged.</summary>
    /// <remarks>Default <see langword="false"/>.</remarks>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets the most hedges one request may start.</summary>
    /// <remarks>Default 1. Between 1 and 5.</remarks>
    public int MaxHedges { get; set; } = 1;

    /// <summary>Gets or sets a fixed hedge delay; when set, the adaptive delay is not used.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: the running attempt's endpoint's p95 latency (for a stream, its p95 time to first
    /// token), kept between <see cref="MinDelay"/> and <see cref="MaxDelay"/>; <see cref="MaxDelay"/> while the endpoint
    /// is unmeasured.
    /// </remarks>
    public TimeSpan? Delay { get; set; }

    /// <summary>Gets or sets the shortest adaptive hedge delay.</summary>
    /// <remarks>Default 100 ms. Positive, and at most <see cref="MaxDelay"/>.</remarks>
    public TimeSpan MinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Gets or sets the longest adaptive hedge delay.</summary>
    /// <remarks>Default 10 s. At most one day.</remarks>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(10);
}
