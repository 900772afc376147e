using System.ClientModel;
using System.ClientModel.Primitives;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAiChatClient = OpenAI.Chat.ChatClient;

namespace LlmRouter.Tests.Integration;

/// <summary>
/// The router over the real OpenAI SDK (through Microsoft.Extensions.AI.OpenAI) talking HTTP to a loopback Kestrel
/// server: the exceptions, status codes and headers the classifier sees are the SDK's own, not hand-made fakes.
/// </summary>
/// <remarks>
/// Waits go through <see cref="ObservableFakeTimeProvider"/>: a test registers the wait timer it expects before it
/// starts the request, awaits its creation, then advances the fake clock. The SDK's own retries are off, as they must
/// be under the router, so each router attempt is exactly one HTTP request.
/// </remarks>
public sealed class OpenAiSdkLoopbackTests
{
    // A safety net for a test that would otherwise hang (a wait that never comes, a request never answered).
    private const int TestTimeoutMs = 30_000;

    private static readonly TimeSpan AttemptTimeout = new LlmRouterOptions().AttemptTimeout;

    [Fact(Timeout = TestTimeoutMs)]
    public async Task OpenAiSdk_ServerAnswers500Then200_RouterRetriesSameEndpointAndSucceeds()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using LoopbackOpenAiServer server = await LoopbackOpenAiServer.StartAsync(ct);
        _ = server.Fails(500, "The server had an error while processing your request.", "server_error").Answers("hello");
        var time = new ObservableFakeTimeProvider();
        using RouterChatClient router = RouterFactory.Create(
            time, o => o.Retry.BaseDelay = TimeSpan.FromMilliseconds(200), null, ("primary", OpenAiSdkClient(server), null));

