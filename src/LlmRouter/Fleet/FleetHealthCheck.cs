using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmRouter;

/// <summary>
/// Reports fleet coordination as a health check: Healthy when in step with Redis (or fleet mode is off), Degraded
/// while connecting or disconnected. Never Unhealthy: the router serves without Redis, on each instance's own health.
/// </summary>
/// <remarks>Register it with <c>services.AddHealthChecks().AddCheck&lt;FleetHealthCheck&gt;("llmrouter-fleet")</c>. It reads the mirror; it sends nothing to Redis.</remarks>
/// <param name="router">The router.</param>
public sealed class FleetHealthCheck(RouterChatClient router) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        FleetStatus? status = router.GetFleetStatus();
        if (status is null)
        {
            return Task.FromResult(HealthCheckResult.Healthy("Fleet mode is off."));
        }

        var data = new Dictionary<string, object>
        {
            ["state"] = status.State.ToString(),
            ["since"] = status.StateSince,
            ["outages"] = status.Outages,
            ["droppedEvents"] = status.DroppedEvents,
            ["queuedEvents"] = status.QueuedEvents,
        };
        return Task.FromResult(status.State == FleetConnectionState.Connected
            ? HealthCheckResult.Healthy($"In step with fleet '{status.KeyPrefix}'.", data)
            : HealthCheckResult.Degraded(
                $"Fleet '{status.KeyPrefix}' is {status.State} ({status.LastError ?? "no error yet"}): routing uses this instance's own health.", data: data));
    }
}
