using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using static LlmRouter.Tests.TestSupport.ScriptedChatClient;

namespace LlmRouter.Tests.Streaming;

public sealed class StreamingFailoverTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task Stream_FailureBeforeFirstChunk_FailsOverInvisibly()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(503));
        var b = new ScriptedChatClient("b").Streams("Hel", "lo");
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Retry.MaxRetriesPerEndpoint = 0, a, b);

        List<ChatResponseUpdate> updates = await Collect(router);

        Assert.Equal("Hello", string.Concat(updates.Select(u => u.Text)));
        RoutingInfo info = Assert.IsType<RoutingInfo>(updates[0].GetRoutingInfo());
        Assert.Equal("b", info.Endpoint);
        Assert.Equal([FailureKind.Transient, (FailureKind?)null], info.Attempts.Select(x => x.Failure));
        Assert.Equal(1, a.StreamsDisposed);
    }

    [Fact]
    public async Task Stream_RoleUpdateThenFailure_IsStillBeforeTheGateAndFailsOverInvisibly()
    {
        var a = new ScriptedChatClient("a").Then(ScriptStep.StreamFailingAfter(0, RouterFactory.Http(500), "never") with { LeadingRoleUpdate = true });
        var b = new ScriptedChatClient("b").Streams("from b");
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Retry.MaxRetriesPerEndpoint = 0, a, b);

        List<ChatResponseUpdate> updates = await Collect(router);

        Assert.Equal("from b", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(a.StreamsOpened, a.StreamsDisposed);
    }

    [Fact]
    public async Task Stream_EmptyTextChunkThenFailure_IsStillBeforeTheGate()
    {
        // OpenAI's first chunk is {"role":"assistant","content":""}: an empty text content, not output.
        var a = new ScriptedChatClient("a").Then(ScriptStep.StreamFailingAfter(1, RouterFactory.Http(500), "", "never"));
        var b = new ScriptedChatClient("b").Streams("from b");
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Retry.MaxRetriesPerEndpoint = 0, a, b);

        List<ChatResponseUpdate> updates = await Collect(router);

        Assert.Equal("from b", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal("b", updates[0].GetRoutingInfo()!.Endpoint);
    }

    [Fact]
    public async Task Stream_FailureAfterFirstChunk_ThrowsStreamInterruptedWithThePartialText()
    {
        var a = new ScriptedChatClient("a").Then(ScriptStep.StreamFailingAfter(2, RouterFactory.Http(502), "Hel", "lo", " world"));
        var b = new ScriptedChatClient("b").Streams("from b");
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);
        var received = new List<string>();

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(async () =>
        {
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken))
            {
                received.Add(update.Text);
            }
        });

        Assert.Equal(["Hel", "lo"], received);
        Assert.Equal("Hello", error.PartialText);
        Assert.Equal("a", error.Endpoint);
        Assert.IsType<HttpRequestException>(error.InnerException);
        Assert.Equal(FailureKind.Transient, error.Attempts[^1].Failure);
        Assert.Equal(0, b.Calls);
        Assert.Equal(1, a.StreamsDisposed);
    }

    [Fact]
    public async Task Stream_AttemptTimeoutBeforeFirstChunk_FailsOverAndDisposesTheSlowStream()
    {
        var a = new ScriptedChatClient("a").Then(ScriptStep.Stream("late") with { HangAfterChunks = 0 });
        var b = new ScriptedChatClient("b").Streams("from b");
        using RouterChatClient router = RouterFactory.Create(_time, o => o.AttemptTimeout = TimeSpan.FromSeconds(7), a, b);
        Task armed = _time.WhenTimerCreated(TimeSpan.FromSeconds(7));

        Task<List<ChatResponseUpdate>> call = Collect(router);
        await armed;
        _time.Advance(TimeSpan.FromSeconds(7));
        List<ChatResponseUpdate> updates = await call;

        Assert.Equal("from b", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(FailureKind.Timeout, updates[0].GetRoutingInfo()!.Attempts[0].Failure);
        Assert.Equal(1, a.StreamsDisposed);
    }

    [Fact]
    public async Task Stream_StallAfterFirstChunk_TimesOutAsInterruptedNotSilentTruncation()
    {
        var a = new ScriptedChatClient("a").Then(ScriptStep.Stream("Hel", "lo") with { HangAfterChunks = 1 });
        using RouterChatClient router = RouterFactory.Create(_time, o => o.AttemptTimeout = TimeSpan.FromSeconds(7), a);
        await using IAsyncEnumerator<ChatResponseUpdate> stream = router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);

        Assert.True(await stream.MoveNextAsync());
        Assert.Equal("Hel", stream.Current.Text);
        Task armed = _time.WhenTimerCreated(TimeSpan.FromSeconds(7));
        ValueTask<bool> next = stream.MoveNextAsync();
        _time.Advance(TimeSpan.FromSeconds(7));

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(async () => await next);
        Assert.Equal("Hel", error.PartialText);
        Assert.Equal(FailureKind.Timeout, error.Attempts[^1].Failure);
        Assert.Equal(1, a.StreamsDisposed);
    }

    [Fact]
    public async Task Stream_CallerCancelsMidStream_ThrowsCancellationNotInterruption()
    {
        var a = new ScriptedChatClient("a").Then(ScriptStep.Stream("Hel", "lo") with { HangAfterChunks = 1 });
        var b = new ScriptedChatClient("b").Streams("from b");
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);
        using var cts = new CancellationTokenSource();
        await using IAsyncEnumerator<ChatResponseUpdate> stream = router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: cts.Token).GetAsyncEnumerator(cts.Token);

        Assert.True(await stream.MoveNextAsync());
        ValueTask<bool> next = stream.MoveNextAsync();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
        Assert.Equal(0, b.Calls);
        Assert.Equal(1, a.StreamsDisposed);
    }

    [Fact]
    public async Task Stream_CallerCancelsBeforeFirstChunk_DoesNotFailOver()
    {
        var a = new ScriptedChatClient("a").Then(ScriptStep.Stream("late") with { HangAfterChunks = 0 });
        var b = new ScriptedChatClient("b").Streams("from b");
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);
        using var cts = new CancellationTokenSource();

        Task<List<ChatResponseUpdate>> call = CollectUntil(router, cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(0, b.Calls);
        Assert.Equal(1, a.StreamsDisposed);
    }

    [Fact]
    public async Task Stream_CallerStopsReadingEarly_DisposesTheEndpointStream()
    {
        var a = new ScriptedChatClient("a").Streams("one", "two", "three");
        using RouterChatClient router = RouterFactory.Create(_time, null, a);

        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken))
        {
            Assert.Equal("one", update.Text);
            break;
        }

        Assert.Equal(1, a.StreamsDisposed);
    }

    [Fact]
    public async Task Stream_EveryEndpointFailsBeforeOutput_ThrowsAllEndpointsFailedAndDisposesEveryStream()
    {
        var a = new ScriptedChatClient("a").Then(ScriptStep.StreamFailingAfter(0, new TimeoutException(), "x"));
        var b = new ScriptedChatClient("b").Then(ScriptStep.StreamFailingAfter(0, RouterFactory.Http(401), "y"));
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);

        AllEndpointsFailedException error = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => Collect(router));

        Assert.Equal([FailureKind.Timeout, FailureKind.Auth], error.Attempts.Select(x => x.Failure!.Value));
        Assert.Equal(1, a.StreamsDisposed);
        Assert.Equal(1, b.StreamsDisposed);
    }

    [Fact]
    public async Task Stream_BadRequestBeforeOutput_RethrowsWithoutFailover()
    {
        HttpRequestException bad = RouterFactory.Http(400);
        var a = new ScriptedChatClient("a").Throws(bad);
        var b = new ScriptedChatClient("b").Streams("from b");
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);

        Assert.Same(bad, await Assert.ThrowsAsync<HttpRequestException>(() => Collect(router)));
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task Stream_TransientBeforeOutput_RetriesTheSameEndpointAfterBackoff()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(500)).Streams("second try");
        using RouterChatClient router = RouterFactory.Create(_time, null, a);
        Task backoff = _time.WhenTimerCreated(TimeSpan.FromMilliseconds(100));

        Task<List<ChatResponseUpdate>> call = Collect(router);
        await backoff;
        _time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Equal("second try", string.Concat((await call).Select(u => u.Text)));
        Assert.Equal(2, a.Calls);
    }

    [Fact]
    public async Task Stream_UpdatesToChatResponse_CarryTheRoutingInfo()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(401));
        var b = new ScriptedChatClient("b").Streams("Hel", "lo");
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);

        ChatResponse response = (await Collect(router)).ToChatResponse();

        Assert.Equal("Hello", response.Text);
        Assert.Equal("b", response.GetRoutingInfo()!.Endpoint);
        Assert.True(response.GetRoutingInfo()!.FailedOver);
    }

    [Fact]
    public async Task Stream_UsageBeforeInterruption_IsCarriedByTheException()
    {
        var a = new ScriptedChatClient("a").Then(ScriptStep.StreamFailingAfter(2, RouterFactory.Http(500), "Hel", "lo", "!"));
        using RouterChatClient router = RouterFactory.Create(_time, null, null, ("a", new UsageFirstClient(a), null));

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => Collect(router));

        Assert.Equal(42, error.Usage?.InputTokenCount);
    }

    private static Task<List<ChatResponseUpdate>> Collect(RouterChatClient router) => CollectUntil(router, CancellationToken.None);

    private static async Task<List<ChatResponseUpdate>> CollectUntil(RouterChatClient router, CancellationToken cancellationToken)
    {
        var updates = new List<ChatResponseUpdate>();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, TestContext.Current.CancellationToken);
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: linked.Token))
        {
            updates.Add(update);
        }

        return updates;
    }

    /// <summary>Puts a usage update after the first text chunk, as providers that report usage early do.</summary>
    private sealed class UsageFirstClient(ScriptedChatClient inner) : DelegatingChatClient(inner)
    {
        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            bool first = true;
            await foreach (ChatResponseUpdate update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
            {
                yield return update;
                if (first)
                {
                    first = false;
                    yield return new ChatResponseUpdate { Contents = [new UsageContent(new UsageDetails { InputTokenCount = 42 })] };
                }
            }
        }
    }
}
