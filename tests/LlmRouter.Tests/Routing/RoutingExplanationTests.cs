using System.ClientModel;
using LlmRouter.Tests.TestSupport;

namespace LlmRouter.Tests.Routing;

/// <summary><c>GetRoutingInfo()</c>: every candidate with its health, rank and score components, and why the leader leads.</summary>
public sealed class RoutingExplanationTests
{
    private const int Seed = 99;
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task Candidates_UnderScore_ListEveryCandidateWithHealthRankAndComponents()
    {
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o => { o.Randomizer = SeededRandom.Create(Seed); o.Scoring.ExplorationShare = 0.2; }, // every candidate gets measured
            null,
            ("a", new LatencyChatClient("a", _time, 100), e => e.OutputCostPerMillionTokens = 4m),
            ("b", new LatencyChatClient("b", _time, 200), e => e.OutputCostPerMillionTokens = 1m),
            ("c", new LatencyChatClient("c", _time, 400), e => e.OutputCostPerMillionTokens = 2m));
        _ = await RouterDriver.SendManyAsync(router, 300);

        // The next request that is not an exploration.
        RoutingInfo info = await RouterDriver.SendAsync(router);
        for (int i = 0; i < 100 && info.Reason.EndsWith(": exploration", StringComparison.Ordinal); i++)
        {
            info = await RouterDriver.SendAsync(router);
        }

        Assert.Equal(["a", "b", "c"], info.Candidates.Select(c => c.Endpoint).Order(StringComparer.Ordinal));
        Assert.Equal([0, 1, 2], info.Candidates.Select(c => c.Rank).Order());
        Assert.All(info.Candidates, c => Assert.Equal(HealthState.Healthy, c.Health));
        foreach (CandidateScore candidate in info.Candidates)
        {
            // Default weights: latency 0.4, cost 0.3, success 0.2, custom 0.1 (custom is 1 without a scorer).
            double expected = (0.4 * candidate.Latency!.Value) + (0.3 * candidate.Cost!.Value) + (0.2 * candidate.Success!.Value) + (0.1 * candidate.Custom!.Value);
            Assert.Equal(expected, candidate.Score!.Value, 12);
            Assert.InRange(candidate.Latency.Value, 0, 1);
            Assert.Equal(1.0, candidate.Success);
            Assert.Equal(1.0, candidate.Custom);
            Assert.True(candidate.EstimatedCost > 0);
            Assert.Equal(candidate.Score, RouterDriver.Snapshot(router, candidate.Endpoint).Score); // the snapshot keeps the latest score
        }

