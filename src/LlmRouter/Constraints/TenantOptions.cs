namespace LlmRouter;

/// <summary>Defaults for every request of one tenant (<see cref="RoutingHints.Tenant"/>), merged with the request's own hints.</summary>
/// <remarks>
/// Bound from configuration under <c>LlmRouter:Constraints:Tenants:{tenant}</c>. Where the request's hints and the
/// tenant's defaults both restrict, the stricter wins: an endpoint must pass both region lists and both endpoint lists,
/// the lower price cap applies, and a data-policy requirement of either applies. A request cannot loosen its tenant's rules.
/// </remarks>
public sealed class TenantOptions
{
    /// <summary>Gets or sets the regions the tenant's requests may be processed in.</summary>
    /// <remarks>Default <see langword="null"/>: anywhere. See <see cref="RoutingHints.AllowedRegions"/>.</remarks>
    public IList<string>? AllowedRegions { get; set; }

    /// <summary>Gets or sets the only endpoints the tenant's requests may use.</summary>
    /// <remarks>Default <see langword="null"/>: any.</remarks>
    public IList<string>? OnlyEndpoints { get; set; }

    /// <summary>Gets or sets endpoints the tenant's requests must not use.</summary>
    /// <remarks>Default <see langword="null"/>: none.</remarks>
    public IList<string>? IgnoreEndpoints { get; set; }

    /// <summary>Gets or sets a value indicating whether the tenant's requests need endpoints with zero data retention.</summary>
    /// <remarks>Default <see langword="false"/>.</remarks>
    public bool RequireZeroDataRetention { get; set; }

    /// <summary>Gets or sets a value indicating whether the tenant's requests need endpoints that do not train on them.</summary>
    /// <remarks>Default <see langword="false"/>.</remarks>
    public bool RequireNoTraining { get; set; }

    /// <summary>Gets or sets the highest input price (per million tokens) for the tenant's requests.</summary>
    /// <remarks>Default <see langword="null"/>: any. Must not be negative.</remarks>
    public decimal? MaxInputCostPerMillionTokens { get; set; }

    /// <summary>Gets or sets the highest output price (per million tokens) for the tenant's requests.</summary>
    /// <remarks>Default <see langword="null"/>: any. Must not be negative.</remarks>
    public decimal? MaxOutputCostPerMillionTokens { get; set; }

    /// <summary>Gets or sets the highest estimated cost of one of the tenant's requests.</summary>
    /// <remarks>Default <see langword="null"/>: any. Must not be negative. See <see cref="RoutingHints.MaxRequestCost"/>.</remarks>
    public decimal? MaxRequestCost { get; set; }

    /// <summary>Gets or sets the order of candidates for the tenant's requests, unless a request sets its own.</summary>
    /// <remarks>Default <see cref="RoutingSort.Default"/>.</remarks>
    public RoutingSort Sort { get; set; }

    /// <summary>Gets or sets a value indicating whether the tenant's requests are served by their plan's first endpoint only.</summary>
    /// <remarks>Default <see langword="false"/>. See <see cref="RoutingHints.NoFallbacks"/>.</remarks>
    public bool NoFallbacks { get; set; }

    /// <summary>Gets or sets the tenant's spending caps per UTC hour, day and month.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: no cap. When a cap is spent, the tenant's requests fail with
    /// <see cref="BudgetExceededException"/> before any endpoint is called, until the period ends.
    /// </remarks>
    public BudgetOptions? Budget { get; set; }
}
