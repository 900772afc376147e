using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.TestSupport;

/// <summary>Builds routers with a custom <see cref="IEndpointScorer"/> and the configured metrics capacity (which <see cref="RouterFactory"/> leaves at its default).</summary>
internal static class ScoredRouterFactory
{
    public static RouterChatClient Create(
        TimeProvider time,
        Action<LlmRouterOptions>? configure,
        IEndpointScorer? scorer,
        params (string Name, IChatClient Client, Action<EndpointOptions>? Configure)[] endpoints)
    {
        var options = new LlmRouterOptions { Randomizer = () => 0.5 };
        configure?.Invoke(options);
        var list = new List<RouterEndpoint>();
        foreach ((string name, IChatClient client, Action<EndpointOptions>? configureEndpoint) in endpoints)
        {
            var endpointOptions = new EndpointOptions();
            configureEndpoint?.Invoke(endpointOptions);
            options.Endpoints[name] = endpointOptions;
            list.Add(new RouterEndpoint(name, client, endpointOptions, list.Count, ownsClient: false, options.Metrics.Capacity));
        }

        return new RouterChatClient(list, options, time, scorer: scorer);
    }
}
