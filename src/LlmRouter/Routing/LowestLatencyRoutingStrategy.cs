namespace LlmRouter;

/// <summary><see cref="RoutingStrategy.LowestLatency"/>: fastest recent latency first (time to first token for streams).</summary>
/// <remarks>An endpoint with fewer than <see cref="ScoringOptions.MinSamples"/> attempts goes first until it has them, so each is measured.</remarks>
internal sealed class LowestLatencyRoutingStrategy : IRoutingStrategy
{
    private readonly RouterRuntime _runtime;

    public LowestLatencyRoutingStrategy(RouterRuntime runtime) => _runtime = runtime;

    public string Criterion => "lowest recent latency";

    public bool Explores => false;

    public SteadyRanking Steady => SteadyRanking.Snapshots;

    public void Rank(Span<CandidateEntry> candidates, in RoutingRequest request)
    {
        int minSamples = _runtime.Options.Scoring.MinSamples;
        foreach (ref CandidateEntry candidate in candidates)
        {
            EndpointSnapshot snapshot = candidate.Endpoint.Metrics.Snapshot;
            double latency = ScoreRoutingStrategy.RecentLatency(snapshot, request.Streaming);
            candidate.Key = snapshot.SampleCount < minSamples ? -1 : double.IsNaN(latency) ? double.PositiveInfinity : latency;
        }
    }
}
