namespace LlmRouter;

/// <summary>Settings of the candidate filter's constraints: per-tenant defaults, limits and budgets.</summary>
/// <remarks>Bound from configuration under <c>LlmRouter:Constraints</c>.</remarks>
public sealed class ConstraintOptions
{
    /// <summary>Gets the per-tenant defaults, by tenant name (compared ignoring case).</summary>
    /// <remarks>A request whose <see cref="RoutingHints.Tenant"/> names no entry has no tenant defaults.</remarks>
    public IDictionary<string, TenantOptions> Tenants { get; } =
        new Dictionary<string, TenantOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets or sets how long a request waits when every candidate is at a rate or concurrency limit.</summary>
    /// <remarks>
    /// Default 10 s. Between 0 and one day. The request waits for the first minute to roll over or slot to free up,
    /// then fails with <see cref="EndpointLimitsReachedException"/> naming the limits hit.
    /// </remarks>
    public TimeSpan LimitMaxWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets the share of a spending cap past which routing favours cheaper endpoints.</summary>
    /// <remarks>
    /// Default 0.8. Greater than 0 and at most 1. Past it, a tenant's requests are ordered by estimated cost (unless the
    /// request or the tenant sets its own <see cref="RoutingSort"/>), and an endpoint past it on its own cap is placed
    /// behind the endpoints that are not.
    /// </remarks>
    public double BudgetSoftThreshold { get; set; } = 0.8;
}
