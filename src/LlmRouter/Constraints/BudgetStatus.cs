namespace LlmRouter;

/// <summary>What one tenant or endpoint has spent in the current period of one of its caps.</summary>
public sealed class BudgetStatus
{
    internal BudgetStatus(string scope, string name, BudgetPeriod period, DateTimeOffset periodStart, DateTimeOffset periodEnd, decimal spent, decimal cap, bool pastSoftThreshold)
    {
        Scope = scope;
        Name = name;
        Period = period;
        PeriodStart = periodStart;
        PeriodEnd = periodEnd;
        Spent = spent;
        Cap = cap;
        PastSoftThreshold = pastSoftThreshold;
    }

    /// <summary>Gets what the cap belongs to: <c>"tenant"</c> or <c>"endpoint"</c>.</summary>
    public string Scope { get; }

    /// <summary>Gets the tenant's or endpoint's name.</summary>
    public string Name { get; }

    /// <summary>Gets the period the cap counts over.</summary>
    public BudgetPeriod Period { get; }

    /// <summary>Gets when the current period started (UTC).</summary>
    public DateTimeOffset PeriodStart { get; }

    /// <summary>Gets when the current period ends and spending starts again from zero (UTC).</summary>
    public DateTimeOffset PeriodEnd { get; }

    /// <summary>Gets what was spent in the current period.</summary>
    public decimal Spent { get; }

    /// <summary>Gets the cap.</summary>
    public decimal Cap { get; }

    /// <summary>Gets what is left before the cap; never negative.</summary>
    public decimal Remaining => Math.Max(0, Cap - Spent);

    /// <summary>Gets a value indicating whether the cap is spent: requests it governs are refused until <see cref="PeriodEnd"/>.</summary>
    public bool Exceeded => Spent >= Cap;

    /// <summary>Gets a value indicating whether spending passed <see cref="ConstraintOptions.BudgetSoftThreshold"/> of the cap.</summary>
    public bool PastSoftThreshold { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        FormattableString.Invariant($"{Scope} '{Name}' spent {Spent:0.######} of {Cap} this {Period.ToString().ToLowerInvariant()} (until {PeriodEnd:u})");
}
