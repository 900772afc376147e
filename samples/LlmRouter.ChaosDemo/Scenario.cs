namespace LlmRouter.ChaosDemo;

/// <summary>Which faults the simulated providers suffer.</summary>
internal enum Scenario
{
    /// <summary>Outage windows only (about 1% of the month per provider): fast 503s or hung connections.</summary>
    Outages,

    /// <summary>Brownouts only: latency ×5–10 for minutes at a time.</summary>
    Brownouts,

    /// <summary>Rate-limit bursts only: most calls answered 429 with Retry-After for a few minutes.</summary>
    RateLimits,

    /// <summary>All of the above, plus mid-stream drops when streaming.</summary>
    Mixed,

    /// <summary>
    /// No faults: conversations of several turns against providers with prompt caches, priced with cached input, and a
    /// tenant budget; compares cost per 1,000 requests.
    /// </summary>
    Cost,
}
