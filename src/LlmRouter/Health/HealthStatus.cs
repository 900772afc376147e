namespace LlmRouter;

/// <summary>An immutable view of an endpoint's health, swapped atomically on each transition.</summary>
/// <param name="State">Healthy, Degraded or Open (HalfOpen is Open past <paramref name="OpenUntil"/>).</param>
/// <param name="OpenUntil">When an open endpoint may be probed, as a <see cref="TimeProvider.GetTimestamp"/> value.</param>
/// <param name="RampStart">When the slow-start ramp after a recovery began; 0 when there is none.</param>
internal sealed record HealthStatus(HealthState State, long OpenUntil, long RampStart)
{
    public static HealthStatus Healthy { get; } = new(HealthState.Healthy, 0, 0);
}
