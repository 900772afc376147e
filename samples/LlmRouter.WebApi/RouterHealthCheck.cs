using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmRouter.WebApi;

/// <summary>Publishes the router's endpoint health: healthy while at least one endpoint serves, degraded when some are failing.</summary>
internal sealed class RouterHealthCheck(RouterChatClient router) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<EndpointSnapshot> endpoints = router.GetSnapshot();
        var data = endpoints.ToDictionary(static e => e.Endpoint, static e => (object)e.Health.ToString());
        int serving = endpoints.Count(static e => e.Health is HealthState.Healthy or HealthState.Degraded or HealthState.HalfOpen);
        HealthCheckResult result = serving == 0
            ? HealthCheckResult.Unhealthy("Every LLM endpoint is open (failing).", data: data)
            : serving < endpoints.Count || endpoints.Any(static e => e.Health != HealthState.Healthy)
                ? HealthCheckResult.Degraded($"{serving} of {endpoints.Count} LLM endpoints serve.", data: data)
                : HealthCheckResult.Healthy($"All {endpoints.Count} LLM endpoints are healthy.", data: data);
        return Task.FromResult(result);
    }
}
