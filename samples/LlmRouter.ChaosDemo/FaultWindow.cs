namespace LlmRouter.ChaosDemo;

/// <summary>A stretch of simulated time during which a provider misbehaves in one way.</summary>
/// <param name="Kind">What goes wrong.</param>
/// <param name="Start">Start, from the beginning of the simulation.</param>
/// <param name="End">End, from the beginning of the simulation.</param>
/// <param name="Factor">For a brownout, the latency multiplier; for rate limiting, the share of calls refused.</param>
internal sealed record FaultWindow(FaultKind Kind, TimeSpan Start, TimeSpan End, double Factor = 1)
{
    public bool Covers(TimeSpan at) => at >= Start && at < End;
}
