using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace LlmRouter;

/// <summary>What every stage of one router shares: current options, time, randomness, classification, metrics refresh and logging.</summary>
internal sealed class RouterRuntime
{
    private LlmRouterOptions _options;

    public RouterRuntime(
        LlmRouterOptions options,
        TimeProvider timeProvider,
        FailureClassifierChain classifier,
        ILogger logger,
        RouterTelemetry? telemetry = null)
    {
        _options = options;
        Telemetry = telemetry ?? RouterTelemetry.Shared;
        TimeProvider = timeProvider;
        Classifier = classifier;
        Logger = logger;
        Random = options.Randomizer ?? System.Random.Shared.NextDouble;
        RetryBudget = new RetryBudget(timeProvider, () => Options.Retry);
    }

    /// <summary>Gets or sets the current options; replaced atomically when they change at run time, read once per use.</summary>
    public LlmRouterOptions Options
    {
        get => Volatile.Read(ref _options);
        set => Volatile.Write(ref _options, value);
    }

    public TimeProvider TimeProvider { get; }

    public RouterTelemetry Telemetry { get; }

    public FailureClassifierChain Classifier { get; }

    public ILogger Logger { get; }

    public Func<double> Random { get; }

    /// <summary>Gets or sets the snapshot refresher, told about every recorded attempt.</summary>
    public SnapshotRefresher? Refresher { get; set; }

    /// <summary>Gets the router-wide budget of extra attempts (retries, failovers, hedges, continuations).</summary>
    public RetryBudget RetryBudget { get; }

    /// <summary>Gets the tenants' spending accounts (endpoints keep theirs in <see cref="RouterEndpoint.Spending"/>).</summary>
    public BudgetLedger Budgets { get; } = new();

    /// <summary>Gets the conversations' endpoints, for affinity.</summary>
    public AffinityMap Conversations { get; } = new();

    /// <summary>Gets the endpoints that issued conversation ids and continuation tokens: requests carrying one are pinned there.</summary>
    public AffinityMap ProviderState { get; } = new();

    /// <summary>Remembers which endpoint issued a conversation id or a continuation token seen in a response.</summary>
    public void RememberProviderState(string? conversationId, ResponseContinuationToken? continuationToken, RouterEndpoint endpoint)
    {
        if (conversationId is null && continuationToken is null)
        {
            return;
        }

        AffinityOptions affinity = Options.Affinity;
        long now = TimeProvider.GetTimestamp();
        long expires = now + (long)(affinity.ProviderStateTimeToLive.TotalSeconds * TimeProvider.TimestampFrequency);
        if (conversationId is not null)
        {
            _ = ProviderState.Remember(ConversationKey.OfConversationId(conversationId), endpoint.Name, now, expires, affinity.MaxConversations, returning: false);
        }

        if (continuationToken is not null)
        {
            _ = ProviderState.Remember(ConversationKey.OfContinuationToken(continuationToken), endpoint.Name, now, expires, affinity.MaxConversations, returning: false);
        }
    }

    public TimeSpan AttemptTimeoutFor(RouterEndpoint endpoint) => endpoint.Options.AttemptTimeout ?? Options.AttemptTimeout;

    /// <summary>An attempt's timeout (for a stream, its first output's): <paramref name="timeout"/>, or the probe timeout when the attempt is a half-open probe and that is shorter.</summary>
    public TimeSpan ForAdmission(TimeSpan timeout, Admission admission) =>
        admission == Admission.Probe && Options.Health.ProbeTimeout is { } probe ? Shorter(probe, timeout) : timeout;

    /// <summary>The longest wait for a stream's first output: fixed, or a multiple of the endpoint's p95 time to first token; never above the attempt timeout.</summary>
    public TimeSpan FirstTokenTimeoutFor(RouterEndpoint endpoint)
    {
        LlmRouterOptions options = Options;
        StreamingOptions streaming = options.Streaming;
        EndpointSnapshot snapshot = endpoint.Metrics.Snapshot;
        TimeSpan timeout = streaming.FirstTokenTimeout
            ?? Adaptive(snapshot.TtftP95Ms, snapshot.TtftSamples, streaming.FirstTokenTimeoutMultiplier, streaming.MinFirstTokenTimeout, streaming.MaxFirstTokenTimeout, options);
        return Shorter(timeout, AttemptTimeoutFor(endpoint));
    }

    /// <summary>The longest wait for each update once a stream has produced output; never above the attempt timeout.</summary>
    public TimeSpan StallTimeoutFor(RouterEndpoint endpoint) => Shorter(Options.Streaming.StallTimeout, AttemptTimeoutFor(endpoint));

    /// <summary>How long an attempt on the endpoint may run before a hedge starts: fixed, or its p95 latency (p95 time to first token for streams).</summary>
    public TimeSpan HedgeDelayFor(RouterEndpoint endpoint, bool streaming)
    {
        LlmRouterOptions options = Options;
        HedgingOptions hedging = options.Hedging;
        if (hedging.Delay is { } delay)
        {
            return delay;
        }

        EndpointSnapshot snapshot = endpoint.Metrics.Snapshot;
        return streaming
            ? Adaptive(snapshot.TtftP95Ms, snapshot.TtftSamples, 1, hedging.MinDelay, hedging.MaxDelay, options)
            : Adaptive(snapshot.P95Ms, snapshot.LatencySamples, 1, hedging.MinDelay, hedging.MaxDelay, options);
    }

    /// <param name="p95Ms">The p95 the value follows.</param>
    /// <param name="samples">How many samples the p95 comes from: below <see cref="ScoringOptions.MinSamples"/>, the endpoint is unmeasured.</param>
    /// <param name="multiplier">The multiple of the p95.</param>
    /// <param name="min">The floor.</param>
    /// <param name="max">The ceiling, and the value while unmeasured.</param>
    /// <param name="options">The current options.</param>
    private static TimeSpan Adaptive(double p95Ms, int samples, double multiplier, TimeSpan min, TimeSpan max, LlmRouterOptions options)
    {
        if (double.IsNaN(p95Ms) || samples < options.Scoring.MinSamples)
        {
            return max; // unmeasured: the patient end of the range
        }

        double ms = Math.Clamp(p95Ms * multiplier, min.TotalMilliseconds, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms);
    }

    private static TimeSpan Shorter(TimeSpan a, TimeSpan b) =>
        a == Timeout.InfiniteTimeSpan ? b : b == Timeout.InfiniteTimeSpan ? a : a < b ? a : b;
}
