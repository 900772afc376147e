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

    public void Rank(RouterEndpoint[] candidates, CandidateScore[] scores, double[] keys, in RoutingRequest request)
    {
        ScoringOptions options = _runtime.Options.Scoring;
        int promptTokens = request.EstimatePromptTokens();

        // First pass: raw latency and cost, and the best of each, since both components are relative to the best.
        double bestLatency = double.PositiveInfinity;
        double bestCost = double.PositiveInfinity;
        for (int i = 0; i < candidates.Length; i++)
        {
            EndpointSnapshot snapshot = candidates[i].Metrics.Snapshot;
            double latency = RecentLatency(snapshot, request.Streaming);
            if (snapshot.SampleCount >= options.MinSamples && latency < bestLatency)
            {
                bestLatency = latency;
            }

            double cost = EstimateCost(candidates[i], promptTokens, request, options);
            scores[i].EstimatedCost = (decimal)cost;
            keys[i] = cost; // reused below
            bestCost = Math.Min(bestCost, cost);
        }

        double totalWeight = options.LatencyWeight + options.CostWeight + options.SuccessWeight + options.CustomWeight;
        for (int i = 0; i < candidates.Length; i++)
        {
            RouterEndpoint endpoint = candidates[i];
            EndpointSnapshot snapshot = endpoint.Metrics.Snapshot;
            bool trusted = snapshot.SampleCount >= options.MinSamples;

            double latencyScore = Neutral;
            double latency = RecentLatency(snapshot, request.Streaming);
            if (trusted && !double.IsNaN(latency) && bestLatency > 0 && !double.IsInfinity(bestLatency))
            {
                // Relative to the best candidate, and to the endpoint's own baseline: a fast endpoint that just got
                // slower than its usual p95 loses ground before its percentiles catch up.
                double baseline = request.Streaming && !double.IsNaN(snapshot.TtftP95Ms) ? snapshot.TtftP95Ms : snapshot.P95Ms;
                double relative = Math.Exp(-options.LatencySensitivity * ((latency / bestLatency) - 1));
                double deviation = baseline > 0 ? Math.Exp(-options.LatencySensitivity * Math.Max(0, (latency / baseline) - 1)) : 1;
                latencyScore = relative * deviation;
            }
            else if (trusted && double.IsNaN(latency))
            {
                latencyScore = 0; // attempts, but none succeeded
            }

            double cost = keys[i];
            double costScore = cost <= 0 ? 1 : bestCost / cost;
            double successScore = trusted && !double.IsNaN(snapshot.DecayedSuccess) ? snapshot.DecayedSuccess : Neutral;
            double customScore = _scorer is null ? 1 : Math.Clamp(_scorer.Score(snapshot, request.Messages, request.Options), 0, 1);
            if (double.IsNaN(customScore))
            {
                customScore = 0;
            }

            double score = totalWeight > 0
                ? ((options.LatencyWeight * latencyScore) + (options.CostWeight * costScore) + (options.SuccessWeight * successScore) + (options.CustomWeight * customScore)) / totalWeight
                : 0;

            CandidateScore explained = scores[i];
            explained.Latency = latencyScore;
            explained.Cost = costScore;
            explained.Success = successScore;
            explained.Custom = customScore;
            explained.Score = score;
            endpoint.LastScore = score;
            keys[i] = -score;
        }
    }

    /// <summary>The recent latency that matters for the request: time to first token for streams when known.</summary>
    internal static double RecentLatency(EndpointSnapshot snapshot, bool streaming) =>
        streaming && !double.IsNaN(snapshot.TtftRecentMs) ? snapshot.TtftRecentMs : snapshot.RecentMs;

    /// <summary>Estimates the request's cost at the endpoint's prices: prompt tokens in, expected tokens out.</summary>
    internal static double EstimateCost(RouterEndpoint endpoint, int promptTokens, in RoutingRequest request, ScoringOptions options)
    {
        EndpointOptions prices = endpoint.Options;
        double outputTokens = request.Options?.MaxOutputTokens is { } max
            ? max
            : endpoint.Metrics.Snapshot.AverageOutputTokens is var average && !double.IsNaN(average) ? average : options.AssumedOutputTokens;
        return ((promptTokens * (double)prices.InputCostPerMillionTokens) + (outputTokens * (double)prices.OutputCostPerMillionTokens)) / 1_000_000;
    }
}
