using LlmRouter.Simulation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.ChaosDemo;

/// <summary>Builds the router the demo's scenarios run: the simulated providers at their profiles' prices, on the scenario's clock.</summary>
internal static class DemoRouter
{
    /// <summary>A container holding a router over <paramref name="providers"/>; <paramref name="configure"/> sets the scenario's options.</summary>
    public static ServiceProvider Build(VirtualTimeProvider time, SimulatedProvider[] providers, Action<LlmRouterOptions> configure) =>
        Build(time, [.. providers.Select(static p => (p.Name, (IChatClient)p))], configure);

    /// <summary>
    /// A container holding a router over named <paramref name="providers"/> (named after a <see cref="ProviderProfile"/>)
    /// on <paramref name="time"/>; <paramref name="configure"/> sets the scenario's options, <paramref name="endpoint"/>
    /// an endpoint's own (its limits), and <paramref name="extend"/> adds to the router (fleet mode).
    /// </summary>
    public static ServiceProvider Build(
        TimeProvider time,
        IReadOnlyList<(string Name, IChatClient Client)> providers,
        Action<LlmRouterOptions> configure,
        Action<string, EndpointOptions>? endpoint = null,
        Action<LlmRouterBuilder>? extend = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(time);
        LlmRouterBuilder builder = services.AddLlmRouter(router =>
        {
            foreach ((string name, IChatClient client) in providers)
            {
                ProviderProfile profile = ProviderProfile.All.Single(p => p.Name == name);
                _ = router.AddEndpoint(name, client, options =>
                {
                    options.InputCostPerMillionTokens = profile.InputPrice;
                    options.CachedInputCostPerMillionTokens = profile.CachedInputPrice;
                    options.OutputCostPerMillionTokens = profile.OutputPrice;
                    endpoint?.Invoke(name, options);
                });
            }

            _ = router.AddFailureClassifier(new SimulatedFailureClassifier()).Configure(options =>
            {
                options.Randomizer = new Random(7).NextDouble;
                configure(options);
            });
        });
        extend?.Invoke(builder);
        return services.BuildServiceProvider();
    }
}
