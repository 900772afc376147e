namespace LlmRouter;

/// <summary>What the router thinks of an endpoint right now.</summary>
public enum HealthState
{
    /// <summary>Serving normally (possibly still ramping up after a recovery).</summary>
    Healthy = 0,

    /// <summary>Slower than its own baseline for several requests in a row: it keeps only a small canary share of first choices.</summary>
    Degraded = 1,

    /// <summary>Failing hard: no traffic until its break ends and a probe succeeds.</summary>
    Open = 2,

    /// <summary>Its break has ended: the next request probes it, and only that one until the probe's outcome is known.</summary>
    HalfOpen = 3,
}
