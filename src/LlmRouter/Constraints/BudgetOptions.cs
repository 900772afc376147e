namespace LlmRouter;

/// <summary>Spending caps of one tenant or one endpoint, in the currency of the endpoints' prices, per UTC calendar period.</summary>
/// <remarks>
/// Bound from configuration as <c>Budget</c> under a tenant (<c>LlmRouter:Constraints:Tenants:{tenant}:Budget</c>) or an
/// endpoint (<c>LlmRouter:Endpoints:{endpoint}:Budget</c>). Spending is counted from the usage the providers report,
/// priced at each endpoint's input, cached-input and output prices. Each cap is independent: a request is refused when
/// any one is spent. Past <see cref="ConstraintOptions.BudgetSoftThreshold"/> of any cap, routing favours cheaper endpoints.
/// Requests already in flight when a cap is reached still finish, so spending may overshoot a cap by the cost of those
/// requests (at most the concurrency of the application times the cost of its largest request).
/// <para>
/// In fleet mode (<c>AddRedisFleet</c>, <see cref="RedisFleetOptions.ShareBudgets"/>) a cap holds for the whole fleet:
/// each instance pushes its spending to Redis every <see cref="RedisFleetOptions.BudgetSyncInterval"/> and reads the
/// fleet's total back. The overshoot is then the requests in flight plus one sync interval's spending of the other
/// instances (about (N − 1) × each instance's spending per second × the interval), two intervals' at worst (one for
/// them to push, one for this instance to read back). While Redis is unreachable each
/// instance adds its own spending to the fleet's total as last known (<see cref="FleetStatus.BudgetsShared"/> is false).
/// </para>
/// </remarks>
public sealed class BudgetOptions
{
    /// <summary>Gets or sets the most that may be spent in one UTC clock hour.</summary>
    /// <remarks>Default <see langword="null"/>: no hourly cap. Must not be negative; 0 refuses every request.</remarks>
    public decimal? PerHour { get; set; }

    /// <summary>Gets or sets the most that may be spent in one UTC calendar day.</summary>
    /// <remarks>Default <see langword="null"/>: no daily cap. Must not be negative; 0 refuses every request.</remarks>
    public decimal? PerDay { get; set; }

    /// <summary>Gets or sets the most that may be spent in one UTC calendar month.</summary>
    /// <remarks>Default <see langword="null"/>: no monthly cap. Must not be negative; 0 refuses every request.</remarks>
    public decimal? PerMonth { get; set; }

    /// <summary>Gets a value indicating whether any cap is set.</summary>
    internal bool Any => PerHour is not null || PerDay is not null || PerMonth is not null;

    /// <summary>The cap of <paramref name="period"/>, if set.</summary>
    internal decimal? CapOf(BudgetPeriod period) => period switch
    {
        BudgetPeriod.Hour => PerHour,
        BudgetPeriod.Day => PerDay,
        _ => PerMonth,
    };
}
