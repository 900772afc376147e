namespace LlmRouter;

/// <summary><see cref="RoutingStrategy.Ordered"/>: by priority, then registration order.</summary>
internal sealed class OrderedRoutingStrategy : IRoutingStrategy
{
    public string Criterion => "lowest priority value";

    public bool Explores => false;

    public SteadyRanking Steady => SteadyRanking.Snapshots;

    public void Rank(Span<CandidateEntry> candidates, in RoutingRequest request)
    {
        foreach (ref CandidateEntry candidate in candidates)
        {
            candidate.Key = candidate.Endpoint.Options.Priority;
        }
    }
}
