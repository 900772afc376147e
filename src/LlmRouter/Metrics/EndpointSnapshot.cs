namespace LlmRouter;

/// <summary>An immutable picture of one endpoint: health, latency and time-to-first-token percentiles, success, usage and cost.</summary>
/// <remarks>
/// Percentiles and rates cover the attempts of the last <see cref="MetricsOptions.Window"/> (at most
/// <see cref="MetricsOptions.Capacity"/> of them); totals count every attempt since the router started.
/// </remarks>
public sealed class EndpointSnapshot
{
    private readonly long[] _outcomes;

    internal EndpointSnapshot(string endpoint, DateTimeOffset takenAt, HealthState health, long[] outcomes)
    {
        Endpoint = endpoint;
        TakenAt = takenAt;
        Health = health;
        _outcomes = outcomes;
    }

    /// <summary>Gets the endpoint's name.</summary>
    public string Endpoint { get; }

    /// <summary>Gets when this snapshot was taken.</summary>
    public DateTimeOffset TakenAt { get; }

    /// <summary>Gets the endpoint's health state when the snapshot was taken.</summary>
    public HealthState Health { get; private set; }

    /// <summary>Gets the score the endpoint got in the latest routing decision it took part in, if any.</summary>
    public double? Score { get; private set; }

    /// <summary>Gets when an open endpoint may be probed, or a rate-limited one used first again, if either applies.</summary>
    public DateTimeOffset? RecoversAt { get; private set; }

    /// <summary>Gets how many attempts the window holds.</summary>
    public int SampleCount { get; internal init; }

    /// <summary>Gets the median latency of successful non-streaming attempts in the window (streams are measured by time to first token).</summary>
    public TimeSpan? LatencyP50 => Ms(P50Ms);

    /// <summary>Gets the 95th-percentile latency of successful non-streaming attempts in the window.</summary>
    public TimeSpan? LatencyP95 => Ms(P95Ms);

    /// <summary>Gets the 99th-percentile latency of successful non-streaming attempts in the window.</summary>
    public TimeSpan? LatencyP99 => Ms(P99Ms);

    /// <summary>Gets the mean latency of the most recent successful non-streaming attempts (up to 5).</summary>
    public TimeSpan? RecentLatency => Ms(RecentMs);

    /// <summary>Gets the median time to first token of streamed attempts in the window.</summary>
    public TimeSpan? TimeToFirstTokenP50 => Ms(TtftP50Ms);

    /// <summary>Gets the 95th-percentile time to first token of streamed attempts in the window.</summary>
    public TimeSpan? TimeToFirstTokenP95 => Ms(TtftP95Ms);

    /// <summary>Gets the 99th-percentile time to first token of streamed attempts in the window.</summary>
    public TimeSpan? TimeToFirstTokenP99 => Ms(TtftP99Ms);

    /// <summary>Gets the share of attempts in the window that succeeded, not counting cancellations and request errors.</summary>
    public double? SuccessRate => double.IsNaN(SuccessRateValue) ? null : SuccessRateValue;

    /// <summary>Gets the success rate weighted by age (see <see cref="MetricsOptions.SuccessHalfLife"/>).</summary>
    public double? DecayedSuccessRate => double.IsNaN(DecayedSuccess) ? null : DecayedSuccess;

    /// <summary>Gets the output tokens per second of successful attempts in the window.</summary>
    public double? OutputTokensPerSecond => double.IsNaN(TokensPerSecondValue) ? null : TokensPerSecondValue;

    /// <summary>Gets the share of input tokens the provider read from its prompt cache, over the window's successful attempts.</summary>
    /// <remarks>
    /// From <see cref="Microsoft.Extensions.AI.UsageDetails.CachedInputTokenCount"/>; <see langword="null"/> while no attempt
    /// reported input tokens. Cost estimates price this share of a request's input at the cached-input price.
    /// </remarks>
    public double? CachedInputRatio => double.IsNaN(CachedInputRatioValue) ? null : CachedInputRatioValue;

    /// <summary>Gets the attempts in flight when the snapshot was taken.</summary>
    public int InFlight { get; internal init; }

