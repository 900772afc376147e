using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.Constraints;

/// <summary>Cache-aware cost: the share of input an endpoint reads from its prompt cache is priced at its cached-input price.</summary>
public sealed class CacheAwareCostTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 4, 9, 0, 0, TimeSpan.Zero));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WarmPromptCache_WinsTheCostComponent_OverEqualListPricesWithoutCacheHits()
    {
        // Equal list prices; input only, so that the estimate is the input price alone.
        var warm = new SwitchableChatClient("warm") { Usage = new UsageDetails { InputTokenCount = 1_000, CachedInputTokenCount = 900, OutputTokenCount = 0 } };
        var cold = new SwitchableChatClient("cold") { Usage = new UsageDetails { InputTokenCount = 1_000, CachedInputTokenCount = 0, OutputTokenCount = 0 } };
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o => { o.Scoring.ExplorationShare = 0; o.Affinity.Enabled = false; },
            null,
            ("cold", cold, Prices), // registered first: it would lead a tie
            ("warm", warm, Prices));
        await WarmUpAsync(router);

        RoutingInfo info = await SendAsync(router, null);

        Assert.Equal(0.9, RouterDriver.Snapshot(router, "warm").CachedInputRatio!.Value, 9);
        Assert.Equal(0.0, RouterDriver.Snapshot(router, "cold").CachedInputRatio!.Value, 9);
        CandidateScore warmScore = info.Candidates.Single(c => c.Endpoint == "warm");
        CandidateScore coldScore = info.Candidates.Single(c => c.Endpoint == "cold");
        Assert.Equal(1.0, warmScore.Cost!.Value, 9);

        // 10 % of input at 3 plus 90 % at 0.3 is 0.57 a million tokens, against 3.
        Assert.Equal(0.19, coldScore.Cost!.Value, 6);
        Assert.Equal(0.19, (double)(warmScore.EstimatedCost!.Value / coldScore.EstimatedCost!.Value), 6);
        Assert.Equal("warm", info.Endpoint);
        Assert.Equal("warm", (await SendAsync(router, new ChatOptions().WithRouting(r => r.Sort = RoutingSort.Price))).Endpoint);

        static void Prices(EndpointOptions e)
        {
            e.InputCostPerMillionTokens = 3m;
            e.CachedInputCostPerMillionTokens = 0.3m;
        }
    }

    [Fact]
    public async Task CacheHitsWithoutACachedPrice_AreNotADiscount()
    {
        // The provider reports cache hits but bills them at the full input price: no cheaper than one without hits.
        var hits = new SwitchableChatClient("hits") { Usage = new UsageDetails { InputTokenCount = 1_000, CachedInputTokenCount = 900, OutputTokenCount = 0 } };
        var none = new SwitchableChatClient("none") { Usage = new UsageDetails { InputTokenCount = 1_000, OutputTokenCount = 0 } };
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o => { o.Scoring.ExplorationShare = 0; o.Affinity.Enabled = false; },
            null,
            ("none", none, e => e.InputCostPerMillionTokens = 3m),
            ("hits", hits, e => e.InputCostPerMillionTokens = 3m));
        await WarmUpAsync(router);

        RoutingInfo info = await SendAsync(router, null);

        Assert.Equal(
            info.Candidates.Single(c => c.Endpoint == "none").EstimatedCost,
            info.Candidates.Single(c => c.Endpoint == "hits").EstimatedCost);
        Assert.Equal(1.0, info.Candidates.Single(c => c.Endpoint == "none").Cost!.Value, 9);
    }

    /// <summary>Five samples on each endpoint (Scoring:MinSamples), so that both are measured.</summary>
    private static async Task WarmUpAsync(RouterChatClient router)
    {
        foreach (string name in router.EndpointNames)
        {
            for (int i = 0; i < 5; i++)
            {
                _ = await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions().WithRouting(r => r.OnlyEndpoints = [name]), Ct);
            }
        }
    }

    private static async Task<RoutingInfo> SendAsync(RouterChatClient router, ChatOptions? options)
    {
        router.RefreshSnapshots();
        return (await router.GetResponseAsync(RouterFactory.Hello(), options, Ct)).GetRoutingInfo()!;
    }
}
