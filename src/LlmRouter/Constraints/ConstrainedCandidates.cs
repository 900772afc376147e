namespace LlmRouter;

/// <summary>What the constraint filter decided for one request: the candidates left, those excluded, and how to order them.</summary>
internal readonly struct ConstrainedCandidates
{
    public ConstrainedCandidates(
        RouterEndpoint[] candidates, EndpointExclusion[]? exclusions, RoutingSort sort, double preferredMaxLatencyMs, bool noFallbacks,
        BudgetPressure budgetPressure = BudgetPressure.None, string? pinReason = null)
    {
        PinReason = pinReason;
        BudgetPressure = budgetPressure;
        Candidates = candidates;
        Exclusions = exclusions;
        Sort = sort;
        PreferredMaxLatencyMs = preferredMaxLatencyMs;
        NoFallbacks = noFallbacks;
    }

    /// <summary>Gets the endpoints that may serve the request; the group's own array when none was excluded.</summary>
    public RouterEndpoint[] Candidates { get; }

    /// <summary>Gets the endpoints excluded and why; null when none was.</summary>
    public EndpointExclusion[]? Exclusions { get; }

    public RoutingSort Sort { get; }

    /// <summary>Gets the preferred latency in milliseconds; 0 when none.</summary>
    public double PreferredMaxLatencyMs { get; }

    public bool NoFallbacks { get; }

    /// <summary>Gets which budgets are past their soft threshold: the tenant's (order by price), some endpoint's (place it behind).</summary>
    public BudgetPressure BudgetPressure { get; }

    /// <summary>Gets why the request is pinned to one endpoint (provider-held state), or null when it is not.</summary>
    public string? PinReason { get; }

    /// <summary>Gets a value indicating whether the order must be adjusted after the strategy ranked the candidates.</summary>
    public bool Reorders => Sort != RoutingSort.Default || PreferredMaxLatencyMs > 0 || BudgetPressure != BudgetPressure.None;
}
