namespace LlmRouter;

/// <summary>Settings of the router, bound from the <c>LlmRouter</c> configuration section or set in code.</summary>
/// <remarks>Validated once at start-up; every error message names the field, and the endpoint where there is one.</remarks>
public sealed class LlmRouterOptions
{
    /// <summary>Gets or sets how candidate endpoints are ordered for each request.</summary>
    /// <remarks>Default <see cref="RoutingStrategy.Score"/>.</remarks>
    public RoutingStrategy Strategy { get; set; } = RoutingStrategy.Score;

    /// <summary>Gets or sets the timeout of one attempt, unless the endpoint sets its own.</summary>
    /// <remarks>
    /// Default 100 s. Positive and at most one day, or <see cref="Timeout.InfiniteTimeSpan"/>. For a streamed response it bounds the wait
    /// for each update. An attempt that times out fails as <see cref="FailureKind.Timeout"/> and the request fails over;
    /// the caller's own cancellation never fails over.
    /// </remarks>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>Gets the endpoints by name.</summary>
    /// <remarks>Names are compared ignoring case. Endpoints added in code appear here too.</remarks>
    public IDictionary<string, EndpointOptions> Endpoints { get; } =
        new Dictionary<string, EndpointOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets the retry and failover settings.</summary>
    public RetryOptions Retry { get; } = new();

    /// <summary>Gets the settings of streamed responses: first-token and stall timeouts, and what to do when a stream breaks.</summary>
    public StreamingOptions Streaming { get; } = new();

    /// <summary>Gets the settings of the response cache.</summary>
    public CacheOptions Cache { get; } = new();

    /// <summary>Gets the settings of hedged requests.</summary>
    public HedgingOptions Hedging { get; } = new();

    /// <summary>Gets the health state machine's settings: when endpoints degrade, open, are probed and recover.</summary>
    public HealthOptions Health { get; } = new();

    /// <summary>Gets the settings of the per-endpoint metrics the router learns from.</summary>
    public MetricsOptions Metrics { get; } = new();

    /// <summary>Gets the weights and knobs of <see cref="RoutingStrategy.Score"/>.</summary>
    public ScoringOptions Scoring { get; } = new();

    /// <summary>Gets the constraints on which endpoints may serve a request: per-tenant defaults, limits and budgets.</summary>
    public ConstraintOptions Constraints { get; } = new();

    /// <summary>Gets the conversation-affinity settings: turns of one conversation stay on one endpoint while it is fit.</summary>
    public AffinityOptions Affinity { get; } = new();

    /// <summary>Gets or sets the source of uniformly distributed random numbers in [0, 1) for jitter and weighted choices.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: <see cref="Random.Shared"/>. Set a seeded source to make a run reproducible.
    /// It may be called from many threads at once.
    /// </remarks>
    public Func<double>? Randomizer { get; set; }
}
