namespace LlmRouter;

/// <summary>Which spending caps that bear on a request are past <see cref="ConstraintOptions.BudgetSoftThreshold"/>.</summary>
[Flags]
internal enum BudgetPressure
{
    None = 0,

    /// <summary>The request's tenant: its request is ordered by estimated cost, unless it or the tenant set a sort.</summary>
    Tenant = 1,

    /// <summary>At least one candidate endpoint: each such endpoint goes behind those that are not.</summary>
    Endpoint = 2,

    /// <summary>The tenant's pressure switched the request's order to <see cref="RoutingSort.Price"/>.</summary>
    SortedByPrice = 4,
}
