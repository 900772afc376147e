namespace LlmRouter;

/// <summary>Settings of the candidate filter's constraints: per-tenant defaults, limits and budgets.</summary>
/// <remarks>Bound from configuration under <c>LlmRouter:Constraints</c>.</remarks>
public sealed class ConstraintOptions
{
    /// <summary>Gets the per-tenant defaults, by tenant name (compared ignoring case).</summary>
    /// <remarks>A request whose <see cref="RoutingHints.Tenant"/> names no entry has no tenant defaults.</remarks>
    public IDictionary<string, TenantOptions> Tenants { get; } =
        new Dictionary<string, TenantOptions>(StringComparer.OrdinalIgnoreCase);
}
