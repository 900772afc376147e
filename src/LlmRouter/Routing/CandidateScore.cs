namespace LlmRouter;

/// <summary>How one candidate endpoint fared in a routing decision.</summary>
/// <remarks>Score components are in [0, 1] (1 best) and are set only under <see cref="RoutingStrategy.Score"/>.</remarks>
public sealed class CandidateScore
{
    internal CandidateScore(string endpoint, HealthState health)
    {
        Endpoint = endpoint;
        Health = health;
    }

    /// <summary>Gets the endpoint's name.</summary>
    public string Endpoint { get; }

    /// <summary>Gets the endpoint's health when the decision was made.</summary>
    public HealthState Health { get; }

    /// <summary>Gets the endpoint's total score, if the strategy scores.</summary>
    public double? Score { get; internal init; }

    /// <summary>Gets the latency component.</summary>
    public double? Latency { get; internal init; }

    /// <summary>Gets the cost component.</summary>
    public double? Cost { get; internal init; }

    /// <summary>Gets the success component.</summary>
    public double? Success { get; internal init; }

    /// <summary>Gets the custom component.</summary>
    public double? Custom { get; internal init; }

    /// <summary>Gets the estimated cost of the request on this endpoint, at its prices.</summary>
    public decimal? EstimatedCost { get; internal init; }

    /// <summary>Gets the place the endpoint took in the plan (0 first), or -1 when it was left out (open, or a probe already in flight).</summary>
    public int Rank { get; internal init; } = -1;

    /// <inheritdoc />
    public override string ToString() =>
        Score is { } score
            ? $"{Endpoint} [{Health}] score {score:0.000} (latency {Latency:0.00}, cost {Cost:0.00}, success {Success:0.00}, custom {Custom:0.00})"
            : $"{Endpoint} [{Health}] rank {Rank}";
}
