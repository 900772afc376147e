using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Streaming;

/// <summary>The caller's cancellation ends a stream with <see cref="OperationCanceledException"/>: never an interruption, a failover or a continuation.</summary>
public sealed class StreamCancellationTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Theory]
    [InlineData(MidStreamPolicy.Throw)]
    [InlineData(MidStreamPolicy.Continue)]
    public async Task CallerCancelsWhileTheEndpointStalls_ThrowsCanceledAndCallsNothingElse(MidStreamPolicy policy)
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["Hel", "lo"], StallAfter = 1 });
        var b = new TimedStreamClient("b", _time).Streams("lo");
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.MidStreamPolicy = policy, a, b);
        using var cts = new CancellationTokenSource();
        var received = new List<ChatResponseUpdate>();

        Task<List<ChatResponseUpdate>> call = StreamKit.ReadAsync(router, cts.Token, received);
        await a.WhenWaiting();
        await cts.CancelAsync();

        Exception error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.IsNotType<StreamInterruptedException>(error);
        Assert.Equal("Hel", StreamKit.Text(received));
        StreamCall served = Assert.Single(a.Calls);
        Assert.True(served.Token.IsCancellationRequested);
        Assert.True(served.Disposed);
        Assert.Equal(0, b.CallCount);
    }

    [Fact]
    public async Task CallerCancelsWhileHoldingAnUpdate_TheNextReadThrowsCanceled()
    {
        var a = new TimedStreamClient("a", _time).Streams("one", "two", "three");
        var b = new TimedStreamClient("b", _time).Streams("two");
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.MidStreamPolicy = MidStreamPolicy.Continue, a, b);
        using var cts = new CancellationTokenSource();
        await using IAsyncEnumerator<ChatResponseUpdate> stream = router
            .GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: cts.Token)
            .GetAsyncEnumerator(cts.Token);

        Assert.True(await stream.MoveNextAsync());
        await cts.CancelAsync();
        Assert.True(a.Calls[0].Token.IsCancellationRequested); // the endpoint learns at once, not at the next read

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await stream.MoveNextAsync());
        Assert.True(a.Calls[0].Disposed);
        Assert.Equal(0, b.CallCount);
    }

    [Fact]
    public async Task CallerCancelsWhileTheContinuationWaitsForItsFirstToken_ThrowsCanceledNotInterrupted()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["The ", "quick "], ThrowAfter = 2 });
        var b = new TimedStreamClient("b", _time).Then(new StreamScript { Chunks = ["brown"], FirstChunkDelay = TimeSpan.FromSeconds(30) });
        var c = new TimedStreamClient("c", _time).Streams("brown");
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.MidStreamPolicy = MidStreamPolicy.Continue, a, b, c);
        using var cts = new CancellationTokenSource();

        Task<List<ChatResponseUpdate>> call = StreamKit.ReadAsync(router, cts.Token);
        await b.WhenWaiting();
        await cts.CancelAsync();

        Exception error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.IsNotType<StreamInterruptedException>(error);
        Assert.True(b.Calls[0].Token.IsCancellationRequested);
        Assert.True(b.Calls[0].Disposed);
        Assert.Equal(0, c.CallCount);
    }

    [Fact]
    public async Task CallerCancelsBeforeTheFirstToken_ThrowsCanceledAndDoesNotFailOver()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["late"], FirstChunkDelay = TimeSpan.FromSeconds(30) });
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.FirstTokenTimeout = TimeSpan.FromSeconds(5), a, b);
        using var cts = new CancellationTokenSource();

        Task<List<ChatResponseUpdate>> call = StreamKit.ReadAsync(router, cts.Token);
        await a.WhenWaiting();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.True(a.Calls[0].Token.IsCancellationRequested);
        Assert.True(a.Calls[0].Disposed);
        Assert.Equal(0, b.CallCount);
    }

    [Fact]
    public async Task CallerStopsReadingEarly_DisposesTheEndpointStreamAndCallsNothingElse()
    {
        var a = new TimedStreamClient("a", _time).Streams("one", "two", "three");
        var b = new TimedStreamClient("b", _time).Streams("two");
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.MidStreamPolicy = MidStreamPolicy.Continue, a, b);

        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken))
        {
            Assert.Equal("one", update.Text);
            break;
        }

        Assert.Equal(1, a.Calls[0].Disposals);
        Assert.Equal(0, b.CallCount);
    }
}
