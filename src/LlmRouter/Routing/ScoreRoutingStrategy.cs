namespace LlmRouter;

/// <summary>
/// <see cref="RoutingStrategy.Score"/>: a weighted sum of latency, estimated cost, time-decayed success and a custom
/// score, each in [0, 1]. Reads only published snapshots, never the raw metrics.
/// </summary>
internal sealed class ScoreRoutingStrategy : IRoutingStrategy
{
    private const double Neutral = 0.5;
    private readonly RouterRuntime _runtime;
    private readonly IEndpointScorer? _scorer;

    public ScoreRoutingStrategy(RouterRuntime runtime, IEndpointScorer? scorer)
    {
        _runtime = runtime;
        _scorer = scorer;
    }

    public string Criterion => "highest score";

    public bool Explores => true;

    public void Rank(Span<CandidateEntry> candidates, in RoutingRequest request)
    {
        ScoringOptions options = _runtime.Options.Scoring;
        int promptTokens = request.EstimatePromptTokens();
        bool streaming = request.Streaming;
        int minSamples = options.MinSamples;
        double outputTokensCap = request.Options?.MaxOutputTokens is { } max ? max : double.NaN;

        // First pass: raw latency and cost, and the best of each, since both components are relative to the best.
        double bestLatency = double.PositiveInfinity;
        double bestCost = double.PositiveInfinity;
        foreach (ref CandidateEntry candidate in candidates)
        {
            EndpointSnapshot snapshot = candidate.Endpoint.Metrics.Snapshot;
            double latency = RecentLatency(snapshot, streaming);
            if (snapshot.SampleCount >= minSamples && latency < bestLatency)
            {
                bestLatency = latency;
            }

            candidate.EstimatedCost = EstimateCost(candidate.Endpoint, snapshot, promptTokens, outputTokensCap, options);
            bestCost = Math.Min(bestCost, candidate.EstimatedCost);
        }

        double latencyWeight = options.LatencyWeight;
        double costWeight = options.CostWeight;
        double successWeight = options.SuccessWeight;
        double customWeight = options.CustomWeight;
        double totalWeight = latencyWeight + costWeight + successWeight + customWeight;
        double sensitivity = options.LatencySensitivity;

        // exp(-s × 0) is exactly 1 for any finite s: the best candidate, and one no slower than its baseline, skip the call.
        bool finiteSensitivity = double.IsFinite(sensitivity);
        bool bestKnown = bestLatency > 0 && !double.IsInfinity(bestLatency);
        IEndpointScorer? scorer = _scorer;
        foreach (ref CandidateEntry candidate in candidates)
        {
            RouterEndpoint endpoint = candidate.Endpoint;
            EndpointSnapshot snapshot = endpoint.Metrics.Snapshot;
            bool trusted = snapshot.SampleCount >= minSamples;

            double latencyScore = Neutral;
            double latency = RecentLatency(snapshot, streaming);
            if (trusted && !double.IsNaN(latency) && bestKnown)
            {
                // Relative to the best candidate, and to the endpoint's own baseline: a fast endpoint that just got
                // slower than its usual p95 loses ground before its percentiles catch up.
                double baseline = streaming && !double.IsNaN(snapshot.TtftP95Ms) ? snapshot.TtftP95Ms : snapshot.P95Ms;
                double behindBest = (latency / bestLatency) - 1;
                double relative = behindBest == 0 && finiteSensitivity ? 1 : Math.Exp(-sensitivity * behindBest);
                double deviation = 1;
                if (baseline > 0)
                {
                    double overBaseline = Math.Max(0, (latency / baseline) - 1);
                    deviation = overBaseline == 0 && finiteSensitivity ? 1 : Math.Exp(-sensitivity * overBaseline);
                }

                latencyScore = relative * deviation;
            }
            else if (trusted && double.IsNaN(latency))
            {
                latencyScore = 0; // attempts, but none succeeded
            }

            double costScore = candidate.EstimatedCost <= 0 ? 1 : bestCost / candidate.EstimatedCost;
            double successScore = trusted && !double.IsNaN(snapshot.DecayedSuccess) ? snapshot.DecayedSuccess : Neutral;
            double customScore = scorer is null ? 1 : scorer.Score(snapshot, request.Messages, request.Options);
            customScore = double.IsNaN(customScore) ? 0 : Math.Clamp(customScore, 0, 1);

            double score = totalWeight > 0
                ? ((latencyWeight * latencyScore) + (costWeight * costScore) + (successWeight * successScore) + (customWeight * customScore)) / totalWeight
                : 0;

            candidate.Latency = latencyScore;
            candidate.Cost = costScore;
            candidate.Success = successScore;
            candidate.Custom = customScore;
            candidate.Score = score;
            candidate.Key = -score;
            endpoint.LastScore = score;
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
}
