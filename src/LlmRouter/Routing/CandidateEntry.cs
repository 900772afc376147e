namespace LlmRouter;

/// <summary>
/// One candidate during planning: its sort key, score components and group. Working state only, in a per-thread
/// buffer; the decision keeps a compact copy of what the explanation needs.
/// </summary>
internal struct CandidateEntry
{
    public RouterEndpoint Endpoint;

    /// <summary>The strategy's sort key: lower goes first.</summary>
    public double Key;

    public double Score;

    public double Latency;

    public double Cost;

    public double Success;

    public double Custom;

    public double EstimatedCost;

    public HealthState Health;

    /// <summary>Where the health pass put it: probe first, then normal, demoted, cooling; or left out.</summary>
    public PlanGroup Group;

    public CandidateEntry(RouterEndpoint endpoint, HealthState health)
    {
        Endpoint = endpoint;
        Health = health;
        Score = Latency = Cost = Success = Custom = EstimatedCost = double.NaN;
    }

    /// <summary>Gets a value indicating whether the strategy set any score component or the estimated cost.</summary>
    public readonly bool HasValues =>
        !double.IsNaN(Score) || !double.IsNaN(Latency) || !double.IsNaN(Cost) || !double.IsNaN(Success) || !double.IsNaN(Custom) || !double.IsNaN(EstimatedCost);
}
