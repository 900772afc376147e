namespace LlmRouter;

/// <summary>One candidate during planning: its sort key, score components and place, kept in one array per request.</summary>
internal struct CandidateEntry
{
    public RouterEndpoint Endpoint;

    public HealthState Health;

    /// <summary>The strategy's sort key: lower goes first.</summary>
    public double Key;

    public double Score;

    public double Latency;

    public double Cost;

    public double Success;

    public double Custom;

    public double EstimatedCost;

    /// <summary>The place in the plan (0 first); -1 when left out.</summary>
    public int Rank;

    /// <summary>Where the health pass put it: probe first, then normal, demoted, cooling; or left out.</summary>
    public PlanGroup Group;

    public CandidateEntry(RouterEndpoint endpoint, HealthState health)
    {
        Endpoint = endpoint;
        Health = health;
        Score = Latency = Cost = Success = Custom = EstimatedCost = double.NaN;
        Rank = -1;
    }
}
