using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.Routing;

/// <summary>
/// The selector's steady path: while every candidate is healthy and nothing a decision was made from changes (health,
/// snapshots, cool-downs, options, the request's size), the decision is handed out again without ranking; any change
/// ranks again, and exploration keeps its share.
/// </summary>
public sealed class SteadyDecisionTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly List<ChatMessage> _short = [new(ChatRole.User, "Summarise this, please.")];
    private readonly List<ChatMessage> _long = [new(ChatRole.User, "Summarise this much longer paragraph in a single sentence, please.")];

    [Fact]
    public void Steady_TheSameRequestAgain_IsNotRankedAgain_AndGetsTheSameDecision()
    {
        (CandidateSelector selector, CountingStrategy strategy, _, _) = Build(exploration: 0);

        RoutedRequest first = Select(selector, _short);
        RoutedRequest second = Select(selector, _short); // made twice from the same: kept
        int ranked = strategy.Ranked;
        for (int i = 0; i < 100; i++)
        {
            RoutedRequest again = Select(selector, _short);
            Assert.Same(second.Decision, again.Decision);
            Assert.Same(second.Candidates, again.Candidates);
        }

        Assert.Equal(2, ranked);
        Assert.Equal(ranked, strategy.Ranked);
        Assert.Same(first.Decision, second.Decision);
        Assert.Equal("e0", second.Candidates[0].Name); // the cheapest, at equal latency
    }

    [Fact]
    public void Steady_ANewSnapshot_RanksAgain()
    {
        (CandidateSelector selector, CountingStrategy strategy, RouterEndpoint[] endpoints, RouterRuntime runtime) = Build(exploration: 0);
        _ = Select(selector, _short);
        _ = Select(selector, _short);
        int ranked = strategy.Ranked;

        // e0 becomes much slower: its new snapshot must be seen, and the plan changes.
        long now = _time.GetTimestamp();
        for (int s = 0; s < 200; s++)
        {
            endpoints[0].Metrics.Record(new AttemptSample { Timestamp = now, LatencyMs = 5_000, TimeToFirstTokenMs = float.NaN, OutputTokens = 200 });
        }

        _ = endpoints[0].Metrics.Build("e0", now, _time.GetUtcNow(), HealthState.Healthy, runtime.Options.Metrics, _time.TimestampFrequency);
        RoutedRequest after = Select(selector, _short);

        Assert.Equal(ranked + 1, strategy.Ranked);
        Assert.NotEqual("e0", after.Candidates[0].Name);
    }

    [Fact]
    public void Steady_ACoolDown_RanksAgain_AndItsEnd_BringsTheKeptDecisionBack()
    {
        (CandidateSelector selector, CountingStrategy strategy, RouterEndpoint[] endpoints, _) = Build(exploration: 0);
        _ = Select(selector, _short);
        _ = Select(selector, _short);
        int ranked = strategy.Ranked;

        _ = endpoints[0].Cooldown.ExtendTo(_time.GetTimestamp() + _time.TimestampFrequency); // a 429 for 1 s
        RoutedRequest cooling = Select(selector, _short);
        Assert.Equal(ranked + 1, strategy.Ranked);
        Assert.Equal("e0", cooling.Candidates[^1].Name); // rate-limited: last

        // Cooling over: everything is as when the kept decision was made, so it holds again.
        _time.Advance(TimeSpan.FromSeconds(2));
        RoutedRequest after = Select(selector, _short);
        Assert.Equal(ranked + 1, strategy.Ranked);
        Assert.Equal("e0", after.Candidates[0].Name);
    }

    [Fact]
    public void Steady_AHealthChange_RanksAgain_AndADegradedEndpointIsRankedEveryTime()
    {
        (CandidateSelector selector, CountingStrategy strategy, RouterEndpoint[] endpoints, RouterRuntime runtime) = Build(exploration: 0);
        _ = Select(selector, _short);
        _ = Select(selector, _short);
        int ranked = strategy.Ranked;

        // Slow answers degrade e1 (its canary share is drawn for every request from then on).
        for (int i = 0; i < runtime.Options.Health.DegradedAfterSlowRequests; i++)
        {
            _ = endpoints[1].Health.OnSuccess(_time.GetTimestamp(), isSlow: true, Admission.Admitted, runtime.Options.Health);
        }

        Assert.Equal(HealthState.Degraded, endpoints[1].Health.Status.State);
        for (int i = 0; i < 5; i++)
        {
            _ = Select(selector, _short);
        }

        Assert.Equal(ranked + 5, strategy.Ranked);
    }

    [Fact]
    public void Steady_ADifferentPromptSize_OrNewOptions_RankAgain()
    {
        (CandidateSelector selector, CountingStrategy strategy, _, RouterRuntime runtime) = Build(exploration: 0);
        _ = Select(selector, _short);
        _ = Select(selector, _short);
        int ranked = strategy.Ranked;

        _ = Select(selector, _long); // its cost estimate differs
        Assert.Equal(ranked + 1, strategy.Ranked);
        _ = Select(selector, _short); // the kept one still holds for the short prompt
        Assert.Equal(ranked + 1, strategy.Ranked);

        runtime.Options = new LlmRouterOptions { Randomizer = runtime.Options.Randomizer }; // a reload
        _ = Select(selector, _short);
        Assert.Equal(ranked + 2, strategy.Ranked);
    }

    [Fact]
    public void Steady_ACustomScorer_IsAskedForEveryRequest()
    {
        var scorer = new CountingScorer();
        (CandidateSelector selector, _, _, _) = Build(exploration: 0, scorer: scorer);
        for (int i = 0; i < 10; i++)
        {
            _ = Select(selector, _short);
        }

        Assert.Equal(10 * 3, scorer.Calls); // every candidate of every request
    }

    [Fact]
    public void Steady_Exploration_KeepsItsShare()
    {
        (CandidateSelector selector, _, _, _) = Build(exploration: 0.05);
        int explored = 0;
        const int Requests = 20_000;
        for (int i = 0; i < Requests; i++)
        {
            RoutedRequest request = Select(selector, _short);
            explored += request.Decision.Reason.EndsWith("exploration", StringComparison.Ordinal) ? 1 : 0;
            Assert.Equal(request.Decision.Reason.EndsWith("exploration", StringComparison.Ordinal), request.Candidates[0].Name != "e0");
        }

        Assert.InRange(explored / (double)Requests, 0.045, 0.055);
    }

    private static RoutedRequest Select(CandidateSelector selector, List<ChatMessage> messages)
    {
        Task<RoutedRequest> request = selector.SelectAsync(messages, null, streaming: false, TestContext.Current.CancellationToken).AsTask();
        Assert.True(request.IsCompletedSuccessfully); // planning is synchronous unless every candidate is open
        return request.Result;
    }

    private (CandidateSelector Selector, CountingStrategy Strategy, RouterEndpoint[] Endpoints, RouterRuntime Runtime) Build(double exploration, IEndpointScorer? scorer = null)
    {
        var options = new LlmRouterOptions { Randomizer = SeededRandom.Create(5) };
        options.Scoring.ExplorationShare = exploration;
        var runtime = new RouterRuntime(options, _time, new FailureClassifierChain([], _time), NullLogger.Instance);
        long now = _time.GetTimestamp();
        var endpoints = new RouterEndpoint[3];
        for (int i = 0; i < endpoints.Length; i++)
        {
            var endpointOptions = new EndpointOptions { InputCostPerMillionTokens = 1 + i, OutputCostPerMillionTokens = 4 + i };
            options.Endpoints[$"e{i}"] = endpointOptions;
            endpoints[i] = new RouterEndpoint($"e{i}", new ScriptedChatClient($"e{i}"), endpointOptions, i, ownsClient: false);
            for (int s = 0; s < 200; s++)
            {
                endpoints[i].Metrics.Record(new AttemptSample { Timestamp = now, LatencyMs = 200, TimeToFirstTokenMs = float.NaN, OutputTokens = 200 });
            }

            _ = endpoints[i].Metrics.Build($"e{i}", now, _time.GetUtcNow(), HealthState.Healthy, options.Metrics, _time.TimestampFrequency);
        }

        var strategy = new CountingStrategy(new ScoreRoutingStrategy(runtime, scorer));
        return (new CandidateSelector(endpoints, runtime, () => strategy), strategy, endpoints, runtime);
    }

    private sealed class CountingStrategy(IRoutingStrategy inner) : IRoutingStrategy
    {
        public int Ranked { get; private set; }

        public string Criterion => inner.Criterion;

        public bool Explores => inner.Explores;

        public SteadyRanking Steady => inner.Steady;

        public void Rank(Span<CandidateEntry> candidates, in RoutingRequest request)
        {
            Ranked++;
            inner.Rank(candidates, request);
        }
    }

    private sealed class CountingScorer : IEndpointScorer
    {
        public int Calls { get; private set; }

        public double Score(EndpointSnapshot endpoint, IList<ChatMessage> messages, ChatOptions? options)
        {
            Calls++;
            return 1;
        }
    }
}