    /// <summary>Gets every attempt made since the router started.</summary>
    public long TotalAttempts { get; internal init; }

    /// <summary>Gets the successful attempts since the router started.</summary>
    public long Successes => _outcomes[0];

    /// <summary>Gets the input tokens reported since the router started.</summary>
    public long InputTokens { get; internal init; }

    /// <summary>Gets the output tokens reported since the router started.</summary>
    public long OutputTokens { get; internal init; }

    /// <summary>Gets the cost of every attempt since the router started, at the endpoint's prices.</summary>
    public decimal TotalCost { get; internal init; }

    /// <summary>Gets the requests left in the current minute under <see cref="EndpointOptions.RequestsPerMinute"/>; null without that limit.</summary>
    /// <remarks>
    /// In fleet mode, no more than this instance may still admit as far as it knows: its leased allowance plus what the
    /// fleet had not leased at its last lease (connected), or what is left of its share (Redis unreachable).
    /// </remarks>
    public int? RequestsLeftThisMinute { get; private set; }

    /// <summary>Gets the tokens left (after reservations) in the current minute under <see cref="EndpointOptions.TokensPerMinute"/>; null without that limit.</summary>
    public long? TokensLeftThisMinute { get; private set; }

    /// <summary>Gets the free attempt slots under <see cref="EndpointOptions.MaxConcurrency"/>; null without that limit.</summary>
    public int? ConcurrencyLeft { get; private set; }

    /// <summary>Gets when (a <see cref="TimeProvider.GetTimestamp"/> value) the oldest sample leaves the window, changing the snapshot; <see cref="long.MaxValue"/> when there is none.</summary>
    internal long AgesOutAt { get; init; } = long.MaxValue;

    /// <summary>Gets how many successful non-streamed attempts the latency percentiles come from.</summary>
    internal int LatencySamples { get; init; }

    /// <summary>Gets how many successful streamed attempts the time-to-first-token percentiles come from.</summary>
    internal int TtftSamples { get; init; }

    internal double P50Ms { get; init; } = double.NaN;

    internal double P95Ms { get; init; } = double.NaN;

    internal double P99Ms { get; init; } = double.NaN;

    internal double RecentMs { get; init; } = double.NaN;

    internal double TtftP50Ms { get; init; } = double.NaN;

    internal double TtftP95Ms { get; init; } = double.NaN;

    internal double TtftP99Ms { get; init; } = double.NaN;

    internal double TtftRecentMs { get; init; } = double.NaN;

    internal double SuccessRateValue { get; init; } = double.NaN;

    internal double DecayedSuccess { get; init; } = double.NaN;

    internal double TokensPerSecondValue { get; init; } = double.NaN;

    internal double AverageOutputTokens { get; init; } = double.NaN;

    /// <summary>The share of successful attempts' input tokens read from the provider's prompt cache, in the window; NaN without usage.</summary>
    internal double CachedInputRatioValue { get; init; } = double.NaN;

    /// <summary>Gets how many attempts since the router started failed with the given kind.</summary>
    /// <param name="kind">The failure kind.</param>
    /// <returns>The count.</returns>
    public long FailureCount(FailureKind kind) => (uint)kind < _outcomes.Length - 1 ? _outcomes[(int)kind + 1] : 0;

    internal EndpointSnapshot With(HealthState health, DateTimeOffset? recoversAt, double? score)
    {
        var copy = (EndpointSnapshot)MemberwiseClone();
        copy.Health = health;
        copy.RecoversAt = recoversAt;
        copy.Score = score;
        return copy;
    }

    internal EndpointSnapshot WithLimits(EndpointLimits? limits)
    {
        if (limits is not { Any: true })
        {
            return this;
        }

        RequestsLeftThisMinute = limits.RequestsLeft;
        TokensLeftThisMinute = limits.TokensLeft;
        ConcurrencyLeft = limits.ConcurrencyLeft;
        return this;
    }

    private static TimeSpan? Ms(double value) => double.IsNaN(value) ? null : TimeSpan.FromMilliseconds(value);
}
