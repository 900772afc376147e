using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Routing;

public sealed class CandidateSelectionTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task Group_NamedByHint_OnlyThatGroupServesAndHintsAreNotForwarded()
    {
        var cheap = new ScriptedChatClient("cheap").Answers("cheap", always: true);
        var smart = new ScriptedChatClient("smart").Answers("smart", always: true);
        using RouterChatClient router = RouterFactory.Create(_time, null, null, ("cheap", cheap, e => e.Group = "fast"), ("smart", smart, e => e.Group = "smart"));
        ChatOptions options = new ChatOptions { Temperature = 0.2f }.WithRouting(r => r.Group = "smart");

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), options, TestContext.Current.CancellationToken);

        Assert.Equal("smart", response.Text);
        ChatOptions forwarded = Assert.IsType<ChatOptions>(Assert.Single(smart.ReceivedOptions));
        Assert.Equal(0.2f, forwarded.Temperature);
        Assert.Null(forwarded.AdditionalProperties);
        Assert.NotNull(options.GetRoutingHints()); // the caller's options are untouched
    }

    [Fact]
    public async Task Group_NamedByModelId_RoutesToTheGroupAndClearsTheAlias()
    {
        var cheap = new ScriptedChatClient("cheap").Answers("cheap");
        var smart = new ScriptedChatClient("smart").Answers("smart");
        using RouterChatClient router = RouterFactory.Create(_time, null, null, ("cheap", cheap, e => e.Group = "fast"), ("smart", smart, e => e.Group = "Smart"));
        var options = new ChatOptions { ModelId = "smart" };

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), options, TestContext.Current.CancellationToken);

        Assert.Equal("smart", response.Text);
        Assert.Null(Assert.Single(smart.ReceivedOptions)!.ModelId);
        Assert.Equal("smart", options.ModelId);
    }

    [Fact]
    public async Task ModelId_NotAGroup_IsForwardedUnchangedToAnyEndpoint()
    {
        var a = new ScriptedChatClient("a").Answers("a");
        using RouterChatClient router = RouterFactory.Create(_time, null, null, ("a", a, e => e.Group = "smart"));
        var options = new ChatOptions { ModelId = "gpt-4o" };

        _ = await router.GetResponseAsync(RouterFactory.Hello(), options, TestContext.Current.CancellationToken);

        Assert.Same(options, Assert.Single(a.ReceivedOptions));
    }

    [Fact]
    public async Task Group_Unknown_ThrowsNoEndpointAvailableNamingTheGroups()
    {
        var a = new ScriptedChatClient("a").Answers("a");
        using RouterChatClient router = RouterFactory.Create(_time, null, null, ("a", a, e => e.Group = "smart"));
        ChatOptions options = new ChatOptions().WithRouting(r => r.Group = "tiny");

        NoEndpointAvailableException error = await Assert.ThrowsAsync<NoEndpointAvailableException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), options, TestContext.Current.CancellationToken));

        Assert.Contains("'tiny'", error.Message, StringComparison.Ordinal);
        Assert.Contains("smart", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, a.Calls);
    }

    [Fact]
    public async Task Group_FailoverStaysInsideTheGroup()
    {
        var s1 = new ScriptedChatClient("s1").Throws(RouterFactory.Http(503), always: true);
        var other = new ScriptedChatClient("other").Answers("other");
        var s2 = new ScriptedChatClient("s2").Answers("s2");
        using RouterChatClient router = RouterFactory.Create(
            _time, o => o.Retry.MaxRetriesPerEndpoint = 0, null, ("s1", s1, e => e.Group = "smart"), ("other", other, null), ("s2", s2, e => e.Group = "smart"));

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ModelId = "smart" }, TestContext.Current.CancellationToken);

        Assert.Equal("s2", response.Text);
        Assert.Equal(0, other.Calls);
    }

    [Fact]
    public void WeightedRandom_FirstChoiceFollowsTheWeights()
    {
        var random = new Random(1234);
        RouterEndpoint heavy = Endpoint("heavy", 3, 0);
        RouterEndpoint light = Endpoint("light", 1, 1);
        RouterEndpoint never = Endpoint("never", 0, 2);
        int heavyFirst = 0;
        const int Draws = 20_000;

        for (int i = 0; i < Draws; i++)
        {
            RouterEndpoint[] order = Plan(new WeightedRandomRoutingStrategy(random.NextDouble), [never, light, heavy]);
            Assert.Same(never, order[2]);
            heavyFirst += order[0] == heavy ? 1 : 0;
        }

        Assert.InRange(heavyFirst / (double)Draws, 0.74, 0.76);
    }

    [Fact]
    public void WeightedRandom_ZeroWeightEndpoint_ComesLastButStaysInTheFailoverOrder()
    {
        RouterEndpoint[] order = Plan(new WeightedRandomRoutingStrategy(() => 0.999), [Endpoint("zero", 0, 0), Endpoint("one", 1, 1)]);

        Assert.Equal(["one", "zero"], order.Select(e => e.Name));
    }

    [Fact]
    public void Ordered_SortsByPriorityThenRegistration()
    {
        RouterEndpoint[] order = Plan(new OrderedRoutingStrategy(), [Endpoint("c", 1, 2, priority: 5), Endpoint("a", 1, 0, priority: 5), Endpoint("b", 1, 1, priority: -1)]);

        Assert.Equal(["b", "a", "c"], order.Select(e => e.Name));
    }

    [Fact]
    public void Selector_CoolingEndpoints_GoLastSoonestRecoveryFirst()
    {
        RouterEndpoint a = Endpoint("a", 1, 0);
        RouterEndpoint b = Endpoint("b", 1, 1);
        RouterEndpoint c = Endpoint("c", 1, 2);
        RouterEndpoint d = Endpoint("d", 1, 3);
        long now = _time.GetTimestamp();
        _ = a.Cooldown.ExtendTo(now + 5_000);
        _ = b.Cooldown.ExtendTo(now + 1_000);

        RouterEndpoint[] order = Plan(new OrderedRoutingStrategy(), [a, b, c, d]);

        Assert.Equal(["c", "d", "b", "a"], order.Select(e => e.Name));
    }

    [Fact]
    public void Selector_EveryEndpointCoolingDown_StillOffersThemAll()
    {
        RouterEndpoint a = Endpoint("a", 1, 0);
        long now = _time.GetTimestamp();
        _ = a.Cooldown.ExtendTo(now + 5_000);

        Assert.Equal(["a"], Plan(new OrderedRoutingStrategy(), [a]).Select(e => e.Name));
    }

    private RouterEndpoint[] Plan(IRoutingStrategy strategy, RouterEndpoint[] endpoints)
    {
        var runtime = new RouterRuntime(new LlmRouterOptions { Randomizer = () => 0.5 }, _time, new FailureClassifierChain([], _time), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var selector = new CandidateSelector(endpoints, runtime, () => strategy);
        Task<RoutedRequest> request = selector.SelectAsync(RouterFactory.Hello(), null, streaming: false, TestContext.Current.CancellationToken).AsTask();
        Assert.True(request.IsCompletedSuccessfully); // planning is synchronous unless every candidate is open
        return request.Result.Candidates;
    }

    private static RouterEndpoint Endpoint(string name, double weight, int index, int priority = 0) =>
        new(name, new ScriptedChatClient(name), new EndpointOptions { Weight = weight, Priority = priority }, index, ownsClient: false);
}
