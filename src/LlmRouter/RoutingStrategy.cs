namespace LlmRouter;

/// <summary>How the router orders the candidate endpoints of a request.</summary>
/// <remarks>The first endpoint of the order serves the request; the rest are the failover order.</remarks>
public enum RoutingStrategy
{
    /// <summary>By <see cref="EndpointOptions.Priority"/> (lowest first), then by registration order.</summary>
    Ordered = 0,

    /// <summary>
    /// At random, in proportion to <see cref="EndpointOptions.Weight"/>; the failover order is a weighted draw of the rest.
    /// </summary>
    WeightedRandom = 1,
}
