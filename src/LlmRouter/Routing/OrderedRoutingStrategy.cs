namespace LlmRouter;

/// <summary><see cref="RoutingStrategy.Ordered"/>: by priority, then registration order.</summary>
internal sealed class OrderedRoutingStrategy : IRoutingStrategy
{
    public string Criterion => "lowest priority value";

    public bool Explores => false;

    public void Rank(RouterEndpoint[] candidates, CandidateScore[] scores, double[] keys, in RoutingRequest request)
    {
        for (int i = 0; i < candidates.Length; i++)
        {
            keys[i] = candidates[i].Options.Priority;
        }
    }
}
