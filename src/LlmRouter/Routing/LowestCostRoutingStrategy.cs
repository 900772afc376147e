namespace LlmRouter;

/// <summary><see cref="RoutingStrategy.LowestCost"/>: cheapest estimated cost of this request first.</summary>
internal sealed class LowestCostRoutingStrategy : IRoutingStrategy
{
    private readonly RouterRuntime _runtime;

    public LowestCostRoutingStrategy(RouterRuntime runtime) => _runtime = runtime;

    public string Criterion => "lowest estimated cost";

    public bool Explores => false;

    public void Rank(RouterEndpoint[] candidates, CandidateScore[] scores, double[] keys, in RoutingRequest request)
    {
        int promptTokens = request.EstimatePromptTokens();
        for (int i = 0; i < candidates.Length; i++)
        {
            double cost = ScoreRoutingStrategy.EstimateCost(candidates[i], promptTokens, request, _runtime.Options.Scoring);
            scores[i].EstimatedCost = (decimal)cost;
            keys[i] = cost;
        }
    }
}