        // Full jitter with the factory's randomizer of 0.5: the first retry waits 0.5 * 200 ms.
        TimeSpan backoff = TimeSpan.FromMilliseconds(100);
        Task backoffTimer = time.WhenTimerCreated(backoff);
        Task<ChatResponse> request = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: ct);
        await backoffTimer.WaitAsync(ct);

        Assert.Equal(1, server.RequestCount);
        Assert.False(request.IsCompleted);
        time.Advance(backoff);
        ChatResponse response = await request;

        Assert.Equal("hello", response.Text);
        Assert.Equal(2, server.RequestCount);
        Assert.Equal(0, server.UnscriptedCount);
        RoutingInfo info = Assert.IsType<RoutingInfo>(response.GetRoutingInfo());
        Assert.Equal("primary", info.Endpoint);
        Assert.Collection(
            info.Attempts,
            first =>
            {
                Assert.Equal("primary", first.Endpoint);
                Assert.Equal(FailureKind.Transient, first.Failure);
                ClientResultException exception = Assert.IsType<ClientResultException>(first.Exception);
                Assert.Equal(500, exception.Status);
                Assert.Null(first.RetryAfter);
            },
            second =>
            {
                Assert.Equal("primary", second.Endpoint);
                Assert.Null(second.Failure);
                Assert.Null(second.Exception);
            });
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task OpenAiSdk_429WithRetryAfterMs_RouterWaitsThatLongThenRetries()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using LoopbackOpenAiServer server = await LoopbackOpenAiServer.StartAsync(ct);
        _ = server
            .Fails(429, "Rate limit reached for gpt-4o-mini on requests per min (RPM).", "requests", "rate_limit_exceeded", ("retry-after-ms", "1500"))
            .Answers("after the wait");
        var time = new ObservableFakeTimeProvider();
        using RouterChatClient router = RouterFactory.Create(
            time, o => o.Retry.BaseDelay = TimeSpan.FromMilliseconds(200), null, ("primary", OpenAiSdkClient(server), null));

        TimeSpan retryAfter = TimeSpan.FromMilliseconds(1500);
        DateTimeOffset started = time.GetUtcNow();
        Task waitTimer = time.WhenTimerCreated(retryAfter);
        Task<ChatResponse> request = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: ct);
        await waitTimer.WaitAsync(ct);

        // The router now waits on a 1.5 s timer, and nothing else lets it go on.
        Assert.Equal(1, server.RequestCount);
        Assert.False(request.IsCompleted);
        time.Advance(retryAfter);
        ChatResponse response = await request;

        Assert.Equal("after the wait", response.Text);
        Assert.Equal(2, server.RequestCount);
        Assert.Equal(retryAfter, time.GetUtcNow() - started);

        // The provider's wait replaced the (shorter) backoff: the only timers are the wait and the attempt timeouts.
        Assert.Equal([AttemptTimeout, retryAfter, AttemptTimeout], time.TimersCreated);

        RoutingInfo info = Assert.IsType<RoutingInfo>(response.GetRoutingInfo());
        Assert.Equal(2, info.Attempts.Count);
        Assert.Equal(FailureKind.RateLimited, info.Attempts[0].Failure);
        Assert.Equal(retryAfter, info.Attempts[0].RetryAfter);
        Assert.Equal(429, Assert.IsType<ClientResultException>(info.Attempts[0].Exception).Status);
        Assert.Null(info.Attempts[1].Failure);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task OpenAiSdk_429WithRetryAfterAboveCap_FailsOverToSecondEndpointAtOnce()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using LoopbackOpenAiServer first = await LoopbackOpenAiServer.StartAsync(ct);
        await using LoopbackOpenAiServer second = await LoopbackOpenAiServer.StartAsync(ct);
        _ = first.Fails(429, "You exceeded your current quota.", "requests", "rate_limit_exceeded", ("retry-after", "30"));
        _ = second.Answers("from the second");
        var time = new ObservableFakeTimeProvider();
        using RouterChatClient router = RouterFactory.Create(
            time, null, null, ("first", OpenAiSdkClient(first), null), ("second", OpenAiSdkClient(second), null));

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: ct);

        Assert.Equal("from the second", response.Text);
        Assert.Equal(1, first.RequestCount);
        Assert.Equal(1, second.RequestCount);
        RoutingInfo info = Assert.IsType<RoutingInfo>(response.GetRoutingInfo());
        Assert.Equal("second", info.Endpoint);
        Assert.True(info.FailedOver);
        Assert.Collection(
            info.Attempts,
            a =>
            {
                Assert.Equal("first", a.Endpoint);
                Assert.Equal(FailureKind.RateLimited, a.Failure);
                Assert.Equal(TimeSpan.FromSeconds(30), a.RetryAfter);
            },
            a =>
            {
                Assert.Equal("second", a.Endpoint);
                Assert.Null(a.Failure);
            });

        // 30 s is above MaxRetryAfter (10 s): no wait at all, only the two attempt timeouts.
        Assert.DoesNotContain(TimeSpan.FromSeconds(30), time.TimersCreated);
        Assert.Equal([AttemptTimeout, AttemptTimeout], time.TimersCreated);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task OpenAiSdk_Streaming500BeforeFirstChunk_FailsOverInvisibly()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using LoopbackOpenAiServer a = await LoopbackOpenAiServer.StartAsync(ct);
        await using LoopbackOpenAiServer b = await LoopbackOpenAiServer.StartAsync(ct);
        _ = a.Fails(500, "The server had an error while processing your request.", "server_error");
        _ = b.Answers("Hel", "lo");
        var time = new ObservableFakeTimeProvider();

        // No retry on the same endpoint: a transient failure goes straight to the next one.
        using RouterChatClient router = RouterFactory.Create(
            time, o => o.Retry.MaxRetriesPerEndpoint = 0, null, ("a", OpenAiSdkClient(a), null), ("b", OpenAiSdkClient(b), null));

        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: ct))
        {
            updates.Add(update);
        }

        Assert.Equal("Hello", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(1, a.RequestCount);
        Assert.Equal(1, b.RequestCount);
        Assert.Contains("\"stream\":true", b.RequestBodies[0], StringComparison.Ordinal);

        RoutingInfo info = Assert.IsType<RoutingInfo>(updates[0].GetRoutingInfo());
        Assert.Equal("b", info.Endpoint);
        Assert.Collection(
            info.Attempts,
            attempt =>
            {
                Assert.Equal("a", attempt.Endpoint);
                Assert.Equal(FailureKind.Transient, attempt.Failure);
                Assert.Equal(500, Assert.IsType<ClientResultException>(attempt.Exception).Status);
            },
            attempt =>
            {
                Assert.Equal("b", attempt.Endpoint);
                Assert.Null(attempt.Failure);
            });

        ChatResponse combined = updates.ToChatResponse();
        Assert.Equal("Hello", combined.Text);
        Assert.Equal(ChatFinishReason.Stop, combined.FinishReason);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task OpenAiSdk_StreamDroppedAfterFirstToken_ThrowsStreamInterruptedWithPartialText()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using LoopbackOpenAiServer a = await LoopbackOpenAiServer.StartAsync(ct);
        await using LoopbackOpenAiServer b = await LoopbackOpenAiServer.StartAsync(ct);
        var firstTokenReceived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = a.StreamsThenDrops(1, firstTokenReceived.Task, "Hel", "lo");
        _ = b.Answers("must not be asked");
        var time = new ObservableFakeTimeProvider();
        using RouterChatClient router = RouterFactory.Create(
            time, o => o.Retry.MaxRetriesPerEndpoint = 0, null, ("a", OpenAiSdkClient(a), null), ("b", OpenAiSdkClient(b), null));

        var received = new List<string>();
        StreamInterruptedException exception = await Assert.ThrowsAsync<StreamInterruptedException>(async () =>
        {
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: ct))
            {
                received.Add(update.Text);
                _ = firstTokenReceived.TrySetResult(); // the caller has output: only now does the server drop the connection
            }
        });

        // Output reached the caller, so the router must not fail over and splice another endpoint's answer on.
        Assert.Equal(["Hel"], received);
        Assert.Equal("a", exception.Endpoint);
        Assert.Equal("Hel", exception.PartialText);
        _ = Assert.IsAssignableFrom<IOException>(exception.InnerException);
        Assert.Collection(
            exception.Attempts,
            attempt => Assert.Null(attempt.Failure),
            attempt => Assert.Equal(FailureKind.Transient, attempt.Failure));
        Assert.Equal(1, a.RequestCount);
        Assert.Equal(0, b.RequestCount);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task OpenAiSdk_400ContextLengthExceeded_ClassifiedAsContextLength()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using LoopbackOpenAiServer small = await LoopbackOpenAiServer.StartAsync(ct);
        await using LoopbackOpenAiServer large = await LoopbackOpenAiServer.StartAsync(ct);
        _ = small.Fails(
            400,
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            "context_length_exceeded");
        _ = large.Answers("it fits here");
        var time = new ObservableFakeTimeProvider();
        using RouterChatClient router = RouterFactory.Create(
            time,
            null,
            null,
            ("small", OpenAiSdkClient(small), e => e.ContextWindowTokens = 128_000),
            ("large", OpenAiSdkClient(large), e => e.ContextWindowTokens = 1_000_000));

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: ct);

        // Only a context-length failure moves a request to an endpoint with a larger window: a bad request would stop.
        Assert.Equal("it fits here", response.Text);
        RoutingInfo info = Assert.IsType<RoutingInfo>(response.GetRoutingInfo());
        Assert.Equal("large", info.Endpoint);
        Assert.Equal(2, info.Attempts.Count);
        Assert.Equal(FailureKind.ContextLength, info.Attempts[0].Failure);
        Assert.Equal(400, Assert.IsType<ClientResultException>(info.Attempts[0].Exception).Status);
        Assert.Equal(1, small.RequestCount);
        Assert.Equal(1, large.RequestCount);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task OpenAiSdk_401_ClassifiedAsAuthAndFailsOver()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using LoopbackOpenAiServer first = await LoopbackOpenAiServer.StartAsync(ct);
        await using LoopbackOpenAiServer second = await LoopbackOpenAiServer.StartAsync(ct);
        _ = first.Fails(
            401,
            "Incorrect API key provided: test-key. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            "invalid_api_key");
        _ = second.Answers("authorised");
        var time = new ObservableFakeTimeProvider();
        using RouterChatClient router = RouterFactory.Create(
            time, null, null, ("first", OpenAiSdkClient(first), null), ("second", OpenAiSdkClient(second), null));

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: ct);

        Assert.Equal("authorised", response.Text);
        RoutingInfo info = Assert.IsType<RoutingInfo>(response.GetRoutingInfo());
        Assert.Equal("second", info.Endpoint);
        Assert.Equal(2, info.Attempts.Count);
        Assert.Equal(FailureKind.Auth, info.Attempts[0].Failure);
        Assert.Equal(401, Assert.IsType<ClientResultException>(info.Attempts[0].Exception).Status);
        Assert.Null(info.Attempts[1].Failure);

        // Auth is not retried on the same endpoint.
        Assert.Equal(1, first.RequestCount);
        Assert.Equal(1, second.RequestCount);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task OpenAiSdk_400BadRequest_NoFailover()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using LoopbackOpenAiServer first = await LoopbackOpenAiServer.StartAsync(ct);
        await using LoopbackOpenAiServer second = await LoopbackOpenAiServer.StartAsync(ct);
        const string Message = "Invalid value for 'temperature': expected a number between 0 and 2.";
        _ = first.Fails(400, Message, "invalid_request_error", "invalid_value");
        _ = second.Answers("must not be asked");
        var time = new ObservableFakeTimeProvider();

        // The second endpoint has a larger context window, so even a context-length failure would move on to it:
        // only a bad request stops here.
        using RouterChatClient router = RouterFactory.Create(
            time,
            null,
            null,
            ("first", OpenAiSdkClient(first), e => e.ContextWindowTokens = 128_000),
            ("second", OpenAiSdkClient(second), e => e.ContextWindowTokens = 1_000_000));

        // The caller gets the SDK's own exception, exactly as from a direct call, not a router exception.
        ClientResultException exception = await Assert.ThrowsAsync<ClientResultException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: ct));

        Assert.Equal(400, exception.Status);
        Assert.Contains(Message, exception.Message, StringComparison.Ordinal);
        Assert.Equal(1, first.RequestCount);
        Assert.Equal(0, second.RequestCount);
    }

    /// <summary>The real OpenAI SDK pointed at the loopback server, with its own retries off.</summary>
    private static IChatClient OpenAiSdkClient(LoopbackOpenAiServer server) =>
        new OpenAiChatClient(
            "gpt-4o-mini",
            new ApiKeyCredential("test-key"),
            new OpenAIClientOptions { Endpoint = server.OpenAiEndpoint, RetryPolicy = new ClientRetryPolicy(0) })
        .AsIChatClient();
}
