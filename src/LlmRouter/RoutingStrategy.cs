namespace LlmRouter;

/// <summary>How the router orders the candidate endpoints of a request.</summary>
/// <remarks>The first endpoint of the order serves the request; the rest are the failover order.</remarks>
public enum RoutingStrategy
{
    /// <summary>
    /// By a weighted score of latency, estimated cost, time-decayed success and your own score (see
    /// <see cref="ScoringOptions"/>), with bounded exploration. The default.
    /// </summary>
    Score = 0,

    /// <summary>By <see cref="EndpointOptions.Priority"/> (lowest first), then by registration order.</summary>
    Ordered = 1,

    /// <summary>
    /// At random, in proportion to <see cref="EndpointOptions.Weight"/>; the failover order is a weighted draw of the rest.
    /// </summary>
    WeightedRandom = 2,

    /// <summary>By recent latency (time to first token for streams), fastest first; endpoints without data are explored.</summary>
    LowestLatency = 3,

    /// <summary>By the estimated cost of this request, cheapest first.</summary>
    LowestCost = 4,

    /// <summary>By attempts in flight, fewest first.</summary>
    LeastBusy = 5,
}
