namespace LlmRouter;

/// <summary><see cref="RoutingStrategy.LowestLatency"/>: fastest recent latency first (time to first token for streams).</summary>
/// <remarks>An endpoint with fewer than <see cref="ScoringOptions.MinSamples"/> attempts goes first until it has them, so each is measured.</remarks>
internal sealed class LowestLatencyRoutingStrategy : IRoutingStrategy
{
    private readonly RouterRuntime _runtime;

    public LowestLatencyRoutingStrategy(RouterRuntime runtime) => _runtime = runtime;

    public string Criterion => "lowest recent latency";

    public bool Explores => false;

    public void Rank(RouterEndpoint[] candidates, CandidateScore[] scores, double[] keys, in RoutingRequest request)
    {
        int minSamples = _runtime.Options.Scoring.MinSamples;
        for (int i = 0; i < candidates.Length; i++)
        {
            EndpointSnapshot snapshot = candidates[i].Metrics.Snapshot;
            double latency = ScoreRoutingStrategy.RecentLatency(snapshot, request.Streaming);
            keys[i] = snapshot.SampleCount < minSamples ? -1 : double.IsNaN(latency) ? double.PositiveInfinity : latency;
        }
    }
}
