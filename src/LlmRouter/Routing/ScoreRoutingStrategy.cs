namespace LlmRouter;

/// <summary>
/// <see cref="RoutingStrategy.Score"/>: a weighted sum of latency, estimated cost, time-decayed success and a custom
/// score, each in [0, 1]. Reads only published snapshots, never the raw metrics.
/// </summary>
/// <remarks>
/// The latency and success components depend only on the candidates' snapshots, which change when they are rebuilt
/// (every few milliseconds at most), not per request: they are kept per set of snapshots (<see cref="SnapshotScores"/>),
/// and each request works out only what depends on it, the cost and the custom score.
/// </remarks>
internal sealed class ScoreRoutingStrategy : IRoutingStrategy
{
    /// <summary>How many sets of snapshots are kept: a few candidate sets (groups, constraints) and both kinds of request.</summary>
    private const int Remembered = 4;

    private readonly RouterRuntime _runtime;
    private readonly IEndpointScorer? _scorer;
    private readonly SnapshotScores?[] _remembered = new SnapshotScores?[Remembered];
    private int _nextSlot;

    public ScoreRoutingStrategy(RouterRuntime runtime, IEndpointScorer? scorer)
    {
        _runtime = runtime;
        _scorer = scorer;
    }

    public string Criterion => "highest score";

    public bool Explores => true;

    public SteadyRanking Steady => _scorer is null ? SteadyRanking.SnapshotsAndRequestSize : SteadyRanking.Never;

    public void Rank(Span<CandidateEntry> candidates, in RoutingRequest request)
    {
        ScoringOptions options = _runtime.Options.Scoring;
        SnapshotScores components = Components(candidates, request.Streaming, options.MinSamples, options.LatencySensitivity);
        ReadOnlySpan<EndpointSnapshot> snapshots = components.Snapshots;
        IEndpointScorer? scorer = _scorer;
        if (scorer is not null)
        {
            // A pass of its own, before the loops below, so that they make no call and keep their values in registers.
            for (int i = 0; i < candidates.Length; i++)
            {
                double custom = scorer.Score(snapshots[i], request.Messages, request.Options);
                candidates[i].Custom = double.IsNaN(custom) ? 0 : Math.Clamp(custom, 0, 1);
            }
        }

        int promptTokens = request.EstimatePromptTokens();
        double outputTokensCap = request.Options?.MaxOutputTokens is { } max ? max : double.NaN;

        // The cost component is relative to the best estimate for this request. Estimates are finite and not negative
        // (prices are validated, token counts are counts), so a plain comparison finds the same minimum as Math.Min,
        // without its NaN and signed-zero handling on the loop's critical path.
        double bestCost = double.PositiveInfinity;
        for (int i = 0; i < candidates.Length; i++)
        {
            double cost = EstimateCost(candidates[i].Endpoint, snapshots[i], promptTokens, outputTokensCap, options);
            candidates[i].EstimatedCost = cost;
            if (cost < bestCost)
            {
                bestCost = cost;
            }
        }

        double latencyWeight = options.LatencyWeight;
        double costWeight = options.CostWeight;
        double successWeight = options.SuccessWeight;
        double customWeight = options.CustomWeight;
        double totalWeight = latencyWeight + costWeight + successWeight + customWeight;
        bool customScored = scorer is not null;
        for (int i = 0; i < candidates.Length; i++)
        {
            ref CandidateEntry candidate = ref candidates[i];
            double latencyScore = components.Latency(i);
            double successScore = components.Success(i);
            double costScore = candidate.EstimatedCost <= 0 ? 1 : bestCost / candidate.EstimatedCost;
            double customScore = customScored ? candidate.Custom : 1;
            double score = totalWeight > 0
                ? ((latencyWeight * latencyScore) + (costWeight * costScore) + (successWeight * successScore) + (customWeight * customScore)) / totalWeight
                : 0;

            candidate.Latency = latencyScore;
            candidate.Cost = costScore;
            candidate.Success = successScore;
            candidate.Custom = customScore;
            candidate.Score = score;
            candidate.Key = -score;
            candidate.Endpoint.LastScore = score;
        }
    }

    /// <summary>The recent latency that matters for the request: time to first token for streams when known.</summary>
    internal static double RecentLatency(EndpointSnapshot snapshot, bool streaming) =>
        streaming && !double.IsNaN(snapshot.TtftRecentMs) ? snapshot.TtftRecentMs : snapshot.RecentMs;

    /// <summary>Estimates the request's cost at the endpoint's prices: prompt tokens in, expected tokens out.</summary>
    internal static double EstimateCost(RouterEndpoint endpoint, int promptTokens, in RoutingRequest request, ScoringOptions options) =>
        EstimateCost(endpoint, endpoint.Metrics.Snapshot, promptTokens, request.Options?.MaxOutputTokens is { } max ? max : double.NaN, options);

    /// <summary>Estimates the request's cost at the endpoint's prices, given its snapshot and the request's output cap (NaN when none).</summary>
    private static double EstimateCost(RouterEndpoint endpoint, EndpointSnapshot snapshot, int promptTokens, double outputTokensCap, ScoringOptions options)
    {
        RouterEndpoint.Prices prices = endpoint.PerToken;
        double outputTokens = !double.IsNaN(outputTokensCap)
            ? outputTokensCap
            : snapshot.AverageOutputTokens is var average && !double.IsNaN(average) ? average : options.AssumedOutputTokens;
        return (promptTokens * prices.EffectiveInput(snapshot.CachedInputRatioValue)) + (outputTokens * prices.Output);
    }

    /// <summary>The latency and success components for the candidates' current snapshots: kept ones when they still hold.</summary>
    private SnapshotScores Components(ReadOnlySpan<CandidateEntry> candidates, bool streaming, int minSamples, double sensitivity)
    {
        SnapshotScores?[] remembered = _remembered;
        for (int i = 0; i < remembered.Length; i++)
        {
            if (Volatile.Read(ref remembered[i]) is { } kept && kept.Matches(candidates, streaming, minSamples, sensitivity))
            {
                return kept;
            }
        }

        // Replaced in turn; a slot two threads pick at once keeps one of their sets, and the other is worked out again.
        SnapshotScores computed = SnapshotScores.Compute(candidates, streaming, minSamples, sensitivity);
        int slot = (int)((uint)Interlocked.Increment(ref _nextSlot) % Remembered);
        Volatile.Write(ref remembered[slot], computed);
        return computed;
    }
}
