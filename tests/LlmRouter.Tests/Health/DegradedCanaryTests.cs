using LlmRouter.Tests.TestSupport;

namespace LlmRouter.Tests.Health;

/// <summary>Healthy → Degraded (slower than its own p95 for several requests in a row) keeps a canary share; fast requests bring it back.</summary>
public sealed class DegradedCanaryTests
{
    private const int Seed = 7;
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task Degraded_BestScoredEndpointSlowerThanItsP95FiveTimesInARow_KeepsTheCanaryShareThenRecovers()
    {
        // Cost alone decides the score and a is 10× cheaper, so a stays the best-scored endpoint however slow it gets.
        // Its latency grows by 1 ms a call after warm-up, so every request is above its own p95 baseline.
        const int WarmUp = 50;
        var a = new LatencyChatClient("a", _time, call => TimeSpan.FromMilliseconds(call <= WarmUp ? 100 : 200 + call));
        var b = new LatencyChatClient("b", _time, 10);
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o =>
            {
                o.Randomizer = SeededRandom.Create(Seed);
                o.Scoring.LatencyWeight = 0;
                o.Scoring.SuccessWeight = 0;
                o.Scoring.CustomWeight = 0;
                o.Scoring.CostWeight = 1;
                o.Scoring.ExplorationShare = 0; // first choices of a come from the canary share alone
            },
            null,
            ("a", a, e => { e.InputCostPerMillionTokens = 1m; e.OutputCostPerMillionTokens = 1m; }),
            ("b", b, e => { e.InputCostPerMillionTokens = 10m; e.OutputCostPerMillionTokens = 10m; }));
        List<RoutingInfo> warmUp = await RouterDriver.SendManyAsync(router, WarmUp);
        Assert.All(warmUp, i => Assert.Equal("a", i.Endpoint));

        // Four slow requests in a row: still healthy. The fifth: degraded.
        List<RoutingInfo> slow = await RouterDriver.SendManyAsync(router, 4);
        Assert.All(slow, i => Assert.Equal("a", i.Endpoint));
        Assert.Equal(HealthState.Healthy, RouterDriver.Snapshot(router, "a").Health);
        Assert.Equal("a", (await RouterDriver.SendAsync(router)).Endpoint);
        Assert.Equal(HealthState.Degraded, RouterDriver.Snapshot(router, "a").Health);

        // Degraded yet still the best score: a is tried first on 5 % of requests (Health:CanaryShare), b on the rest.
        List<RoutingInfo> canary = await RouterDriver.SendManyAsync(router, 5_000);
        double share = RouterDriver.FirstChoices(canary, "a") / 5_000.0;
        Assert.InRange(share, 0.03, 0.07);
        Assert.Equal(HealthState.Degraded, RouterDriver.Snapshot(router, "a").Health);
        Assert.All(canary, i => Assert.True(i.Candidates.Single(c => c.Endpoint == "a").Score > i.Candidates.Single(c => c.Endpoint == "b").Score));
        Assert.All(canary, i => Assert.Equal(HealthState.Degraded, i.Candidates.Single(c => c.Endpoint == "a").Health));
        Assert.All(canary.Where(i => RouterDriver.FirstChoice(i) == "a"), i => Assert.Equal("a: canary request to a degraded endpoint", i.Reason));

        // Fast again: Health:RecoverAfterFastRequests (3) canary requests in a row within the baseline bring it back.
        a.Latency = LatencyChatClient.Fixed(100);
        int served = a.Calls;
        await SendUntilCallsAsync(router, a, served + 2);
        Assert.Equal(HealthState.Degraded, RouterDriver.Snapshot(router, "a").Health);
        await SendUntilCallsAsync(router, a, served + 3);
        Assert.Equal(HealthState.Healthy, RouterDriver.Snapshot(router, "a").Health);
    }

    [Fact]
    public async Task Degraded_SlowRequestsInterruptedByAFastOne_StaysHealthyUntilFiveInARow()
    {
        // 50 fast, then 4 slow (each above every earlier latency, so above the p95), 1 fast, 4 slow: never five in a row.
        static bool IsSlow(int call) => call > 50 && call != 55;
        var a = new LatencyChatClient("a", _time, call => TimeSpan.FromMilliseconds(IsSlow(call) ? 500 + call : 100));
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Randomizer = SeededRandom.Create(Seed), null, ("a", a, null));

        _ = await RouterDriver.SendManyAsync(router, 59);
        Assert.Equal(HealthState.Healthy, RouterDriver.Snapshot(router, "a").Health);

        _ = await RouterDriver.SendAsync(router); // the fifth slow request in a row
        Assert.Equal(HealthState.Degraded, RouterDriver.Snapshot(router, "a").Health);
    }

    [Fact]
    public async Task Degraded_OnlyEndpoint_StillServesEveryRequest()
    {
        var a = new LatencyChatClient("a", _time, call => TimeSpan.FromMilliseconds(call <= 10 ? 100 : 1_000 + call));
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Randomizer = SeededRandom.Create(Seed), null, ("a", a, null));

        List<RoutingInfo> infos = await RouterDriver.SendManyAsync(router, 40);

        Assert.Equal(HealthState.Degraded, RouterDriver.Snapshot(router, "a").Health);
        Assert.All(infos, i => Assert.Equal("a", i.Endpoint));
        Assert.Contains(infos, i => i.Reason == "a: only degraded or ramping endpoints left");
    }

    private static async Task SendUntilCallsAsync(RouterChatClient router, LatencyChatClient client, int calls)
    {
        for (int i = 0; i < 10_000 && client.Calls < calls; i++)
        {
            _ = await RouterDriver.SendAsync(router);
        }

        Assert.Equal(calls, client.Calls);
    }
}