        CandidateScore a = info.Candidates.Single(c => c.Endpoint == "a");
        CandidateScore b = info.Candidates.Single(c => c.Endpoint == "b");
        Assert.Equal(1.0, a.Latency!.Value, 12); // the fastest
        Assert.Equal(1.0, b.Cost!.Value, 12); // the cheapest
        Assert.Equal(0.25, a.Cost!.Value, 12);
        CandidateScore best = info.Candidates.MaxBy(c => c.Score)!;
        Assert.Equal(0, best.Rank);
        Assert.Equal($"{best.Endpoint}: highest score", info.Reason);
        Assert.Equal(best.Endpoint, info.Endpoint);
    }

    [Fact]
    public async Task Reason_Exploration_NamesTheExploredEndpointWhichScoresBelowTheBest()
    {
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o => o.Randomizer = SeededRandom.Create(Seed),
            null,
            ("a", new LatencyChatClient("a", _time, 100), null),
            ("b", new LatencyChatClient("b", _time, 300), null));
        _ = await RouterDriver.SendManyAsync(router, 100);

        List<RoutingInfo> infos = await RouterDriver.SendManyAsync(router, 800);
        List<RoutingInfo> explored = infos.Where(i => i.Reason.EndsWith(": exploration", StringComparison.Ordinal)).ToList();

        Assert.InRange(explored.Count, 15, 70); // about 5 % of 800
        Assert.All(explored, i =>
        {
            Assert.Equal("b: exploration", i.Reason);
            Assert.Equal("b", i.Endpoint);
            CandidateScore b = i.Candidates.Single(c => c.Endpoint == "b");
            Assert.Equal(0, b.Rank);
            Assert.True(b.Score < i.Candidates.Single(c => c.Endpoint == "a").Score);
        });
        Assert.All(infos.Except(explored), i => Assert.Equal("a: highest score", i.Reason));
    }

    [Fact]
    public async Task Reason_HalfOpenProbeUnderScore_NamesTheProbeAndListsTheOpenStates()
    {
        var a = new LatencyChatClient("a", _time, 100);
        var b = new LatencyChatClient("b", _time, 300) { Failure = _ => RouterFactory.Http(401) };
        var c = new LatencyChatClient("c", _time, 300);
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o => { o.Randomizer = SeededRandom.Create(Seed); o.Health.BreakJitter = 0; o.Health.AuthFailureCooldown = TimeSpan.FromSeconds(30); },
            null,
            ("a", a, e => e.OutputCostPerMillionTokens = 2m),
            ("b", b, e => e.OutputCostPerMillionTokens = 1m),
            ("c", c, e => e.OutputCostPerMillionTokens = 2m));
        RoutingInfo first = await RouterDriver.SendAsync(router); // b, the cheapest, leads while nothing is measured
        Assert.Equal(("b", FailureKind.Auth), (first.Attempts[0].Endpoint, first.Attempts[0].Failure!.Value));
        Assert.Equal(HealthState.Open, RouterDriver.Snapshot(router, "b").Health);

        RoutingInfo whileOpen = await RouterDriver.SendAsync(router);
        CandidateScore open = whileOpen.Candidates.Single(x => x.Endpoint == "b");
        Assert.Equal((HealthState.Open, -1), (open.Health, open.Rank));
        Assert.NotNull(open.Score); // scored like every candidate, then left out

        b.Failure = _ => null;
        _time.Advance(TimeSpan.FromSeconds(30));
        RoutingInfo probe = await RouterDriver.SendAsync(router);

        Assert.Equal("b: probe of half-open endpoint", probe.Reason);
        Assert.Equal("b", probe.Endpoint);
        CandidateScore probed = probe.Candidates.Single(x => x.Endpoint == "b");
        Assert.Equal((HealthState.HalfOpen, 0), (probed.Health, probed.Rank));
    }

    [Fact]
    public async Task Candidates_UnderOrdered_HaveRanksButNoScoreComponents()
    {
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o => { o.Strategy = RoutingStrategy.Ordered; o.Randomizer = SeededRandom.Create(Seed); },
            null,
            ("a", new LatencyChatClient("a", _time, 100), e => e.Priority = 1),
            ("b", new LatencyChatClient("b", _time, 100), null));

        RoutingInfo info = await RouterDriver.SendAsync(router);

        Assert.Equal("b: lowest priority value", info.Reason);
        Assert.Equal([("a", 1), ("b", 0)], info.Candidates.OrderBy(c => c.Endpoint, StringComparer.Ordinal).Select(c => (c.Endpoint, c.Rank)));
        Assert.All(info.Candidates, c => Assert.Null(c.Score));
        Assert.All(info.Candidates, c => Assert.Null(c.Latency));
        Assert.All(info.Candidates, c => Assert.Null(c.EstimatedCost));
    }

    /// <remarks>
    /// The criterion belongs to the strategy's first choice. When the health pass passes the best-scored endpoint over
    /// (it is degraded and not drawn for its canary share), the runner-up leads the plan: the reason must not credit it
    /// with "highest score", and must name the endpoint passed over.
    /// </remarks>
    [Fact]
    public async Task Reason_BestScoredEndpointDemotedByItsCanaryShare_DoesNotCreditTheRunnerUpWithTheHighestScore()
    {
        // a is cheaper and stays the best-scored; it degrades (slower than its p95, five times in a row) and keeps 5 %.
        var a = new LatencyChatClient("a", _time, call => TimeSpan.FromMilliseconds(call <= 30 ? 100 : 200 + call));
        var b = new LatencyChatClient("b", _time, 10);
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o =>
            {
                o.Randomizer = SeededRandom.Create(Seed);
                o.Scoring.LatencyWeight = 0;
                o.Scoring.ExplorationShare = 0;
            },
            null,
            ("a", a, e => e.OutputCostPerMillionTokens = 1m),
            ("b", b, e => e.OutputCostPerMillionTokens = 10m));
        _ = await RouterDriver.SendManyAsync(router, 35);
        Assert.Equal(HealthState.Degraded, RouterDriver.Snapshot(router, "a").Health);

        // The next request a is not drawn for (19 in 20 are not).
        RoutingInfo info = await RouterDriver.SendAsync(router);
        for (int i = 0; i < 100 && info.Endpoint == "a"; i++)
        {
            info = await RouterDriver.SendAsync(router);
        }

        Assert.Equal("b", info.Endpoint);
        Assert.True(info.Candidates.Single(c => c.Endpoint == "a").Score > info.Candidates.Single(c => c.Endpoint == "b").Score);

        AssertReasonIsTrue(info);
    }

    /// <remarks>As above, when the best-scored endpoint is cooling down after a 429, so it goes last.</remarks>
    [Fact]
    public async Task Reason_BestScoredEndpointCoolingDown_DoesNotCreditTheRunnerUpWithTheHighestScore()
    {
        var a = new LatencyChatClient("a", _time, 100);
        var b = new LatencyChatClient("b", _time, 300);
        using RouterChatClient router = RouterFactory.Create(
            _time, o => { o.Randomizer = SeededRandom.Create(Seed); o.Scoring.ExplorationShare = 0; }, null, ("a", a, null), ("b", b, null));
        _ = await RouterDriver.SendManyAsync(router, 10);
        a.Failure = _ => new ClientResultException(new FakePipelineResponse(429, "{}", ("retry-after-ms", "60000")));
        _ = await RouterDriver.SendAsync(router);
        a.Failure = _ => null;

        RoutingInfo info = await RouterDriver.SendAsync(router);
        Assert.Equal("b", info.Endpoint);
        Assert.True(info.Candidates.Single(c => c.Endpoint == "a").Score > info.Candidates.Single(c => c.Endpoint == "b").Score);

        AssertReasonIsTrue(info);
    }

    /// <summary>A reason that credits the leader with the strategy's criterion must be true of the leader.</summary>
    private static void AssertReasonIsTrue(RoutingInfo info)
    {
        string leader = info.Attempts[0].Endpoint;
        double best = info.Candidates.Max(c => c.Score!.Value);
        if (info.Reason == $"{leader}: highest score")
        {
            Assert.Fail($"The reason is '{info.Reason}', but {leader} scored {info.Candidates.Single(c => c.Endpoint == leader).Score:0.000} and the best score was {best:0.000}: {string.Join("; ", info.Candidates)}.");
        }

        string passedOver = info.Candidates.MaxBy(c => c.Score)!.Endpoint;
        Assert.StartsWith($"{leader}: ", info.Reason, StringComparison.Ordinal);
        Assert.Contains(passedOver, info.Reason[(leader.Length + 2)..], StringComparison.Ordinal);
    }
}
