using LlmRouter.Simulation;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.ChaosDemo;

/// <summary>Builds the router the demo's scenarios run: the simulated providers at their profiles' prices, on simulated time.</summary>
internal static class DemoRouter
{
    /// <summary>A container holding a router over <paramref name="providers"/>; <paramref name="configure"/> sets the scenario's options.</summary>
    public static ServiceProvider Build(VirtualTimeProvider time, SimulatedProvider[] providers, Action<LlmRouterOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddLlmRouter(router =>
        {
            foreach (SimulatedProvider provider in providers)
            {
                ProviderProfile profile = ProviderProfile.All.Single(p => p.Name == provider.Name);
                _ = router.AddEndpoint(provider.Name, provider, endpoint =>
                {
                    endpoint.InputCostPerMillionTokens = profile.InputPrice;
                    endpoint.CachedInputCostPerMillionTokens = profile.CachedInputPrice;
                    endpoint.OutputCostPerMillionTokens = profile.OutputPrice;
                });
            }

            _ = router.AddFailureClassifier(new SimulatedFailureClassifier()).Configure(options =>
            {
                options.Randomizer = new Random(7).NextDouble;
                configure(options);
            });
        });
        return services.BuildServiceProvider();
    }
}
