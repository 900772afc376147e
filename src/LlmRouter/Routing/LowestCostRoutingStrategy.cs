namespace LlmRouter;

/// <summary><see cref="RoutingStrategy.LowestCost"/>: cheapest estimated cost of this request first.</summary>
internal sealed class LowestCostRoutingStrategy : IRoutingStrategy
{
    private readonly RouterRuntime _runtime;

    public LowestCostRoutingStrategy(RouterRuntime runtime) => _runtime = runtime;

    public string Criterion => "lowest estimated cost";

    public bool Explores => false;

    public SteadyRanking Steady => SteadyRanking.SnapshotsAndRequestSize;

    public void Rank(Span<CandidateEntry> candidates, in RoutingRequest request)
    {
        int promptTokens = request.EstimatePromptTokens();
        foreach (ref CandidateEntry candidate in candidates)
        {
            double cost = ScoreRoutingStrategy.EstimateCost(candidate.Endpoint, promptTokens, request, _runtime.Options.Scoring);
            candidate.EstimatedCost = cost;
            candidate.Key = cost;
        }
    }
}
