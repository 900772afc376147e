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

    /// <summary>The score and its components, kept together so that they compare as one block.</summary>
    public CandidateValues Values;

    public HealthState Health;

    /// <summary>Where the health pass put it: probe first, then normal, demoted, cooling; or left out.</summary>
    public PlanGroup Group;

    public CandidateEntry(RouterEndpoint endpoint, HealthState health)
    {
        Endpoint = endpoint;
        Health = health;
        Values.Score = Values.Latency = Values.Cost = Values.Success = Values.Custom = Values.EstimatedCost = double.NaN;
    }

    public double Score
    {
        readonly get => Values.Score;
        set => Values.Score = value;
    }

    public double Latency
    {
        readonly get => Values.Latency;
        set => Values.Latency = value;
    }

    public double Cost
    {
        readonly get => Values.Cost;
        set => Values.Cost = value;
    }

    public double Success
    {
        readonly get => Values.Success;
        set => Values.Success = value;
    }

    public double Custom
    {
        readonly get => Values.Custom;
        set => Values.Custom = value;
    }

    public double EstimatedCost
    {
        readonly get => Values.EstimatedCost;
        set => Values.EstimatedCost = value;
    }

    /// <summary>Gets a value indicating whether the strategy set any score component or the estimated cost.</summary>
    public readonly bool HasValues =>
        !double.IsNaN(Score) || !double.IsNaN(Latency) || !double.IsNaN(Cost) || !double.IsNaN(Success) || !double.IsNaN(Custom) || !double.IsNaN(EstimatedCost);
}
