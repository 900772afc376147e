using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Caching;

/// <summary>Identical requests in flight at once make one upstream call, and share its answer, its error, but not each other's cancellation.</summary>
public sealed class SingleFlightTests
{
    private const int Callers = 100;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Starts <see cref="Callers"/> identical requests while the endpoint holds its calls; returns once the one call reached it.</summary>
    private static async Task<Task<ChatResponse>[]> StartAsync(RouterChatClient router, CountingChatClient endpoint, CancellationToken[]? tokens = null)
    {
        endpoint.Hold();

        // The requests join the flight synchronously: each call returns only once it waits on the shared answer.
        Task<ChatResponse>[] requests = [.. Enumerable.Range(0, Callers).Select(i => router.GetResponseAsync(RouterFactory.Hello(), null, tokens?[i] ?? Ct))];
        Assert.True(await CacheRouter.EventuallyAsync(() => endpoint.Entered >= 1, TimeSpan.FromSeconds(10)), "the shared call never reached the endpoint");
        Assert.Equal(1, endpoint.Calls);
        return requests;
    }

    [Fact]
    public async Task HundredConcurrentIdenticalRequests_MakeOneCall_EveryoneGetsTheAnswer_OneMissAndCoalescedRest()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));
        using var measurements = new RouterMeasurements(router);

        Task<ChatResponse>[] requests = await StartAsync(router, a);
        a.Release();
        ChatResponse[] responses = await Task.WhenAll(requests);

        Assert.Equal(1, a.Calls);
        Assert.All(responses, r => Assert.Equal("a answer #1", r.Text));
        Assert.Single(responses, r => r.GetRoutingInfo()!.Cache == CacheResult.Miss);
        Assert.Equal(Callers - 1, responses.Count(r => r.GetRoutingInfo()!.Cache == CacheResult.Coalesced));
        Assert.All(responses, r => Assert.Equal("a", r.GetRoutingInfo()!.Endpoint));
        Assert.Equal(1, measurements.Sum("llmrouter.cache.requests", "llmrouter.cache.result", "miss"));
        Assert.Equal(Callers - 1, measurements.Sum("llmrouter.cache.requests", "llmrouter.cache.result", "coalesced"));

        // Each caller has its own copy, down to the contents and the usage.
        Assert.Equal(Callers, responses.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal(Callers, responses.Select(r => (object)r.Messages[0]).Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal(Callers, responses.Select(r => (object)r.Messages[0].Contents[0]).Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal(Callers, responses.Select(r => (object)r.Usage!).Distinct(ReferenceEqualityComparer.Instance).Count());

        ((TextContent)responses[0].Messages[0].Contents[0]).Text = "mutated";
        responses[1].Messages[0].Contents.Clear();
        responses[2].Messages.Clear();
        responses[3].Usage!.InputTokenCount = 999;
        responses[4].GetRoutingInfo()!.Cache = CacheResult.Hit;

        Assert.All(responses.Skip(5), r =>
        {
            Assert.Equal("a answer #1", r.Text);
            Assert.Equal(10, r.Usage!.InputTokenCount);
        });
        Assert.Equal(CacheResult.Coalesced, responses.Skip(5).First(r => r.GetRoutingInfo()!.Cache != CacheResult.Miss).GetRoutingInfo()!.Cache);

        ChatResponse later = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        Assert.Equal(CacheResult.Hit, later.GetRoutingInfo()!.Cache);
        Assert.Equal("a answer #1", later.Text);
        Assert.Equal(10, later.Usage!.InputTokenCount);
        Assert.Equal(1, a.Calls);
    }

    [Fact]
    public async Task SharedCallFails_EveryCallerGetsThatError_AndNothingIsCached()
    {
        HttpRequestException error = RouterFactory.Http(400); // a request error: rethrown as is, neither retried nor failed over
        var a = new CountingChatClient("a") { Failure = call => call == 1 ? error : null };
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        Task<ChatResponse>[] requests = await StartAsync(router, a);
        a.Release();

        foreach (Task<ChatResponse> request in requests)
        {
            HttpRequestException thrown = await Assert.ThrowsAsync<HttpRequestException>(() => request);
            Assert.Same(error, thrown);
        }

        Assert.Equal(1, a.Calls);
        Assert.Equal(0L, router.Cache.MemoryUsage.Entries);

        ChatResponse retry = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        Assert.Equal(CacheResult.Miss, retry.GetRoutingInfo()!.Cache);
        Assert.Equal("a answer #2", retry.Text);
        Assert.Equal(2, a.Calls);
    }

    [Fact]
    public async Task SharedCallFails_EveryCallerIsStillOneLookup_OneMissAndCoalescedRest()
    {
        var a = new CountingChatClient("a") { Failure = call => call == 1 ? RouterFactory.Http(400) : null };
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));
        using var measurements = new RouterMeasurements(router);

        Task<ChatResponse>[] requests = await StartAsync(router, a);
        a.Release();
        foreach (Task<ChatResponse> request in requests)
        {
            _ = await Assert.ThrowsAsync<HttpRequestException>(() => request);
        }

        // As for streams: the cache did its part (a miss, or a shared call) whatever the call's outcome.
        Assert.Equal(1, measurements.Sum("llmrouter.cache.requests", "llmrouter.cache.result", "miss"));
        Assert.Equal(Callers - 1, measurements.Sum("llmrouter.cache.requests", "llmrouter.cache.result", "coalesced"));
    }

    [Fact]
    public async Task CallerCancelsBeforeTheAnswer_ItsLookupIsStillCounted()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));
        using var measurements = new RouterMeasurements(router);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        a.Hold();
        Task<ChatResponse> request = router.GetResponseAsync(RouterFactory.Hello(), null, cancellation.Token);
        Assert.True(await CacheRouter.EventuallyAsync(() => a.Entered >= 1, TimeSpan.FromSeconds(10)), "the call never reached the endpoint");
        await cancellation.CancelAsync();
        _ = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        a.Release();

        Assert.Equal(1, measurements.Sum("llmrouter.cache.requests", "llmrouter.cache.result", "miss"));
        Assert.Equal(1, measurements.Sum("llmrouter.cache.requests"));
    }

    [Theory]
    [InlineData(0)] // the caller that started the shared call
    [InlineData(50)] // a caller that joined it
    public async Task OneCallerCancels_ItAloneGetsOperationCanceled_TheSharedCallGoesOn_TheRestAreServed(int cancelled)
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));
        CancellationTokenSource[] sources = [.. Enumerable.Range(0, Callers).Select(_ => CancellationTokenSource.CreateLinkedTokenSource(Ct))];
        try
        {
            Task<ChatResponse>[] requests = await StartAsync(router, a, [.. sources.Select(s => s.Token)]);

            await sources[cancelled].CancelAsync();
            _ = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => requests[cancelled]);
            Assert.False(a.TokenOf(1).IsCancellationRequested, "the shared call was cancelled with one caller");
            Assert.All(requests.Where((_, i) => i != cancelled), r => Assert.False(r.IsCompleted));

            a.Release();
            ChatResponse[] served = await Task.WhenAll(requests.Where((_, i) => i != cancelled));

            Assert.Equal(1, a.Calls);
            Assert.All(served, r => Assert.Equal("a answer #1", r.Text));
            Assert.Equal(Callers - 1, served.Length);
            Assert.Equal(cancelled == 0 ? 0 : 1, served.Count(r => r.GetRoutingInfo()!.Cache == CacheResult.Miss));

            ChatResponse later = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
            Assert.Equal(CacheResult.Hit, later.GetRoutingInfo()!.Cache);
            Assert.Equal(1, a.Calls);
        }
        finally
        {
            foreach (CancellationTokenSource source in sources)
            {
                source.Dispose();
            }
        }
    }

    [Fact]
    public async Task EveryCallerCancels_TheSharedCallIsCancelled_AndALaterRequestStartsANewCall()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));
        CancellationTokenSource[] sources = [.. Enumerable.Range(0, Callers).Select(_ => CancellationTokenSource.CreateLinkedTokenSource(Ct))];
        try
        {
            Task<ChatResponse>[] requests = await StartAsync(router, a, [.. sources.Select(s => s.Token)]);

            for (int i = 0; i < Callers; i++)
            {
                Assert.False(a.TokenOf(1).IsCancellationRequested, $"the shared call was cancelled with {i} of {Callers} callers gone");
                await sources[i].CancelAsync();
                _ = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => requests[i]);
            }

            Assert.True(a.TokenOf(1).IsCancellationRequested, "the shared call goes on after every caller left");

            a.Release();
            ChatResponse fresh = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);

            Assert.Equal(2, a.Calls);
            Assert.Equal("a answer #2", fresh.Text);
            Assert.Equal(CacheResult.Miss, fresh.GetRoutingInfo()!.Cache);
        }
        finally
        {
            foreach (CancellationTokenSource source in sources)
            {
                source.Dispose();
            }
        }
    }

    [Fact]
    public async Task DifferentRequestsInFlight_AreNotCoalesced()
    {
        var a = new CountingChatClient("a");
        a.Hold();
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        Task<ChatResponse> one = router.GetResponseAsync(CacheRouter.Prompt("one"), cancellationToken: Ct);
        Task<ChatResponse> two = router.GetResponseAsync(CacheRouter.Prompt("two"), cancellationToken: Ct);
        Assert.True(await CacheRouter.EventuallyAsync(() => a.Entered == 2, TimeSpan.FromSeconds(10)));
        a.Release();

        Assert.NotEqual((await one).Text, (await two).Text);
        Assert.Equal(CacheResult.Miss, (await one).GetRoutingInfo()!.Cache);
        Assert.Equal(CacheResult.Miss, (await two).GetRoutingInfo()!.Cache);
    }

    [Fact]
    public async Task CoalescedCallers_OfAnUncopyableAnswer_StillGetTheirOwnResponse()
    {
        var a = new CountingChatClient("a", answer: n => new ChatResponse(new ChatMessage(ChatRole.Assistant, [new TextContent($"#{n}"), new ErrorContent("a note")]))
        {
            FinishReason = ChatFinishReason.Stop,
        });
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        Task<ChatResponse>[] requests = await StartAsync(router, a);
        a.Release();
        ChatResponse[] responses = await Task.WhenAll(requests);

        Assert.Equal(1, a.Calls);
        Assert.All(responses, r => Assert.Equal("#1", r.Text));
        Assert.Equal(Callers, responses.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Single(responses, r => r.GetRoutingInfo()!.Cache == CacheResult.Miss);
    }
}
