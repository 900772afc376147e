namespace LlmRouter;

/// <summary>Settings of one named endpoint of the router.</summary>
/// <remarks>
/// Bound from configuration under <c>LlmRouter:Endpoints:{name}</c> or set in code through
/// <c>LlmRouterBuilder.AddEndpoint</c>. Validated at start-up; an invalid value fails with a message naming the endpoint
/// and the field.
/// </remarks>
public sealed class EndpointOptions
{
    /// <summary>Gets or sets the relative share of traffic under <see cref="RoutingStrategy.WeightedRandom"/>.</summary>
    /// <remarks>Default 1. Must be finite and at least 0; an endpoint of weight 0 is only used for failover.</remarks>
    public double Weight { get; set; } = 1;

    /// <summary>Gets or sets the priority under <see cref="RoutingStrategy.Ordered"/>; lower values are tried first.</summary>
    /// <remarks>
    /// Default 0. Endpoints of equal priority keep their registration order; endpoints bound from configuration come in
    /// the order of their names (configuration sorts keys), so give them priorities to order them.
    /// </remarks>
    public int Priority { get; set; }

    /// <summary>Gets or sets the group (a model alias such as "smart" or "cheap") this endpoint serves.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: no group. A request that names a group, through
    /// <see cref="Microsoft.Extensions.AI.ChatOptions.ModelId"/> or <see cref="RoutingHints.Group"/>, is served only by
    /// the endpoints of that group; a request that names none may be served by any endpoint.
    /// </remarks>
    public string? Group { get; set; }

    /// <summary>Gets or sets the price of one million input tokens, in the currency of your choice.</summary>
    /// <remarks>Default 0. Must not be negative.</remarks>
    public decimal InputCostPerMillionTokens { get; set; }

    /// <summary>Gets or sets the price of one million output tokens, in the currency of your choice.</summary>
    /// <remarks>Default 0. Must not be negative.</remarks>
    public decimal OutputCostPerMillionTokens { get; set; }

    /// <summary>Gets or sets the timeout of one attempt on this endpoint, overriding <see cref="LlmRouterOptions.AttemptTimeout"/>.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: the router's value. Positive and at most one day, or <see cref="Timeout.InfiniteTimeSpan"/>.
    /// For a streamed response it bounds the wait for each update, the first one included.
    /// </remarks>
    public TimeSpan? AttemptTimeout { get; set; }

    /// <summary>Gets or sets the context window of the endpoint's model, in tokens.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: unknown. A request that fails with <see cref="FailureKind.ContextLength"/> fails
    /// over only to endpoints whose window is known and larger than the failed endpoint's.
    /// </remarks>
    public int? ContextWindowTokens { get; set; }

    /// <summary>Gets or sets a value indicating whether this endpoint may serve requests that another endpoint refused by content filter.</summary>
    /// <remarks>
    /// Default <see langword="false"/>. A <see cref="FailureKind.ContentFilter"/> failure, or a response whose finish reason
    /// is <see cref="Microsoft.Extensions.AI.ChatFinishReason.ContentFilter"/>, fails over only to endpoints marked so.
    /// </remarks>
    public bool IsContentFilterFallback { get; set; }

    /// <summary>Gets or sets a value indicating whether a stream from this endpoint must end with a finish reason.</summary>
    /// <remarks>
    /// Default <see langword="true"/>: a stream that ends without one was cut short (a proxy closing the connection
    /// cleanly, a provider bug), so it is a failure, never a silent success: before any output it fails over, after
    /// output it throws <see cref="StreamInterruptedException"/>. Set <see langword="false"/> for a provider that never
    /// sends a finish reason.
    /// </remarks>
    public bool RequiresFinishReason { get; set; } = true;

    /// <summary>Gets or sets a value indicating whether this endpoint may continue another endpoint's interrupted answer.</summary>
    /// <remarks>
    /// Default <see langword="true"/>. Used by <see cref="MidStreamPolicy.Continue"/>: the continuing endpoint receives
    /// the partial answer as the assistant's turn and an instruction to continue it. Set <see langword="false"/> for a
    /// model that rejects an assistant turn it did not write, or continues it poorly.
    /// </remarks>
    public bool SupportsContinuation { get; set; } = true;

    /// <summary>Gets or sets the provider's name (for example "openai", "azure", "anthropic"), for descriptions and telemetry.</summary>
    /// <remarks>Default <see langword="null"/>. Informational: no routing rule reads it.</remarks>
    public string? Provider { get; set; }

    /// <summary>Gets or sets the model's name (for example "gpt-4o"), for descriptions and telemetry.</summary>
    /// <remarks>Default <see langword="null"/>. Informational: the endpoint's client decides the model it calls.</remarks>
    public string? Model { get; set; }

