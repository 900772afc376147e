namespace LlmRouter;

/// <summary>How <see cref="RoutingStrategy.Score"/> weighs latency, cost, success and your own score.</summary>
/// <remarks>
/// Each component is a number in [0, 1] (1 best); an endpoint's score is their weighted sum. Weights must not be
/// negative and must not all be zero; they need not add up to 1.
/// </remarks>
public sealed class ScoringOptions
{
    /// <summary>Gets or sets the weight of latency. Default 0.40.</summary>
    public double LatencyWeight { get; set; } = 0.40;

    /// <summary>Gets or sets the weight of the estimated cost of the request. Default 0.30.</summary>
    public double CostWeight { get; set; } = 0.30;

    /// <summary>Gets or sets the weight of the time-decayed success rate. Default 0.20.</summary>
    public double SuccessWeight { get; set; } = 0.20;

    /// <summary>Gets or sets the weight of the custom score from <c>LlmRouterBuilder.AddEndpointScorer</c>. Default 0.10.</summary>
    public double CustomWeight { get; set; } = 0.10;

    /// <summary>Gets or sets how steeply latency above the best candidate's and above the endpoint's own baseline is penalised.</summary>
    /// <remarks>Default 1: twice the best latency scores e⁻¹ ≈ 0.37 of the best. Between 0.1 and 10.</remarks>
    public double LatencySensitivity { get; set; } = 1.0;

    /// <summary>Gets or sets the share of requests that try a candidate other than the best first, to keep learning.</summary>
    /// <remarks>
    /// Default 0.05. Between 0 and 0.5. Endpoints with fewer than <see cref="MinSamples"/> attempts are explored first,
    /// so a new endpoint is neither assumed perfect nor starved; an endpoint traffic moved away from is re-checked.
    /// </remarks>
    public double ExplorationShare { get; set; } = 0.05;

    /// <summary>Gets or sets how many recent attempts an endpoint needs before its metrics are trusted.</summary>
    /// <remarks>Default 5. Between 1 and 1000. Below it, latency and success count as neutral (0.5).</remarks>
    public int MinSamples { get; set; } = 5;

    /// <summary>Gets or sets the output tokens assumed for a request when neither the request nor the endpoint's history says.</summary>
    /// <remarks>Default 256. Between 1 and 1,000,000.</remarks>
    public int AssumedOutputTokens { get; set; } = 256;
}
