using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>Builds routers the way an application does (<c>AddLlmRouter</c>), with timeouts short enough for a fast suite.</summary>
public static class RouterHost
{
    /// <summary>The router's attempt, first-token and stall timeout in these tests; the servers' faults wait far longer.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(700);

    /// <summary>A router over <paramref name="endpoints"/> in order (the first is preferred), with fast retries.</summary>
    public static ServiceProvider Build(Action<LlmRouterOptions>? configure, params (string Name, IChatClient Client, Action<EndpointOptions>? Configure)[] endpoints)
    {
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(router =>
        {
            int priority = 0;
            foreach ((string name, IChatClient client, Action<EndpointOptions>? configureEndpoint) in endpoints)
            {
                int p = priority++;
                _ = router.AddEndpoint(name, client, e =>
                {
                    e.Priority = p;
                    configureEndpoint?.Invoke(e);
                });
            }

            _ = router.Configure(o =>
            {
                o.Strategy = RoutingStrategy.Ordered;
                o.AttemptTimeout = Timeout;
                o.Streaming.FirstTokenTimeout = Timeout;
                o.Streaming.StallTimeout = Timeout;
                o.Retry.MaxRetriesPerEndpoint = 1;
                o.Retry.BaseDelay = TimeSpan.FromMilliseconds(20);
                o.Retry.MaxRetryAfter = TimeSpan.FromSeconds(2);
                configure?.Invoke(o);
            });
        });
        return services.BuildServiceProvider();
    }
}
