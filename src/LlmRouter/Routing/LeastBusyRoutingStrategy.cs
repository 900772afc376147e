namespace LlmRouter;

/// <summary><see cref="RoutingStrategy.LeastBusy"/>: fewest attempts in flight first.</summary>
internal sealed class LeastBusyRoutingStrategy : IRoutingStrategy
{
    public string Criterion => "fewest attempts in flight";

    public bool Explores => false;

    public void Rank(RouterEndpoint[] candidates, CandidateScore[] scores, double[] keys, in RoutingRequest request)
    {
        for (int i = 0; i < candidates.Length; i++)
        {
            keys[i] = candidates[i].Metrics.InFlight; // live, not the snapshot: busy-ness changes by the microsecond
        }
    }
}
