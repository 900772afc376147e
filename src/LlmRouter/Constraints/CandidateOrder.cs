namespace LlmRouter;

/// <summary>Reorders ranked candidates for a request that asks for its own order: a sort override, a preferred latency.</summary>
internal static class CandidateOrder
{
    /// <summary>Sort keys past this are pushed back behind every candidate within the preferred latency.</summary>
    private const double OverPreferredLatency = 1e12;

    /// <summary>Sort keys past this are pushed back behind every candidate whose budget is not nearly spent.</summary>
    private const double OverSoftBudget = 1e14;

    /// <summary>Whether <paramref name="key"/> was pushed back behind the candidates the request prefers.</summary>
    public static bool PushedBack(double key) => key >= OverPreferredLatency && !double.IsPositiveInfinity(key);

    /// <summary>Rewrites the entries' sort keys; returns the reason the leader leads, or null to keep the strategy's.</summary>
    public static string? Apply(
        Span<CandidateEntry> entries, in RoutingRequest request, in ConstrainedCandidates constrained, ScoringOptions scoring, ConstraintFilter filter)
    {
        string? why = null;
        int promptTokens = -1;
        foreach (ref CandidateEntry entry in entries)
        {
            EndpointSnapshot snapshot = entry.Endpoint.Metrics.Snapshot;
            switch (constrained.Sort)
            {
                case RoutingSort.Price:
                    if (double.IsNaN(entry.EstimatedCost))
                    {
                        promptTokens = promptTokens < 0 ? request.EstimatePromptTokens() : promptTokens;
                        entry.EstimatedCost = ScoreRoutingStrategy.EstimateCost(entry.Endpoint, promptTokens, request, scoring);
                    }

                    entry.Key = entry.EstimatedCost;
                    why = (constrained.BudgetPressure & BudgetPressure.SortedByPrice) != 0
                        ? "lowest estimated cost (the tenant's budget is past its soft threshold)"
                        : "lowest estimated cost (the request's sort)";
                    break;
                case RoutingSort.Latency:
                    double latency = ScoreRoutingStrategy.RecentLatency(snapshot, request.Streaming);
                    entry.Key = double.IsNaN(latency) ? double.MaxValue / 4 : latency;
                    why = "lowest recent latency (the request's sort)";
                    break;
                case RoutingSort.Throughput:
                    double throughput = snapshot.TokensPerSecondValue;
                    entry.Key = double.IsNaN(throughput) ? 0 : -throughput;
                    why = "highest throughput (the request's sort)";
                    break;
            }

            if (constrained.PreferredMaxLatencyMs > 0 &&
                ScoreRoutingStrategy.RecentLatency(snapshot, request.Streaming) is var recent && recent > constrained.PreferredMaxLatencyMs)
            {
                entry.Key += OverPreferredLatency;
            }

            if ((constrained.BudgetPressure & BudgetPressure.Endpoint) != 0 && filter.PastSoftThreshold(entry.Endpoint))
            {
                entry.Key += OverSoftBudget;
                why ??= "an endpoint past its budget's soft threshold was placed behind";
            }
        }

        return why;
    }
}
