namespace LlmRouter;

/// <summary>What the response cache did for a request, as <see cref="RoutingInfo.Cache"/> reports it.</summary>
public enum CacheResult
{
    /// <summary>The cache was not used: it is off, the request bypassed it, or the request cannot be cached.</summary>
    NotUsed = 0,

    /// <summary>The cache did not hold the answer: an endpoint served it (and it was stored if it could be).</summary>
    Miss = 1,

    /// <summary>The answer came from the cache; no endpoint was called.</summary>
    Hit = 2,

    /// <summary>An identical request was already in flight: this one shared its answer, with no call of its own.</summary>
    Coalesced = 3,
}
