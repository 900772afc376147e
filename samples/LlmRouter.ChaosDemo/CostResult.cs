namespace LlmRouter.ChaosDemo;

/// <summary>What one system did with the cost scenario's conversations.</summary>
/// <param name="System">The system.</param>
/// <param name="Requests">Turns sent.</param>
/// <param name="Served">Turns answered.</param>
/// <param name="RefusedByBudget">Turns refused by the tenant's budget, before any provider was called.</param>
/// <param name="Cost">What the providers billed.</param>
/// <param name="InputTokens">Input tokens the providers processed.</param>
/// <param name="CachedInputTokens">Of which read from their prompt caches.</param>
/// <param name="CallsPerProvider">Calls to alpha, bravo and charlie.</param>
/// <param name="AffinityHitRate">Share of returning turns served where the previous turn was (LlmRouter only).</param>
/// <param name="HighestDaySpend">The tenant's highest spend in one UTC day, by the router's ledger (budget run only).</param>
internal sealed record CostResult(
    CostSystem System, int Requests, int Served, int RefusedByBudget, decimal Cost, long InputTokens, long CachedInputTokens,
    long[] CallsPerProvider, double? AffinityHitRate, decimal? HighestDaySpend);
