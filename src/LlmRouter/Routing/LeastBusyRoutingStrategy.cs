namespace LlmRouter;

/// <summary><see cref="RoutingStrategy.LeastBusy"/>: fewest attempts in flight first.</summary>
internal sealed class LeastBusyRoutingStrategy : IRoutingStrategy
{
    public string Criterion => "fewest attempts in flight";

    public bool Explores => false;

    public SteadyRanking Steady => SteadyRanking.Never;

    public void Rank(Span<CandidateEntry> candidates, in RoutingRequest request)
    {
        foreach (ref CandidateEntry candidate in candidates)
        {
            candidate.Key = candidate.Endpoint.Metrics.InFlight; // live, not the snapshot: busy-ness changes by the microsecond
        }
    }
}
