using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.Affinity;

/// <summary>
/// Provider-held state: a request carrying a ConversationId or a ContinuationToken goes to the endpoint that issued it
/// and nowhere else, says so, and is never cached.
/// </summary>
public sealed class ProviderStatePinningTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 4, 9, 0, 0, TimeSpan.Zero));
    private readonly SwitchableChatClient _a = new("a");
    private readonly SwitchableChatClient _b = new("b") { ConversationId = "conv-b" };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ChatOptions Only(string endpoint) => new ChatOptions().WithRouting(r => r.OnlyEndpoints = [endpoint]);

    [Fact]
    public async Task ConversationIdIssuedByB_NextRequestGoesToB_EvenThoughAScoresBetter()
    {
        using RouterChatClient router = Create(o => o.Strategy = RoutingStrategy.Score); // a is ten times cheaper
        ChatResponse issued = await router.GetResponseAsync(RouterFactory.Hello(), Only("b"), Ct);
        Assert.Equal("conv-b", issued.ConversationId);

        ChatResponse pinned = await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "conv-b" }, Ct);

        RoutingInfo info = pinned.GetRoutingInfo()!;
        Assert.Equal("b", info.Endpoint);
        Assert.Equal("a", (await router.GetResponseAsync(RouterFactory.Hello(), null, Ct)).GetRoutingInfo()!.Endpoint); // without the id, a wins
        EndpointExclusion excluded = Assert.Single(info.Excluded);
        Assert.Equal(("a", ExclusionReason.ProviderState), (excluded.Endpoint, excluded.Reason));
        Assert.Contains("'b'", excluded.Detail, StringComparison.Ordinal);
        Assert.Contains("pinned to the endpoint that issued the request's ConversationId", info.Reason, StringComparison.Ordinal);
        Assert.Equal("conv-b", _b.LastOptions?.ConversationId); // forwarded: the provider continues its conversation
        Assert.Equal(1, _a.Calls); // the plain request only
        Assert.Equal(1, router.GetAffinityStatistics().ProviderStateIds);
    }

    [Fact]
    public async Task PinnedEndpointFails_TheRequestFails_NeverMovingToA()
    {
        using RouterChatClient router = Create(o => o.Health.FailureThreshold = 100);
        _ = await router.GetResponseAsync(RouterFactory.Hello(), Only("b"), Ct);
        _b.Failing = true;

        AllEndpointsFailedException exception = await Assert.ThrowsAsync<AllEndpointsFailedException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "conv-b" }, Ct));

        Assert.NotEmpty(exception.Attempts);
        Assert.All(exception.Attempts, attempt => Assert.Equal("b", attempt.Endpoint));
        Assert.Equal(0, _a.Calls);
    }

    [Fact]
    public async Task PinnedEndpointFails_TheExceptionNamesTheProviderStateExclusion()
    {
        using RouterChatClient router = Create(o => o.Health.FailureThreshold = 100);
        _ = await router.GetResponseAsync(RouterFactory.Hello(), Only("b"), Ct);
        _b.Failing = true;

        AllEndpointsFailedException exception = await Assert.ThrowsAsync<AllEndpointsFailedException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "conv-b" }, Ct));

        Assert.Contains("Not tried: a excluded by ProviderState (the request continues state held by 'b')", exception.Message, StringComparison.Ordinal);
        EndpointExclusion excluded = Assert.Single(exception.Exclusions);
        Assert.Equal(("a", ExclusionReason.ProviderState), (excluded.Endpoint, excluded.Reason));
    }

    [Fact]
    public async Task PinnedEndpointOpen_NoEndpointAvailableNamesItsStateAndTheProviderStateExclusion()
    {
        using RouterChatClient router = Create(o => { o.Health.FailureThreshold = 1; o.Health.AllOpenMaxWait = TimeSpan.Zero; });
        _ = await router.GetResponseAsync(RouterFactory.Hello(), Only("b"), Ct);
        _b.Failing = true;
        _ = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => router.GetResponseAsync(RouterFactory.Hello(), Only("b"), Ct));
        Assert.Equal(HealthState.Open, RouterDriver.Snapshot(router, "b").Health);
        int bCalls = _b.Calls;

        NoEndpointAvailableException exception = await Assert.ThrowsAsync<NoEndpointAvailableException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "conv-b" }, Ct));

        Assert.Contains("b", exception.Message, StringComparison.Ordinal);
        Assert.Contains("open", exception.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(exception.Exclusions, e => e is { Endpoint: "a", Reason: ExclusionReason.ProviderState });
        Assert.Equal(bCalls, _b.Calls);
        Assert.Equal(0, _a.Calls);
    }

    [Fact]
    public async Task PinnedStream_BreakingMidway_IsNeitherContinuedNorHedgedOnA()
    {
        using RouterChatClient router = Create(o =>
        {
            o.Streaming.MidStreamPolicy = MidStreamPolicy.Continue;
            o.Hedging.Enabled = true;
            o.Health.FailureThreshold = 100;
        });
        _ = await router.GetResponseAsync(RouterFactory.Hello(), Only("b"), Ct);
        _b.Failing = true; // its streams fail after their first chunk

        var text = new System.Text.StringBuilder();
        Exception exception = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "conv-b" }, Ct))
            {
                _ = text.Append(update.Text);
            }
        });

        Assert.Equal("b", text.ToString()); // b's first chunk, and nothing from a
        Assert.Equal(0, _a.Calls);
        Assert.IsAssignableFrom<LlmRouterException>(exception);
    }

    [Fact]
    public async Task UnknownConversationId_ExactlyOneEndpointTried_NoFallbacks()
    {
        using RouterChatClient router = Create(o => o.Health.FailureThreshold = 100);

        RoutingInfo served = (await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "issued-elsewhere" }, Ct)).GetRoutingInfo()!;
        Assert.Equal("a", served.Endpoint);
        Assert.Contains("not issued through this router", served.Reason, StringComparison.Ordinal);

        _a.Failing = true;
        AllEndpointsFailedException exception = await Assert.ThrowsAsync<AllEndpointsFailedException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "issued-elsewhere" }, Ct));

        Assert.All(exception.Attempts, attempt => Assert.Equal("a", attempt.Endpoint));
        Assert.Equal(0, _b.Calls);
    }

    [Fact]
    public async Task StreamedUpdateCarryingConversationId_IsRemembered()
    {
        _b.ConversationId = "stream-b";
        using RouterChatClient router = Create(null);
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), Only("b"), Ct))
        {
            _ = update;
        }

        RoutingInfo info = (await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "stream-b" }, Ct)).GetRoutingInfo()!;

        Assert.Equal("b", info.Endpoint);
        Assert.Contains(info.Excluded, e => e is { Endpoint: "a", Reason: ExclusionReason.ProviderState });

        // Streaming continuations are pinned too.
        int aCalls = _a.Calls;
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "stream-b" }, Ct))
        {
            _ = update;
        }

        Assert.Equal(aCalls, _a.Calls);
    }

    [Fact]
    public async Task ContinuationToken_IsPinnedToTheEndpointThatIssuedIt()
    {
        _b.ConversationId = null;
        _b.ContinuationToken = ResponseContinuationToken.FromBytes(new byte[] { 7, 1, 2, 3 });
        using RouterChatClient router = Create(null);
        _ = await router.GetResponseAsync(RouterFactory.Hello(), Only("b"), Ct);

        // A token equal by its bytes, as a caller gets back after serialising it.
        var options = new ChatOptions { ContinuationToken = ResponseContinuationToken.FromBytes(new byte[] { 7, 1, 2, 3 }) };
        RoutingInfo info = (await router.GetResponseAsync(RouterFactory.Hello(), options, Ct)).GetRoutingInfo()!;

        Assert.Equal("b", info.Endpoint);
        Assert.Contains("ContinuationToken", info.Reason, StringComparison.Ordinal);
        Assert.Contains(info.Excluded, e => e is { Endpoint: "a", Reason: ExclusionReason.ProviderState });
        Assert.Equal(0, _a.Calls);

        _b.Failing = true;
        _ = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => router.GetResponseAsync(RouterFactory.Hello(), options, Ct));
        Assert.Equal(0, _a.Calls);
    }

    [Fact]
    public async Task IssuedIds_StayWithinMaxConversations_AndExpireAfterProviderStateTimeToLive()
    {
        using RouterChatClient router = Create(o => { o.Affinity.MaxConversations = 100; o.Affinity.ProviderStateTimeToLive = TimeSpan.FromHours(1); });
        int largest = 0;
        for (int i = 0; i < 2_000; i++)
        {
            _b.ConversationId = $"conv-{i}";
            _ = await router.GetResponseAsync(RouterFactory.Hello(), Only("b"), Ct);
            largest = Math.Max(largest, router.GetAffinityStatistics().ProviderStateIds);
        }

        Assert.True(largest <= 100, $"{largest} ids remembered, above MaxConversations");
        Assert.Equal("b", (await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "conv-1999" }, Ct)).GetRoutingInfo()!.Endpoint);

        // Past its time to live the id is unknown: first choice only, and the plan says why.
        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        RoutingInfo expired = (await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "conv-1999" }, Ct)).GetRoutingInfo()!;
        Assert.Equal("a", expired.Endpoint);
        Assert.Contains("not issued through this router", expired.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PinnedRequests_AreNotCached_EvenWithTheCacheOn()
    {
        using RouterChatClient router = Create(o => o.Cache.Enabled = true);
        _ = await router.GetResponseAsync(RouterFactory.Hello(), Only("b"), Ct);
        _ = await router.GetResponseAsync(RouterFactory.Hello(), Only("b"), Ct);
        Assert.Equal(1, _b.Calls); // the cache is on: the same plain request is answered from it

        int before = _b.Calls;
        ChatResponse first = await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "conv-b" }, Ct);
        ChatResponse second = await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ConversationId = "conv-b" }, Ct);

        Assert.Equal(before + 2, _b.Calls);
        Assert.NotEqual(CacheResult.Hit, first.GetRoutingInfo()!.Cache);
        Assert.NotEqual(CacheResult.Hit, second.GetRoutingInfo()!.Cache);
    }

    /// <summary>An ordered router: a leads every plan (and scores no worse), b issues the conversation ids.</summary>
    private RouterChatClient Create(Action<LlmRouterOptions>? configure) =>
        RouterFactory.Create(
            _time,
            o =>
            {
                o.Strategy = RoutingStrategy.Ordered;
                o.Retry.BaseDelay = TimeSpan.Zero;
                o.Retry.MaxDelay = TimeSpan.Zero;
                configure?.Invoke(o);
            },
            null,
            ("a", _a, e => e.InputCostPerMillionTokens = 1m),
            ("b", _b, e => e.InputCostPerMillionTokens = 10m));
}