    /// <summary>Gets or sets where the endpoint processes requests, as free text (for example "eu", "eu-west", "us-east").</summary>
    /// <remarks>
    /// Default <see langword="null"/>: unknown. A request restricted to regions (<see cref="RoutingHints.AllowedRegions"/>
    /// or <see cref="TenantOptions.AllowedRegions"/>) reaches only endpoints whose region matches one of them, ignoring case:
    /// equal, or starting with it followed by '-' ("eu" admits "eu-west"). An endpoint with no region is never admitted
    /// to a restricted request: residency fails closed.
    /// </remarks>
    public string? Region { get; set; }

    /// <summary>Gets the endpoint's free-text tags, for descriptions and custom scorers.</summary>
    /// <remarks>Default empty.</remarks>
    public IList<string> Tags { get; } = new List<string>();

    /// <summary>Gets or sets a value indicating whether the endpoint's model accepts tool (function) definitions.</summary>
    /// <remarks>Default <see langword="true"/>. A request that carries tools is never sent to an endpoint set to <see langword="false"/>.</remarks>
    public bool SupportsToolCalling { get; set; } = true;

    /// <summary>Gets or sets a value indicating whether the endpoint's model accepts images as input.</summary>
    /// <remarks>Default <see langword="true"/>. A request with image content is never sent to an endpoint set to <see langword="false"/>.</remarks>
    public bool SupportsImageInput { get; set; } = true;

    /// <summary>Gets or sets a value indicating whether the endpoint honours a JSON-schema response format.</summary>
    /// <remarks>
    /// Default <see langword="true"/>. A request whose <see cref="Microsoft.Extensions.AI.ChatOptions.ResponseFormat"/> is JSON
    /// with a schema is never sent to an endpoint set to <see langword="false"/>.
    /// </remarks>
    public bool SupportsJsonSchema { get; set; } = true;

    /// <summary>Gets or sets the most output tokens the endpoint's model produces in one response.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: unknown. A request whose <see cref="Microsoft.Extensions.AI.ChatOptions.MaxOutputTokens"/>
    /// is larger is not sent to this endpoint. With <see cref="ContextWindowTokens"/> set, the request's estimated input
    /// tokens plus its output cap must fit the window.
    /// </remarks>
    public int? MaxOutputTokens { get; set; }

    /// <summary>Gets or sets a value indicating whether the provider keeps no request or response data (zero data retention).</summary>
    /// <remarks>Default <see langword="false"/>. A request that requires zero data retention reaches only endpoints set to <see langword="true"/>.</remarks>
    public bool ZeroDataRetention { get; set; }

    /// <summary>Gets or sets a value indicating whether the provider does not train on the requests it serves.</summary>
    /// <remarks>Default <see langword="false"/>. Informational unless a request requires it (<see cref="RoutingHints.RequireNoTraining"/>).</remarks>
    public bool NoTraining { get; set; }

    /// <summary>Gets or sets the price of one million input tokens read from the provider's prompt cache.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: the input price. Must not be negative. Cost and budgets bill
    /// <see cref="Microsoft.Extensions.AI.UsageDetails.CachedInputTokenCount"/> at this price and the rest of the input at
    /// <see cref="InputCostPerMillionTokens"/>.
    /// </remarks>
    public decimal? CachedInputCostPerMillionTokens { get; set; }

    /// <summary>Gets or sets the most requests per minute the router sends to this endpoint (attempts, retries and hedges included).</summary>
    /// <remarks>
    /// Default <see langword="null"/>: no limit. At least 1 when set. An endpoint at its limit is passed over; when every
    /// candidate is, the request waits up to <see cref="ConstraintOptions.LimitMaxWait"/>, then fails with
    /// <see cref="EndpointLimitsReachedException"/>. The minute is a fixed window on the router's clock.
    /// </remarks>
    public int? RequestsPerMinute { get; set; }

    /// <summary>Gets or sets the most tokens (input and output) per minute the router sends to this endpoint.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: no limit. At least 1 when set. Each attempt reserves its estimate (input estimate
    /// plus <see cref="Microsoft.Extensions.AI.ChatOptions.MaxOutputTokens"/> or <see cref="ScoringOptions.AssumedOutputTokens"/>)
    /// before the call; the reservation is corrected to the reported usage after it, and released if the attempt reports none.
    /// </remarks>
    public int? TokensPerMinute { get; set; }

    /// <summary>Gets or sets the most attempts in flight at once on this endpoint (a stream counts until it ends).</summary>
    /// <remarks>Default <see langword="null"/>: no limit. At least 1 when set.</remarks>
    public int? MaxConcurrency { get; set; }

    /// <summary>Gets or sets the endpoint's spending caps per UTC hour, day and month.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: no cap. An endpoint whose cap is spent is excluded from every plan
    /// (<see cref="ExclusionReason.Budget"/>) until the period ends; past <see cref="ConstraintOptions.BudgetSoftThreshold"/>
    /// it is placed behind the endpoints that are not.
    /// </remarks>
    public BudgetOptions? Budget { get; set; }
}
