using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Failover;

public sealed class FailoverTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task GetResponse_FirstEndpointAnswers_ServesFromItAlone()
    {
        var a = new ScriptedChatClient("a").Answers("from a");
        var b = new ScriptedChatClient("b").Answers("from b");
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("from a", response.Text);
        Assert.Equal(0, b.Calls);
        RoutingInfo info = Assert.IsType<RoutingInfo>(response.GetRoutingInfo());
        Assert.Equal("a", info.Endpoint);
        Assert.False(info.FailedOver);
        Assert.Null(Assert.Single(info.Attempts).Failure);
    }

    [Fact]
    public async Task GetResponse_OrderedByPriority_LowestPriorityFirstThenRegistrationOrder()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(401));
        var b = new ScriptedChatClient("b").Throws(RouterFactory.Http(401));
        var c = new ScriptedChatClient("c").Answers("from c");
        using RouterChatClient router = RouterFactory.Create(
            _time, null, null, ("a", a, e => e.Priority = 2), ("b", b, e => e.Priority = 1), ("c", c, e => e.Priority = 2));

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(["b", "a", "c"], response.GetRoutingInfo()!.Attempts.Select(x => x.Endpoint));
        Assert.True(response.GetRoutingInfo()!.FailedOver);
    }

    [Fact]
    public async Task GetResponse_Transient_RetriesSameEndpointAfterJitteredBackoffThenFailsOver()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(500)).Throws(RouterFactory.Http(503));
        var b = new ScriptedChatClient("b").Answers("from b");
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Randomizer = () => 0.25, a, b);
        Task backoff = _time.WhenTimerCreated(TimeSpan.FromMilliseconds(50)); // 0.25 × 200 ms

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        await backoff;
        Assert.False(call.IsCompleted);
        Assert.Equal(1, a.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(49));
        Assert.Equal(1, a.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        ChatResponse response = await call;

        Assert.Equal("from b", response.Text);
        Assert.Equal(2, a.Calls);
        Assert.Equal(
            [("a", FailureKind.Transient), ("a", FailureKind.Transient), ("b", (FailureKind?)null)],
            response.GetRoutingInfo()!.Attempts.Select(x => (x.Endpoint, x.Failure)));
    }

    [Fact]
    public async Task GetResponse_RateLimitedWithRetryAfterWithinCap_FailsOverFirstThenWaitsAndRetries()
    {
        var a = new ScriptedChatClient("a").Throws(RateLimited(TimeSpan.FromSeconds(3))).Answers("from a");
        var b = new ScriptedChatClient("b").Throws(RouterFactory.Http(500), always: true);
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Retry.MaxRetriesPerEndpoint = 1, a, b);
        Task backoffOfB = _time.WhenTimerCreated(TimeSpan.FromMilliseconds(100));
        Task retryAfterOfA = _time.WhenTimerCreated(TimeSpan.FromMilliseconds(2900));

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        // b is tried (and retried once after 100 ms) while a waits out the rest of its 3 s Retry-After.
        await backoffOfB;
        _time.Advance(TimeSpan.FromMilliseconds(100));
        await retryAfterOfA;
        Assert.Equal(1, a.Calls);
        Assert.Equal(2, b.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(2899));
        Assert.Equal(1, a.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        ChatResponse response = await call;

        Assert.Equal("from a", response.Text);
        Assert.Equal(
            ["a", "b", "b", "a"],
            response.GetRoutingInfo()!.Attempts.Select(x => x.Endpoint));
        Assert.Equal(TimeSpan.FromSeconds(3), response.GetRoutingInfo()!.Attempts[0].RetryAfter);
    }

    [Fact]
    public async Task GetResponse_RateLimitedAlone_WaitsExactlyRetryAfter()
    {
        var a = new ScriptedChatClient("a").Throws(RateLimited(TimeSpan.FromSeconds(2))).Answers("from a");
        using RouterChatClient router = RouterFactory.Create(_time, null, a);
        Task wait = _time.WhenTimerCreated(TimeSpan.FromSeconds(2));

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        await wait;
        _time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.Equal(1, a.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal("from a", (await call).Text);
    }

    [Fact]
    public async Task GetResponse_RetryAfterAboveCap_DoesNotWaitAndCoolsTheEndpointDown()
    {
        var a = new ScriptedChatClient("a").Throws(RateLimited(TimeSpan.FromSeconds(60))).Answers("a again", always: true);
        var b = new ScriptedChatClient("b").Answers("from b", always: true);
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Retry.MaxRetryAfter = TimeSpan.FromSeconds(10), a, b);

        ChatResponse first = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        ChatResponse second = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromSeconds(60));
        ChatResponse third = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("from b", first.Text);
        Assert.DoesNotContain(TimeSpan.FromSeconds(60), _time.TimersCreated);
        Assert.Equal("from b", second.Text); // a is cooling down: b goes first
        Assert.Equal("b", second.GetRoutingInfo()!.Attempts[0].Endpoint);
        Assert.Equal("a again", third.Text); // cool-down over
    }

    [Fact]
    public async Task GetResponse_RetryAfterAboveMaxCooldown_CoolsDownOnlyForTheCap()
    {
        var a = new ScriptedChatClient("a").Throws(RateLimited(TimeSpan.FromHours(5))).Answers("a again", always: true);
        var b = new ScriptedChatClient("b").Answers("from b", always: true);
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Health.MaxRateLimitCooldown = TimeSpan.FromMinutes(1), a, b);

        _ = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromMinutes(1));
        ChatResponse after = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("a again", after.Text);
    }

    [Fact]
    public async Task GetResponse_AttemptTimeout_FailsOverAsTimeoutWithoutRetryingTheSlowEndpoint()
    {
        var a = new ScriptedChatClient("a").Hangs(always: true);
        var b = new ScriptedChatClient("b").Answers("from b");
        using RouterChatClient router = RouterFactory.Create(
            _time, null, null, ("a", a, e => e.AttemptTimeout = TimeSpan.FromSeconds(5)), ("b", b, null));
        Task armed = _time.WhenTimerCreated(TimeSpan.FromSeconds(5));

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        await armed;
        _time.Advance(TimeSpan.FromSeconds(5));
        ChatResponse response = await call;

        Assert.Equal("from b", response.Text);
        Assert.Equal(1, a.Calls);
        Assert.Equal(FailureKind.Timeout, response.GetRoutingInfo()!.Attempts[0].Failure);
    }

    [Fact]
    public async Task GetResponse_ClientIgnoresTheTokenPastTheAttemptTimeout_FailsOverAfterTheGrace()
    {
        // Found by StreamFuzzTests: a client that ignored the token held the request forever.
        var release = new TaskCompletionSource();
        var a = new ScriptedChatClient("a").HangsIgnoringCancellation(release.Task);
        var b = new ScriptedChatClient("b").Answers("from b");
        using RouterChatClient router = RouterFactory.Create(
            _time, null, null, ("a", a, e => e.AttemptTimeout = TimeSpan.FromSeconds(5)), ("b", b, null));
        Task armed = _time.WhenTimerCreated(TimeSpan.FromSeconds(5));

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        await armed;
        _time.Advance(TimeSpan.FromSeconds(5)); // the timeout fires, and with it the grace starts
        Assert.False(call.IsCompleted);
        _time.Advance(GuardedStream.Grace);
        ChatResponse response = await call.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        release.SetResult();

        Assert.Equal("from b", response.Text);
        Assert.Equal(FailureKind.Timeout, response.GetRoutingInfo()!.Attempts[0].Failure);
    }

    [Fact]
    public async Task GetResponse_CallerCancels_StopsAtOnceWithoutFailover()
    {
        var a = new ScriptedChatClient("a").Hangs();
        var b = new ScriptedChatClient("b").Answers("from b");
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);
        using var cts = new CancellationTokenSource();

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task GetResponse_CallerCancelsDuringBackoff_StopsWithoutAnotherAttempt()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(500), always: true);
        using RouterChatClient router = RouterFactory.Create(_time, null, a);
        using var cts = new CancellationTokenSource();
        Task backoff = _time.WhenTimerCreated(TimeSpan.FromMilliseconds(100));

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: cts.Token);
        await backoff;
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(1, a.Calls);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(422)]
    public async Task GetResponse_BadRequest_NeitherRetriesNorFailsOverAndRethrowsTheProviderError(int status)
    {
        HttpRequestException error = RouterFactory.Http(status);
        var a = new ScriptedChatClient("a").Throws(error);
        var b = new ScriptedChatClient("b").Answers("from b");
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);

        HttpRequestException thrown = await Assert.ThrowsAsync<HttpRequestException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Same(error, thrown);
        Assert.Equal(1, a.Calls);
        Assert.Equal(0, b.Calls);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    public async Task GetResponse_AuthFailure_FailsOverWithoutRetryAndCoolsDownLong(int status)
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(status)).Answers("a fixed", always: true);
        var b = new ScriptedChatClient("b").Answers("from b", always: true);
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Health.AuthFailureCooldown = TimeSpan.FromMinutes(10), a, b);

        ChatResponse first = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromMilliseconds(1));
        ChatResponse during = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        ChatResponse after = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("from b", first.Text);
        Assert.Equal(FailureKind.Auth, first.GetRoutingInfo()!.Attempts[0].Failure);
        Assert.Equal("from b", during.Text);
        Assert.Equal("a fixed", after.Text);
        Assert.Equal(2, a.Calls);
    }

    [Fact]
    public async Task GetResponse_ContentFilter_FailsOverOnlyToContentFallbacks()
    {
        var a = new ScriptedChatClient("a").Throws(new HttpRequestException("content_filter triggered", null, System.Net.HttpStatusCode.BadRequest));
        var b = new ScriptedChatClient("b").Answers("from b");
        var c = new ScriptedChatClient("c").Answers("from c");
        using RouterChatClient router = RouterFactory.Create(
            _time, null, null, ("a", a, null), ("b", b, null), ("c", c, e => e.IsContentFilterFallback = true));

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("from c", response.Text);
        Assert.Equal(0, b.Calls);
        Assert.Equal(FailureKind.ContentFilter, response.GetRoutingInfo()!.Attempts[0].Failure);
    }

    [Fact]
    public async Task GetResponse_ContentFilterWithoutFallback_RethrowsTheProviderError()
    {
        var error = new HttpRequestException("content_filter triggered", null, System.Net.HttpStatusCode.BadRequest);
        var a = new ScriptedChatClient("a").Throws(error);
        var b = new ScriptedChatClient("b").Answers("from b");
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);

        Assert.Same(error, await Assert.ThrowsAsync<HttpRequestException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken)));
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task GetResponse_ResponseRefusedByContentFilter_IsServedByAFallbackWhenOneExists()
    {
        var a = new ScriptedChatClient("a").Then(ScriptedChatClient.ScriptStep.Answer("I can't") with { FinishReason = ChatFinishReason.ContentFilter });
        var b = new ScriptedChatClient("b").Answers("from b");
        using RouterChatClient router = RouterFactory.Create(_time, null, null, ("a", a, null), ("b", b, e => e.IsContentFilterFallback = true));

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("from b", response.Text);
        RoutingAttempt refused = response.GetRoutingInfo()!.Attempts[0];
        Assert.Equal(FailureKind.ContentFilter, refused.Failure);
        Assert.Null(refused.Exception);
    }

    [Fact]
    public async Task GetResponse_ResponseRefusedWithoutFallback_IsReturnedAsItIs()
    {
        var a = new ScriptedChatClient("a").Then(ScriptedChatClient.ScriptStep.Answer("I can't") with { FinishReason = ChatFinishReason.ContentFilter });
        var b = new ScriptedChatClient("b").Answers("from b");
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("I can't", response.Text);
        Assert.Equal(ChatFinishReason.ContentFilter, response.FinishReason);
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task GetResponse_ContextLength_FailsOverOnlyToLargerWindows()
    {
        var a = new ScriptedChatClient("a").Throws(new HttpRequestException("context_length_exceeded", null, System.Net.HttpStatusCode.BadRequest));
        var small = new ScriptedChatClient("small").Answers("from small");
        var unknown = new ScriptedChatClient("unknown").Answers("from unknown");
        var large = new ScriptedChatClient("large").Answers("from large");
        using RouterChatClient router = RouterFactory.Create(
            _time,
            null,
            null,
            ("a", a, e => e.ContextWindowTokens = 8_000),
            ("small", small, e => e.ContextWindowTokens = 4_000),
            ("unknown", unknown, null),
            ("large", large, e => e.ContextWindowTokens = 128_000));

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("from large", response.Text);
        Assert.Equal(0, small.Calls);
        Assert.Equal(0, unknown.Calls);
        Assert.Equal(FailureKind.ContextLength, response.GetRoutingInfo()!.Attempts[0].Failure);
    }

    [Fact]
    public async Task GetResponse_EveryEndpointFails_ThrowsAllEndpointsFailedListingEveryAttempt()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(401));
        var b = new ScriptedChatClient("b").Throws(new TimeoutException("slow"));
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);

        AllEndpointsFailedException error = await Assert.ThrowsAsync<AllEndpointsFailedException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal([("a", FailureKind.Auth), ("b", FailureKind.Timeout)], error.Attempts.Select(x => (x.Endpoint, x.Failure!.Value)));
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Contains("a: Auth", error.Message, StringComparison.Ordinal);
        Assert.Contains("b: Timeout", error.Message, StringComparison.Ordinal);
        Assert.All(error.Attempts, x => Assert.NotNull(x.Exception));
    }

    [Fact]
    public async Task GetResponse_MaxAttempts_BoundsAttemptsAcrossRetriesAndEndpoints()
    {
        var endpoints = Enumerable.Range(0, 5).Select(i => new ScriptedChatClient($"e{i}").Throws(new TimeoutException(), always: true)).ToArray();
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Retry.MaxAttempts = 3, endpoints);

        AllEndpointsFailedException error = await Assert.ThrowsAsync<AllEndpointsFailedException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(3, error.Attempts.Count);
        Assert.Equal(0, endpoints[3].Calls + endpoints[4].Calls);
    }

    [Fact]
    public async Task GetResponse_OneShotMessageSequence_IsReplayedIdenticallyOnFailover()
    {
        var a = new RecordingClient(RouterFactory.Http(401));
        var b = new RecordingClient(null);
        using RouterChatClient router = RouterFactory.Create(_time, null, null, ("a", a, null), ("b", b, null));

        _ = await router.GetResponseAsync(OneShot(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(["hello"], a.Seen.Select(m => m.Text));
        Assert.Equal(["hello"], b.Seen.Select(m => m.Text));

        static IEnumerable<ChatMessage> OneShot()
        {
            yield return new ChatMessage(ChatRole.User, "hello");
        }
    }

    [Fact]
    public void Backoff_FullJitter_StaysWithinTheExponentialCeiling()
    {
        TimeSpan baseDelay = TimeSpan.FromMilliseconds(200);
        TimeSpan max = TimeSpan.FromSeconds(1);

        Assert.Equal(TimeSpan.Zero, Backoff.FullJitter(0, baseDelay, max, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(100), Backoff.FullJitter(0, baseDelay, max, 0.5));
        Assert.Equal(TimeSpan.FromMilliseconds(200), Backoff.FullJitter(1, baseDelay, max, 0.5));
        Assert.Equal(TimeSpan.FromMilliseconds(400), Backoff.FullJitter(2, baseDelay, max, 0.5));
        Assert.Equal(TimeSpan.FromMilliseconds(500), Backoff.FullJitter(5, baseDelay, max, 0.5)); // capped at 1 s × 0.5
        Assert.Equal(TimeSpan.FromMilliseconds(500), Backoff.FullJitter(int.MaxValue, baseDelay, max, 0.5));

        var random = new Random(42);
        for (int retry = 0; retry < 10; retry++)
        {
            double ceiling = Math.Min(1000, 200 * Math.Pow(2, retry));
            TimeSpan delay = Backoff.FullJitter(retry, baseDelay, max, random.NextDouble());
            Assert.InRange(delay.TotalMilliseconds, 0, ceiling);
        }
    }

    [Fact]
    public void Cooldown_DeadlinesOnlyMoveLater()
    {
        var cooldown = new EndpointCooldown();

        Assert.True(cooldown.ExtendTo(1_000));
        Assert.False(cooldown.ExtendTo(500));
        Assert.Equal(1_000, cooldown.Deadline);
        Assert.True(cooldown.ExtendTo(2_000));
        Assert.True(cooldown.IsCoolingDown(1_999));
        Assert.False(cooldown.IsCoolingDown(2_000));
    }

    [Fact]
    public async Task Cooldown_ConcurrentExtensions_KeepTheLatestDeadline()
    {
        var cooldown = new EndpointCooldown();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (long i = 0; i < 10_000; i++)
            {
                _ = cooldown.ExtendTo((i * 8) + t);
            }
        })));

        Assert.Equal((9_999 * 8) + 7, cooldown.Deadline);
    }

    private static System.ClientModel.ClientResultException RateLimited(TimeSpan retryAfter) =>
        new(new FakePipelineResponse(429, "{}", ("retry-after-ms", retryAfter.TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture))));

    private sealed class RecordingClient(Exception? error) : IChatClient
    {
        public List<ChatMessage> Seen { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Seen.AddRange(messages);
            return error is null ? Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok"))) : Task.FromException<ChatResponse>(error);
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
