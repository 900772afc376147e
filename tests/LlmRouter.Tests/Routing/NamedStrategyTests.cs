using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Routing;

/// <summary>LowestLatency, LowestCost and LeastBusy.</summary>
public sealed class NamedStrategyTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task LowestLatency_ExploresEndpointsWithoutMinSamplesFirstThenPicksTheFastest()
    {
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o => { o.Strategy = RoutingStrategy.LowestLatency; o.Randomizer = SeededRandom.Create(9); },
            null,
            ("a", new LatencyChatClient("a", _time, 300), null),
            ("b", new LatencyChatClient("b", _time, 100), null),
            ("c", new LatencyChatClient("c", _time, 200), null));

        List<RoutingInfo> infos = await RouterDriver.SendManyAsync(router, 35);

        // Scoring:MinSamples (5) each, in registration order, then the fastest only.
        Assert.Equal(
            [.. Enumerable.Repeat("a", 5), .. Enumerable.Repeat("b", 5), .. Enumerable.Repeat("c", 5), .. Enumerable.Repeat("b", 20)],
            infos.Select(RouterDriver.FirstChoice));
        Assert.Equal("b: lowest recent latency", infos[^1].Reason);
        Assert.Equal([("a", 2), ("b", 0), ("c", 1)], Ranks(infos[^1]));
    }

    [Fact]
    public async Task LowestLatency_FastestSlowsDown_TheNextFastestTakesOver()
    {
        var a = new LatencyChatClient("a", _time, 100);
        var b = new LatencyChatClient("b", _time, 150);
        using RouterChatClient router = RouterFactory.Create(
            _time, o => { o.Strategy = RoutingStrategy.LowestLatency; o.Randomizer = SeededRandom.Create(9); }, null, ("a", a, null), ("b", b, null));
        _ = await RouterDriver.SendManyAsync(router, 20);

        a.Latency = LatencyChatClient.Fixed(400);
        List<RoutingInfo> infos = await RouterDriver.SendManyAsync(router, 10);

        // Recent mean of a: (400 + 4 × 100) / 5 = 160 > 150 after a single slow request.
        Assert.Equal(["a", "b", "b", "b", "b", "b", "b", "b", "b", "b"], infos.Select(RouterDriver.FirstChoice));
    }

    [Fact]
    public async Task LowestCost_PicksTheCheapestEstimateForThisRequest()
    {
        // a: cheap input, dear output. b: the other way round. c: always in between.
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o => { o.Strategy = RoutingStrategy.LowestCost; o.Randomizer = SeededRandom.Create(9); },
            null,
            ("a", new LatencyChatClient("a", _time, 10), e => { e.InputCostPerMillionTokens = 1m; e.OutputCostPerMillionTokens = 100m; }),
            ("b", new LatencyChatClient("b", _time, 10), e => { e.InputCostPerMillionTokens = 50m; e.OutputCostPerMillionTokens = 1m; }),
            ("c", new LatencyChatClient("c", _time, 10), e => { e.InputCostPerMillionTokens = 60m; e.OutputCostPerMillionTokens = 60m; }));

        // "hello" is estimated at 5 prompt tokens: (16 + 5 characters) / 4.
        RoutingInfo shortAnswer = await RouterDriver.SendAsync(router, new ChatOptions { MaxOutputTokens = 1 });
        RoutingInfo longAnswer = await RouterDriver.SendAsync(router, new ChatOptions { MaxOutputTokens = 1_000 });

        Assert.Equal("a", shortAnswer.Endpoint);
        Assert.Equal("a: lowest estimated cost", shortAnswer.Reason);
        Assert.Equal([0.000105, 0.000251, 0.00036], shortAnswer.Candidates.OrderBy(c => c.Endpoint, StringComparer.Ordinal).Select(c => Math.Round((double)c.EstimatedCost!.Value, 9)));
        Assert.Equal("b", longAnswer.Endpoint);
        Assert.Equal([("a", 2), ("b", 0), ("c", 1)], Ranks(longAnswer));
        Assert.All(longAnswer.Candidates, c => Assert.Null(c.Score));
    }

    [Fact]
    public async Task LowestCost_WithoutMaxOutputTokens_UsesEachEndpointsAverageOutputOnceKnown()
    {
        // Before any attempt both assume Scoring:AssumedOutputTokens (256) and a is cheaper; a then answers with
        // 10,000 output tokens a time, which makes it the dearer one.
        var a = new LatencyChatClient("a", _time, 10) { OutputTokens = 10_000 };
        var b = new LatencyChatClient("b", _time, 10) { OutputTokens = 10 };
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o => { o.Strategy = RoutingStrategy.LowestCost; o.Randomizer = SeededRandom.Create(9); },
            null,
            ("a", a, e => e.OutputCostPerMillionTokens = 1m),
            ("b", b, e => e.OutputCostPerMillionTokens = 2m));

        List<RoutingInfo> infos = await RouterDriver.SendManyAsync(router, 3);

        Assert.Equal(["a", "b", "b"], infos.Select(RouterDriver.FirstChoice));
        Assert.Equal(0.01, (double)infos[1].Candidates.Single(c => c.Endpoint == "a").EstimatedCost!.Value, 9); // 10,000 × 1 / 1,000,000
    }

    [Fact]
    public async Task LeastBusy_PicksTheEndpointWithTheFewestAttemptsInFlight()
    {
        var a = new GatedChatClient("a");
        var b = new GatedChatClient("b");
        var c = new GatedChatClient("c") { Holds = _ => false };
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o => { o.Strategy = RoutingStrategy.LeastBusy; o.Randomizer = SeededRandom.Create(9); },
            null,
            ("a", a, null),
            ("b", b, null),
            ("c", c, null));
        CancellationToken ct = TestContext.Current.CancellationToken;

        // a and b each hold one attempt; c answers at once, so it stays at zero in flight.
        Task<ChatResponse> first = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: ct);
        Task<ChatResponse> second = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: ct);
        Assert.Equal((1, 1, 0), (a.HeldCount, b.HeldCount, c.Calls));
        RoutingInfo third = (await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: ct)).GetRoutingInfo()!;
        RoutingInfo fourth = (await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: ct)).GetRoutingInfo()!;
        Assert.Equal(("c", "c"), (third.Endpoint, fourth.Endpoint));
        Assert.Equal("c: fewest attempts in flight", third.Reason);

        // Once b's attempt ends, b (0 in flight) ties with c and wins on registration order; a still holds one.
        b.Release(1);
        Assert.Equal("b", (await second).GetRoutingInfo()!.Endpoint);
        b.Holds = _ => false;
        RoutingInfo fifth = (await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: ct)).GetRoutingInfo()!;
        Assert.Equal("b", fifth.Endpoint);
        Assert.Equal([("a", 2), ("b", 0), ("c", 1)], Ranks(fifth));

        a.Release(1);
        Assert.Equal("a", (await first).GetRoutingInfo()!.Endpoint);
    }

    /// <summary>Each candidate's place in the plan, by endpoint name (the list itself is in no promised order).</summary>
    private static IEnumerable<(string Endpoint, int Rank)> Ranks(RoutingInfo info) =>
        info.Candidates.OrderBy(c => c.Endpoint, StringComparer.Ordinal).Select(c => (c.Endpoint, c.Rank));
}
