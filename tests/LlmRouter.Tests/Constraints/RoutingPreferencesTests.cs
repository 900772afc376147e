using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.Constraints;

/// <summary>Per-request preferences and per-tenant defaults: the stricter wins, and GetRoutingInfo says who was left out and why.</summary>
public sealed class RoutingPreferencesTests
{
    private readonly FakeTimeProvider _time = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TenantDefaults_MergeWithHints_TheStricterWins()
    {
        var eu = new SwitchableChatClient("eu");
        var us = new SwitchableChatClient("us");
        var euZdr = new SwitchableChatClient("eu-zdr");
        using RouterChatClient router = Create(
            o => o.Constraints.Tenants["acme-eu"] = new TenantOptions { AllowedRegions = ["eu"] },
            (us, e => { e.Region = "us"; e.ZeroDataRetention = true; }),
            (eu, e => e.Region = "eu"),
            (euZdr, e => { e.Region = "eu-central"; e.ZeroDataRetention = true; e.InputCostPerMillionTokens = 5; }));

        // The request allows the US too: the tenant does not.
        RoutingInfo loosened = await SendAsync(router, r => { r.Tenant = "acme-eu"; r.AllowedRegions = ["us", "eu"]; });
        // The request adds a requirement the tenant does not make: it applies.
        RoutingInfo tightened = await SendAsync(router, r => { r.Tenant = "ACME-EU"; r.RequireZeroDataRetention = true; });

        Assert.Equal("eu", loosened.Endpoint);
        Assert.Contains(loosened.Excluded, e => e is { Endpoint: "us", Reason: ExclusionReason.Region });
        Assert.Equal("eu-zdr", tightened.Endpoint);
        Assert.Contains(tightened.Excluded, e => e is { Endpoint: "eu", Reason: ExclusionReason.DataPolicy });
        Assert.Contains(tightened.Excluded, e => e is { Endpoint: "us", Reason: ExclusionReason.Region });
        Assert.Equal(0, us.Calls);
    }

    [Fact]
    public async Task OnlyAndIgnoreEndpoints_RestrictTheCandidates()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        var c = new SwitchableChatClient("c");
        using RouterChatClient router = Create(null, (a, _ => { }), (b, _ => { }), (c, _ => { }));

        RoutingInfo only = await SendAsync(router, r => r.OnlyEndpoints = ["C"]);
        RoutingInfo ignore = await SendAsync(router, r => r.IgnoreEndpoints = ["a", "b"]);

        Assert.Equal("c", only.Endpoint);
        Assert.Equal(["a", "b"], only.Excluded.Select(e => e.Endpoint));
        Assert.All(only.Excluded, e => Assert.Equal(ExclusionReason.Endpoint, e.Reason));
        Assert.Equal("c", ignore.Endpoint);
        Assert.Equal(0, a.Calls + b.Calls);
    }

    [Fact]
    public async Task MaxPrices_ExcludeExpensiveEndpoints_ByPriceAndByEstimatedRequestCost()
    {
        var cheap = new SwitchableChatClient("cheap");
        var pricey = new SwitchableChatClient("pricey");
        using RouterChatClient router = Create(
            o => o.Scoring.CostWeight = 0, // the strategy alone would not mind the price
            (pricey, e => { e.InputCostPerMillionTokens = 15; e.OutputCostPerMillionTokens = 75; e.Priority = -1; }),
            (cheap, e => { e.InputCostPerMillionTokens = 0.15m; e.OutputCostPerMillionTokens = 0.6m; }));

        RoutingInfo byInput = await SendAsync(router, r => r.MaxInputCostPerMillionTokens = 1);
        RoutingInfo byOutput = await SendAsync(router, r => r.MaxOutputCostPerMillionTokens = 1);
        RoutingInfo byRequest = await SendAsync(router, r => r.MaxRequestCost = 0.01m, new ChatOptions { MaxOutputTokens = 1_000 });

        Assert.All([byInput, byOutput, byRequest], i => Assert.Equal("cheap", i.Endpoint));
        Assert.Contains("InputCostPerMillionTokens 15 is above the cap 1", Assert.Single(byInput.Excluded).Detail, StringComparison.Ordinal);
        Assert.Contains("estimated cost 0.075", Assert.Single(byRequest.Excluded).Detail, StringComparison.Ordinal);
        Assert.Equal(0, pricey.Calls);
    }

    [Fact]
    public async Task SortByPrice_OverridesTheStrategy()
    {
        var first = new SwitchableChatClient("first");
        var cheapest = new SwitchableChatClient("cheapest");
        using RouterChatClient router = Create(
            o => o.Strategy = RoutingStrategy.Ordered,
            (first, e => e.InputCostPerMillionTokens = 3),
            (cheapest, e => e.InputCostPerMillionTokens = 1));

        RoutingInfo sorted = await SendAsync(router, r => r.Sort = RoutingSort.Price);
        RoutingInfo plain = await SendAsync(router, r => r.Tenant = "any");

        Assert.Equal("cheapest", sorted.Endpoint);
        Assert.Contains("lowest estimated cost", sorted.Reason, StringComparison.Ordinal);
        Assert.Equal("first", plain.Endpoint);
    }

    [Fact]
    public async Task NoFallbacks_FailureOfTheFirstEndpointIsNotFailedOver()
    {
        var primary = new SwitchableChatClient("primary") { Failing = true };
        var backup = new SwitchableChatClient("backup");
        using RouterChatClient router = Create(
            o => { o.Strategy = RoutingStrategy.Ordered; o.Retry.BaseDelay = TimeSpan.Zero; o.Retry.MaxDelay = TimeSpan.Zero; },
            (primary, _ => { }),
            (backup, _ => { }));

        AllEndpointsFailedException exception = await Assert.ThrowsAsync<AllEndpointsFailedException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions().WithRouting(r => r.NoFallbacks = true), Ct));

        Assert.All(exception.Attempts, a => Assert.Equal("primary", a.Endpoint));
        Assert.Equal(0, backup.Calls);
    }

    [Fact]
    public async Task CachedInputTokens_AreBilledAtTheirOwnPrice()
    {
        var client = new SwitchableChatClient("a") { Usage = new UsageDetails { InputTokenCount = 1_000_000, CachedInputTokenCount = 800_000, OutputTokenCount = 0 } };
        using RouterChatClient router = Create(null, (client, e => { e.InputCostPerMillionTokens = 2m; e.CachedInputCostPerMillionTokens = 0.5m; }));

        _ = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        router.RefreshSnapshots();

        Assert.Equal(0.8, (double)router.GetSnapshot()[0].TotalCost, 5); // 200k at 2 + 800k at 0.5
    }

    private static async Task<RoutingInfo> SendAsync(RouterChatClient router, Action<RoutingHints> hints, ChatOptions? options = null)
    {
        router.RefreshSnapshots();
        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), (options ?? new ChatOptions()).WithRouting(hints), Ct);
        return response.GetRoutingInfo()!;
    }

    private RouterChatClient Create(Action<LlmRouterOptions>? configure, params (SwitchableChatClient Client, Action<EndpointOptions> Configure)[] endpoints) =>
        RouterFactory.Create(_time, configure, null, [.. endpoints.Select(e => (e.Client.Name, (IChatClient)e.Client, (Action<EndpointOptions>?)e.Configure))]);
}
