namespace LlmRouter;

/// <summary>Per-request routing hints, set with <c>ChatOptions.WithRouting(...)</c>.</summary>
public sealed class RoutingHints
{
    /// <summary>Gets or sets the group whose endpoints may serve the request.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: any endpoint. Takes precedence over a group named by
    /// <see cref="Microsoft.Extensions.AI.ChatOptions.ModelId"/>.
    /// </remarks>
    public string? Group { get; set; }

    /// <summary>Gets or sets the tenant the request belongs to: its partition of the response cache.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: the shared partition. Cached responses are only ever served within the partition
    /// that stored them, so two tenants never read each other's entries, whatever their prompts.
    /// </remarks>
    public string? Tenant { get; set; }

    /// <summary>Gets or sets how this request uses the response cache.</summary>
    /// <remarks>Default <see cref="LlmRouter.CacheMode.Default"/>: read and store, when <see cref="CacheOptions.Enabled"/>.</remarks>
    public CacheMode CacheMode { get; set; }

    /// <summary>Gets or sets how long this request's response stays cached, overriding <see cref="CacheOptions.TimeToLive"/>.</summary>
    /// <remarks>Default <see langword="null"/>: the router's value. Must be positive.</remarks>
    public TimeSpan? CacheTimeToLive { get; set; }

    /// <summary>Gets or sets the regions the request may be processed in (see <see cref="EndpointOptions.Region"/>).</summary>
    /// <remarks>
    /// Default <see langword="null"/>: anywhere. Fails closed: an endpoint outside them, or with no region, is never
    /// called for the request (not first, not on retry, failover, hedge or stream continuation). Combined with the
    /// tenant's <see cref="TenantOptions.AllowedRegions"/>, an endpoint must be allowed by both.
    /// </remarks>
    public IList<string>? AllowedRegions { get; set; }

    /// <summary>Gets or sets the only endpoints (by name) that may serve the request.</summary>
    /// <remarks>Default <see langword="null"/>: any. Combined with the tenant's list, an endpoint must be in both.</remarks>
    public IList<string>? OnlyEndpoints { get; set; }

    /// <summary>Gets or sets endpoints (by name) that must not serve the request.</summary>
    /// <remarks>Default <see langword="null"/>: none. Combined with the tenant's list: an endpoint in either is ignored.</remarks>
    public IList<string>? IgnoreEndpoints { get; set; }

    /// <summary>Gets or sets a value indicating whether only endpoints with <see cref="EndpointOptions.ZeroDataRetention"/> may serve the request.</summary>
    /// <remarks>Default <see langword="false"/>. Required when either the request or its tenant requires it.</remarks>
    public bool RequireZeroDataRetention { get; set; }

    /// <summary>Gets or sets a value indicating whether only endpoints with <see cref="EndpointOptions.NoTraining"/> may serve the request.</summary>
    /// <remarks>Default <see langword="false"/>. Required when either the request or its tenant requires it.</remarks>
    public bool RequireNoTraining { get; set; }

    /// <summary>Gets or sets the highest input price (per million tokens) an endpoint may charge to serve the request.</summary>
    /// <remarks>Default <see langword="null"/>: any. With the tenant's cap, the lower applies.</remarks>
    public decimal? MaxInputCostPerMillionTokens { get; set; }

    /// <summary>Gets or sets the highest output price (per million tokens) an endpoint may charge to serve the request.</summary>
    /// <remarks>Default <see langword="null"/>: any. With the tenant's cap, the lower applies.</remarks>
    public decimal? MaxOutputCostPerMillionTokens { get; set; }

    /// <summary>Gets or sets the highest estimated cost of the request an endpoint may have.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: any. The estimate is the input estimate at the endpoint's input price plus
    /// <see cref="Microsoft.Extensions.AI.ChatOptions.MaxOutputTokens"/> (or <see cref="ScoringOptions.AssumedOutputTokens"/>)
    /// at its output price. With the tenant's cap, the lower applies.
    /// </remarks>
    public decimal? MaxRequestCost { get; set; }

    /// <summary>Gets or sets the order of the candidates, overriding the router's strategy for this request.</summary>
    /// <remarks>Default <see cref="RoutingSort.Default"/>: the strategy's order (or the tenant's <see cref="TenantOptions.Sort"/>).</remarks>
    public RoutingSort Sort { get; set; }

    /// <summary>Gets or sets the latency the request prefers: endpoints whose recent latency is above it go after those within it.</summary>
    /// <remarks>Default <see langword="null"/>: no preference. A preference, not a filter: a slow endpoint still serves when no faster one can.</remarks>
    public TimeSpan? PreferredMaxLatency { get; set; }

    /// <summary>Gets or sets a value indicating whether the request may only be served by the first endpoint of its plan.</summary>
    /// <remarks>Default <see langword="false"/>. Retries on that endpoint still happen; no other endpoint is tried, hedged or continued on.</remarks>
    public bool NoFallbacks { get; set; }

    /// <summary>Gets or sets the key of the conversation the request belongs to, for conversation affinity.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: the conversation is recognised by its leading messages (the system messages and
    /// the first user message). Turns with the same key stay on the endpoint that served the previous turn while it is
    /// fit (see <see cref="AffinityOptions"/>). Hashed in memory; never logged nor sent anywhere.
    /// </remarks>
    public string? ConversationKey { get; set; }
}
