using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Hedging;

/// <summary>Hedged streams, in virtual time: the race is won by the first content chunk; the loser is cancelled and disposed.</summary>
public sealed class StreamingHedgingTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10); // a hang guard in real time, never a wait
    private readonly SteppingFakeTimeProvider _time = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PrimaryFirstChunkLate_HedgeChunkFirst_CallerSeesOnlyTheHedgeAndTheLoserIsCancelledAndDisposed()
    {
        var a = new DelayedChatClient("a", _time, 1000) { Chunks = _ => ["a1", "a2"] };
        var b = new DelayedChatClient("b", _time, 100) { Chunks = _ => ["b1", "b2", "b3"] };
        using RouterChatClient router = Create(a, b);
        DateTimeOffset t0 = _time.GetUtcNow();

        await using IAsyncEnumerator<ChatResponseUpdate> stream = router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: Ct).GetAsyncEnumerator(Ct);
        ValueTask<bool> first = stream.MoveNextAsync();
        Assert.Equal(1, a.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.Equal(0, b.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        DelayedChatClient.CallRecord hedge = await b.WhenCalled(1).WaitAsync(Guard, Ct);
        Assert.False(first.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(await first.AsTask().WaitAsync(Guard, Ct));

        var updates = new List<ChatResponseUpdate> { stream.Current };
        while (await stream.MoveNextAsync().AsTask().WaitAsync(Guard, Ct))
        {
            updates.Add(stream.Current);
        }

        Assert.Equal("b1b2b3", string.Concat(updates.Select(u => u.Text)));
        DelayedChatClient.CallRecord loser = a.Call(1);
        Assert.True(loser.Token.IsCancellationRequested);
        Assert.Equal(DelayedChatClient.CallOutcome.Canceled, await loser.Ended.Task.WaitAsync(Guard, Ct));
        Assert.Equal(0, loser.ChunksSent);
        await loser.EnumeratorDisposed.Task.WaitAsync(Guard, Ct); // the loser's stream is disposed, eventually
        await hedge.EnumeratorDisposed.Task.WaitAsync(Guard, Ct); // and the winner's once it ended
        Assert.Equal(t0 + TimeSpan.FromMilliseconds(200), hedge.StartedAt);

        RoutingInfo info = Assert.IsType<RoutingInfo>(updates[0].GetRoutingInfo());
        Assert.Equal("b", info.Endpoint);
        Assert.True(info.Hedged);
        Assert.False(info.FailedOver);
        Assert.Collection(
            info.Attempts,
            x =>
            {
                Assert.Equal(("a", (FailureKind?)FailureKind.Canceled, false), (x.Endpoint, x.Failure, x.IsHedge));
                Assert.True(x.CanceledByHedge);
                Assert.Equal(TimeSpan.FromMilliseconds(300), x.Duration);
            },
            x =>
            {
                Assert.Equal(("b", (FailureKind?)null, true), (x.Endpoint, x.Failure, x.IsHedge));
                Assert.False(x.CanceledByHedge);
                Assert.Equal(TimeSpan.FromMilliseconds(100), x.Duration); // time to first token
            });

        router.RefreshSnapshots();
        EndpointSnapshot snapshot = RouterDriver.Snapshot(router, "a");
        Assert.Equal(HealthState.Healthy, snapshot.Health);
        Assert.Equal(0, snapshot.FailureCount(FailureKind.Timeout));
        Assert.Equal(0, snapshot.FailureCount(FailureKind.Transient));
        Assert.Null(snapshot.SuccessRate);
    }

    [Fact]
    public async Task PrimaryFirstChunkWithinTheHedgeDelay_NoHedge_PrimaryStreamsAlone()
    {
        var a = new DelayedChatClient("a", _time, 150) { Chunks = _ => ["a1", "a2"] };
        var b = new DelayedChatClient("b", _time, 10);
        using RouterChatClient router = Create(a, b);

        Task<string> text = ReadAllAsync(router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: Ct));
        _time.Advance(TimeSpan.FromMilliseconds(150));

        Assert.Equal("a1a2", await text.WaitAsync(Guard, Ct));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task PrimaryFirstChunkArrivesAfterHedgeStarted_HedgeStreamIsCancelledAndDisposed()
    {
        var a = new DelayedChatClient("a", _time, 300) { Chunks = _ => ["a1", "a2"] };
        var b = new DelayedChatClient("b", _time, 500) { Chunks = _ => ["b1"] };
        using RouterChatClient router = Create(a, b);

        await using IAsyncEnumerator<ChatResponseUpdate> stream = router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: Ct).GetAsyncEnumerator(Ct);
        ValueTask<bool> first = stream.MoveNextAsync();
        _time.Advance(TimeSpan.FromMilliseconds(200));
        DelayedChatClient.CallRecord hedge = await b.WhenCalled(1).WaitAsync(Guard, Ct);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(await first.AsTask().WaitAsync(Guard, Ct));
        RoutingInfo info = stream.Current.GetRoutingInfo()!;
        var text = new List<string> { stream.Current.Text };
        while (await stream.MoveNextAsync().AsTask().WaitAsync(Guard, Ct))
        {
            text.Add(stream.Current.Text);
        }

        Assert.Equal("a1a2", string.Concat(text));
        Assert.True(hedge.Token.IsCancellationRequested);
        await hedge.EnumeratorDisposed.Task.WaitAsync(Guard, Ct);
        Assert.Equal("a", info.Endpoint);
        RoutingAttempt lost = Assert.Single(info.Attempts, x => x.Endpoint == "b");
        Assert.True(lost.IsHedge && lost.CanceledByHedge);
    }

    [Fact]
    public async Task AdaptiveDelay_FollowsTheStreamsP95TimeToFirstToken_NotTheirWholeLength()
    {
        // Warm-up streams: the first chunk after 200 ms, then the caller holds it for 3 s before reading the rest. The
        // adaptive delay must follow the p95 time to first token (200 ms), not the streams' whole length (3.2 s).
        var a = new DelayedChatClient("a", _time, n => TimeSpan.FromMilliseconds(n <= 6 ? 200 : 5000)) { Chunks = _ => ["a1", "a2"] };
        var b = new DelayedChatClient("b", _time, 100) { Chunks = _ => ["b1"] };
        using RouterChatClient router = Create(
            a,
            b,
            o =>
            {
                o.Hedging.Delay = null;
                o.Hedging.MinDelay = TimeSpan.FromMilliseconds(50);
                o.Hedging.MaxDelay = TimeSpan.FromSeconds(4);
            });
        for (int i = 0; i < 6; i++)
        {
            await using IAsyncEnumerator<ChatResponseUpdate> warmUp = router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: Ct).GetAsyncEnumerator(Ct);
            ValueTask<bool> first = warmUp.MoveNextAsync();
            _time.Advance(TimeSpan.FromMilliseconds(200));
            Assert.True(await first.AsTask().WaitAsync(Guard, Ct));
            Assert.Equal("a1", warmUp.Current.Text);
            _time.Advance(TimeSpan.FromSeconds(3)); // the caller holds the first update
            while (await warmUp.MoveNextAsync().AsTask().WaitAsync(Guard, Ct))
            {
            }
        }

        Assert.Equal(0, b.Calls);
        router.RefreshSnapshots();
        EndpointSnapshot measured = RouterDriver.Snapshot(router, "a");
        Assert.Equal(TimeSpan.FromMilliseconds(200), measured.TimeToFirstTokenP95);
        DateTimeOffset t0 = _time.GetUtcNow();

        Task<string> text = ReadAllAsync(router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: Ct));
        _time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.Equal(0, b.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        DelayedChatClient.CallRecord hedge = await b.WhenCalled(1).WaitAsync(Guard, Ct);
        _time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Equal("b1", await text.WaitAsync(Guard, Ct));
        Assert.Equal(t0 + TimeSpan.FromMilliseconds(200), hedge.StartedAt);
        await a.Call(7).EnumeratorDisposed.Task.WaitAsync(Guard, Ct);
    }

    private static async Task<string> ReadAllAsync(IAsyncEnumerable<ChatResponseUpdate> stream)
    {
        var text = new System.Text.StringBuilder();
        await foreach (ChatResponseUpdate update in stream)
        {
            _ = text.Append(update.Text);
        }

        return text.ToString();
    }

    private RouterChatClient Create(DelayedChatClient a, DelayedChatClient b, Action<LlmRouterOptions>? configure = null) =>
        RouterFactory.Create(
            _time,
            o =>
            {
                o.Strategy = RoutingStrategy.Ordered;
                o.Hedging.Enabled = true;
                o.Hedging.Delay = TimeSpan.FromMilliseconds(200);
                o.Health.DegradedAfterSlowRequests = 1000;
                configure?.Invoke(o);
            },
            null,
            ("a", a, null),
            ("b", b, null));
}
