using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.Tests.Routing;

/// <summary>Options bound from configuration follow a reload (IOptionsMonitor) without rebuilding the router.</summary>
public sealed class LiveOptionsTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task Reload_EndpointPriorityChanged_NextRequestFollowsItOnTheSameRouter()
    {
        (ServiceProvider provider, IConfigurationRoot configuration) = Build(new()
        {
            ["LlmRouter:Strategy"] = "Ordered",
            ["LlmRouter:Endpoints:a:Priority"] = "0",
            ["LlmRouter:Endpoints:b:Priority"] = "1",
        });
        using (provider)
        {
            RouterChatClient router = provider.GetRequiredService<RouterChatClient>();
            Assert.Equal("a", (await RouterDriver.SendAsync(router)).Endpoint);

            configuration["LlmRouter:Endpoints:a:Priority"] = "2";
            configuration.Reload();

            RoutingInfo after = await RouterDriver.SendAsync(router);
            Assert.Equal("b", after.Endpoint);
            Assert.Equal("b: lowest priority value", after.Reason);
            Assert.Same(router, provider.GetRequiredService<IChatClient>());
        }
    }

    [Fact]
    public async Task Reload_StrategyChanged_NextRequestUsesTheNewStrategy()
    {
        (ServiceProvider provider, IConfigurationRoot configuration) = Build(new()
        {
            ["LlmRouter:Strategy"] = "Ordered",
            ["LlmRouter:Endpoints:a:OutputCostPerMillionTokens"] = "10",
            ["LlmRouter:Endpoints:b:OutputCostPerMillionTokens"] = "1",
        });
        using (provider)
        {
            RouterChatClient router = provider.GetRequiredService<RouterChatClient>();
            Assert.Equal("a: lowest priority value", (await RouterDriver.SendAsync(router)).Reason);

            configuration["LlmRouter:Strategy"] = "LowestCost";
            configuration.Reload();
            RoutingInfo cheapest = await RouterDriver.SendAsync(router);

            Assert.Equal("b: lowest estimated cost", cheapest.Reason);
            Assert.Equal("b", cheapest.Endpoint);

            // And prices are live too.
            configuration["LlmRouter:Endpoints:a:OutputCostPerMillionTokens"] = "0.5";
            configuration.Reload();
            Assert.Equal("a: lowest estimated cost", (await RouterDriver.SendAsync(router)).Reason);
        }
    }

    [Fact]
    public async Task Reload_HealthThresholdChanged_AppliesToTheNextFailure()
    {
        (ServiceProvider provider, IConfigurationRoot configuration) = Build(
            new()
            {
                ["LlmRouter:Strategy"] = "Ordered",
                ["LlmRouter:Retry:MaxRetriesPerEndpoint"] = "0",
                ["LlmRouter:Endpoints:a:Priority"] = "0",
                ["LlmRouter:Endpoints:b:Priority"] = "1",
            },
            failingA: true);
        using (provider)
        {
            RouterChatClient router = provider.GetRequiredService<RouterChatClient>();
            _ = await RouterDriver.SendAsync(router);
            Assert.Equal(HealthState.Healthy, RouterDriver.Snapshot(router, "a").Health); // 1 of 5

            configuration["LlmRouter:Health:FailureThreshold"] = "2";
            configuration.Reload();
            _ = await RouterDriver.SendAsync(router);

            Assert.Equal(HealthState.Open, RouterDriver.Snapshot(router, "a").Health);
        }
    }

    /// <remarks>
    /// Groups must follow a reload too: when they were read once, as the router was built, a group added by a reload
    /// was not recognised in <c>ChatOptions.ModelId</c>, so the alias went to the provider as a model name and any
    /// endpoint could serve it.
    /// </remarks>
    [Fact]
    public async Task Reload_EndpointGroupChanged_ModelIdNamingTheNewGroupRoutesToIt()
    {
        (ServiceProvider provider, IConfigurationRoot configuration) = Build(new()
        {
            ["LlmRouter:Strategy"] = "Ordered",
            ["LlmRouter:Endpoints:a:Priority"] = "0",
            ["LlmRouter:Endpoints:b:Priority"] = "1",
            ["LlmRouter:Endpoints:b:Group"] = "smart",
        });
        using (provider)
        {
            RouterChatClient router = provider.GetRequiredService<RouterChatClient>();
            Assert.Equal("b", (await RouterDriver.SendAsync(router, new ChatOptions { ModelId = "smart" })).Endpoint);

            configuration["LlmRouter:Endpoints:b:Group"] = "fast";
            configuration.Reload();
            var fast = new ChatOptions { ModelId = "fast" };
            RoutingInfo info = await RouterDriver.SendAsync(router, fast);

            Assert.Equal("b", info.Endpoint);
            Assert.Equal("fast", fast.ModelId); // the caller's options are untouched
            _ = await Assert.ThrowsAsync<NoEndpointAvailableException>(() => RouterDriver.SendAsync(router, new ChatOptions().WithRouting(r => r.Group = "smart")));
        }
    }

    private (ServiceProvider Provider, IConfigurationRoot Configuration) Build(Dictionary<string, string?> settings, bool failingA = false)
    {
        IConfigurationRoot configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        _ = services.AddSingleton<TimeProvider>(_time);
        _ = services.AddKeyedChatClient("a", new LatencyChatClient("a", _time, 10) { Failure = _ => failingA ? RouterFactory.Http(503) : null });
        _ = services.AddKeyedChatClient("b", new LatencyChatClient("b", _time, 10));
        _ = services.AddLlmRouter(configuration.GetSection("LlmRouter")).Configure(o => o.Randomizer = SeededRandom.Create(17));
        return (services.BuildServiceProvider(), configuration);
    }
}
