namespace LlmRouter;

/// <summary>The health pass's verdict on a candidate, in plan order.</summary>
internal enum PlanGroup : byte
{
    /// <summary>Half-open with no probe in flight: it goes first, so that a real request probes it.</summary>
    Probe,

    /// <summary>Degraded, and drawn for its canary share of first choices: it goes first, to watch it recover.</summary>
    Canary,

    Normal,

    /// <summary>Degraded or ramping up, and not drawn for its share of first choices this time.</summary>
    Demoted,

    /// <summary>Rate-limited: last, soonest recovery first.</summary>
    Cooling,

    /// <summary>Open, or half-open with a probe in flight.</summary>
    Excluded,
}
