using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Streaming;

/// <summary>
/// The time-to-first-token timeout (fixed, adaptive, capped by the attempt timeout) and the stall timeout, on a fake
/// clock: every wait is a timer of the <see cref="ObservableFakeTimeProvider"/>, advanced by the test.
/// </summary>
public sealed class StreamTimeoutTests
{
    private static readonly TimeSpan Ms100 = TimeSpan.FromMilliseconds(100);

    private readonly ObservableFakeTimeProvider _time = new();

    // ---- Fixed time-to-first-token timeout ----

    [Fact]
    public async Task FixedFirstTokenTimeout_FirstChunkLate_FailsOverInvisiblyAndReleasesTheSlowStream()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["from a"], FirstChunkDelay = TimeSpan.FromSeconds(6) });
        var b = new TimedStreamClient("b", _time).Streams("from ", "b");
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.FirstTokenTimeout = TimeSpan.FromSeconds(5), a, b);

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
        Assert.False(a.Calls[0].Token.IsCancellationRequested);
        _time.Advance(TimeSpan.FromTicks(1));
        List<ChatResponseUpdate> updates = await call;

        Assert.Equal("from b", StreamKit.Text(updates));
        Assert.DoesNotContain(updates, u => u.Text.Contains("from a", StringComparison.Ordinal));
        RoutingInfo info = StreamKit.Info(updates);
        Assert.Equal("b", info.Endpoint);
        Assert.True(info.FailedOver);
        Assert.Equal(["a", "b"], info.Attempts.Select(x => x.Endpoint));
        RoutingAttempt failed = info.Attempts[0];
        Assert.Equal(FailureKind.Timeout, failed.Failure);
        TimeoutException timeout = Assert.IsType<TimeoutException>(failed.Exception);
        Assert.Contains("time-to-first-token timeout of 5 s", timeout.Message, StringComparison.Ordinal);
        Assert.Contains("'a'", timeout.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(5), failed.Duration);

        StreamCall slow = a.Calls[0];
        Assert.True(slow.Token.IsCancellationRequested);
        Assert.True(slow.Disposed);
        Assert.Equal(0, slow.Yielded);
    }

    [Fact]
    public async Task FixedFirstTokenTimeout_FirstChunkJustInTime_IsServedByTheFirstEndpoint()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["from ", "a"], FirstChunkDelay = TimeSpan.FromMilliseconds(4999) });
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.FirstTokenTimeout = TimeSpan.FromSeconds(5), a, b);

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromMilliseconds(4999));
        List<ChatResponseUpdate> updates = await call;

        Assert.Equal("from a", StreamKit.Text(updates));
        RoutingInfo info = StreamKit.Info(updates);
        Assert.Equal("a", info.Endpoint);
        Assert.False(info.FailedOver);
        Assert.Equal(0, b.CallCount);
        Assert.Contains(TimeSpan.FromSeconds(5), _time.TimersCreated);
    }

    // ---- Adaptive time-to-first-token timeout ----

    [Fact]
    public async Task AdaptiveFirstTokenTimeout_MeasuredEndpoint_FailsOverAfterMultiplierTimesP95()
    {
        var a = new TimedStreamClient("a", _time);
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(_time, Adaptive(min: TimeSpan.FromMilliseconds(200), max: TimeSpan.FromSeconds(3)), a, b);
        await WarmAsync(router, a, samples: 5, Ms100);
        Assert.Equal(Ms100, RouterDriver.Snapshot(router, "a").TimeToFirstTokenP95);

        a.Then(new StreamScript { Chunks = ["late"], FirstChunkDelay = TimeSpan.FromSeconds(1) });
        Task armed = _time.WhenTimerCreated(TimeSpan.FromMilliseconds(400)); // 4 × p95 of 100 ms
        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await armed;
        await a.WhenWaiting(call: 6);
        _time.Advance(TimeSpan.FromMilliseconds(399));
        Assert.False(a.Calls[5].Token.IsCancellationRequested);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        List<ChatResponseUpdate> updates = await call;

        Assert.Equal("from b", StreamKit.Text(updates));
        RoutingAttempt failed = StreamKit.Info(updates).Attempts[0];
        Assert.Equal(("a", FailureKind.Timeout), (failed.Endpoint, failed.Failure));
        Assert.Contains("time-to-first-token timeout of 400 ms", failed.Exception!.Message, StringComparison.Ordinal);
        Assert.True(a.Calls[5].Disposed);
    }

    [Fact]
    public async Task AdaptiveFirstTokenTimeout_IsClampedUpToMinFirstTokenTimeout()
    {
        var a = new TimedStreamClient("a", _time);
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(_time, Adaptive(min: TimeSpan.FromSeconds(1), max: TimeSpan.FromSeconds(3)), a, b);
        await WarmAsync(router, a, samples: 5, Ms100);

        // 4 × 100 ms = 400 ms, below the floor: the timeout is 1 s, so a first chunk at 700 ms is in time.
        a.Then(new StreamScript { Chunks = ["in time"], FirstChunkDelay = TimeSpan.FromMilliseconds(700) });
        Task armed = _time.WhenTimerCreated(TimeSpan.FromSeconds(1));
        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await armed;
        await a.WhenWaiting(call: 6);
        _time.Advance(TimeSpan.FromMilliseconds(700));
        List<ChatResponseUpdate> updates = await call;

        Assert.Equal("in time", StreamKit.Text(updates));
        Assert.Equal(0, b.CallCount);
        Assert.DoesNotContain(TimeSpan.FromMilliseconds(400), _time.TimersCreated);
    }

    [Fact]
    public async Task AdaptiveFirstTokenTimeout_TooFewSamples_UsesMaxFirstTokenTimeout()
    {
        var a = new TimedStreamClient("a", _time);
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(_time, Adaptive(min: TimeSpan.FromMilliseconds(200), max: TimeSpan.FromSeconds(3)), a, b);
        await WarmAsync(router, a, samples: 4, Ms100); // one short of Scoring.MinSamples (5)

        a.Then(new StreamScript { Chunks = ["late"], FirstChunkDelay = TimeSpan.FromSeconds(10) });
        Task armed = _time.WhenTimerCreated(TimeSpan.FromSeconds(3));
        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await armed;
        await a.WhenWaiting(call: 5);
        _time.Advance(TimeSpan.FromMilliseconds(2999));
        Assert.False(a.Calls[4].Token.IsCancellationRequested); // 400 ms would have fired long ago
        _time.Advance(TimeSpan.FromMilliseconds(1));
        List<ChatResponseUpdate> updates = await call;

        Assert.Equal("from b", StreamKit.Text(updates));
        Assert.Contains("time-to-first-token timeout of 3 s", StreamKit.Info(updates).Attempts[0].Exception!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdaptiveFirstTokenTimeout_UnmeasuredEndpoint_UsesMaxFirstTokenTimeout()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["late"], FirstChunkDelay = TimeSpan.FromSeconds(10) });
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(_time, Adaptive(min: TimeSpan.FromMilliseconds(200), max: TimeSpan.FromSeconds(3)), a, b);
        Task armed = _time.WhenTimerCreated(TimeSpan.FromSeconds(3));

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await armed;
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromSeconds(3));
        List<ChatResponseUpdate> updates = await call;

        Assert.Equal("from b", StreamKit.Text(updates));
        Assert.Equal(FailureKind.Timeout, StreamKit.Info(updates).Attempts[0].Failure);
    }

    [Fact]
    public async Task AdaptiveFirstTokenTimeout_OnlyNonStreamedSamplesBesidesOneStream_StillUsesMaxFirstTokenTimeout()
    {
        // StreamingOptions documents: "an endpoint with too few streamed samples (ScoringOptions.MinSamples) gets
        // MaxFirstTokenTimeout". Here A has ten non-streamed answers and a single streamed one (TTFT 100 ms): the p95
        // of one sample is no measure, yet RouterRuntime.Adaptive checks Snapshot.SampleCount (all attempts) and sets
        // the timeout to 4 × 100 ms, so a first chunk at 1 s fails over although Max is 3 s.
        var a = new TimedStreamClient("a", _time);
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(_time, Adaptive(min: TimeSpan.FromMilliseconds(200), max: TimeSpan.FromSeconds(3)), a, b);
        for (int i = 0; i < 10; i++)
        {
            _ = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        }

        await WarmAsync(router, a, samples: 1, Ms100);
        a.Then(new StreamScript { Chunks = ["thinking done"], FirstChunkDelay = TimeSpan.FromSeconds(1) });

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await a.WhenWaiting(call: 2);
        _time.Advance(TimeSpan.FromSeconds(1));
        List<ChatResponseUpdate> updates = await call;

        Assert.Equal("thinking done", StreamKit.Text(updates));
        Assert.Equal(0, b.CallCount);
    }

    // ---- The attempt timeout caps the time-to-first-token timeout ----

    [Fact]
    public async Task FirstTokenTimeout_LongerThanTheAttemptTimeout_IsCappedByIt()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["late"], FirstChunkDelay = TimeSpan.FromSeconds(3) });
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(
            _time,
            o =>
            {
                o.Streaming.FirstTokenTimeout = TimeSpan.FromSeconds(5);
                o.AttemptTimeout = TimeSpan.FromSeconds(2);
            },
            a,
            b);
        Task armed = _time.WhenTimerCreated(TimeSpan.FromSeconds(2));

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await armed;
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromSeconds(2));
        List<ChatResponseUpdate> updates = await call;

        Assert.Equal("from b", StreamKit.Text(updates));
        RoutingAttempt failed = StreamKit.Info(updates).Attempts[0];
        Assert.Equal(FailureKind.Timeout, failed.Failure);
        Assert.Contains("time-to-first-token timeout of 2 s", failed.Exception!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdaptiveFirstTokenTimeout_IsCappedByTheEndpointsOwnAttemptTimeout()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["late"], FirstChunkDelay = TimeSpan.FromSeconds(3) });
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(
            _time,
            null, // adaptive, unmeasured: MaxFirstTokenTimeout (60 s) …
            ("a", a, e => e.AttemptTimeout = TimeSpan.FromMilliseconds(1500)), // … capped at 1.5 s for A
            ("b", b, null));
        Task armed = _time.WhenTimerCreated(TimeSpan.FromMilliseconds(1500));

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await armed;
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromMilliseconds(1500));
        List<ChatResponseUpdate> updates = await call;

        Assert.Equal("from b", StreamKit.Text(updates));
        Assert.Contains("time-to-first-token timeout of 1.5 s", StreamKit.Info(updates).Attempts[0].Exception!.Message, StringComparison.Ordinal);
    }

    // ---- Stall timeout ----

    [Fact]
    public async Task StallTimeout_NoUpdateAfterOutput_ThrowsStreamInterruptedWithTheStallTimeout()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["Hel", "lo", " world"], StallAfter = 2 });
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.StallTimeout = TimeSpan.FromSeconds(10), a, b);
        var received = new List<ChatResponseUpdate>();

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router, received);
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        Assert.False(a.Calls[0].Token.IsCancellationRequested);
        _time.Advance(TimeSpan.FromTicks(1));

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => call);
        Assert.Equal("Hello", StreamKit.Text(received));
        Assert.Equal("Hello", error.PartialText);
        Assert.Equal("a", error.Endpoint);
        TimeoutException timeout = Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Contains("stall timeout of 10 s", timeout.Message, StringComparison.Ordinal);
        Assert.Equal(FailureKind.Timeout, error.Attempts[^1].Failure);
        Assert.True(a.Calls[0].Token.IsCancellationRequested);
        Assert.True(a.Calls[0].Disposed);
        Assert.Equal(0, b.CallCount);
    }

    [Fact]
    public async Task StallTimeout_PauseShorterThanIt_IsNoFailure()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["Hel", "lo"], StallAfter = 1, StallFor = TimeSpan.FromMilliseconds(9999) });
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.StallTimeout = TimeSpan.FromSeconds(10), a);

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromMilliseconds(9999));

        Assert.Equal("Hello", StreamKit.Text(await call));
    }

    [Fact]
    public async Task StallTimeout_IsCappedByTheAttemptTimeout()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["Hel", "lo"], StallAfter = 1 });
        using RouterChatClient router = StreamKit.Router(
            _time,
            o =>
            {
                o.Streaming.StallTimeout = TimeSpan.FromSeconds(10);
                o.AttemptTimeout = TimeSpan.FromSeconds(3);
            },
            a);

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromSeconds(3));

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(() => call);
        Assert.Contains("stall timeout of 3 s", error.InnerException!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StallTimeout_TimeTheCallerHoldsAnUpdate_DoesNotCount()
    {
        var a = new TimedStreamClient("a", _time).Streams("one", "two", "three");
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.StallTimeout = TimeSpan.FromSeconds(10), a);
        await using IAsyncEnumerator<ChatResponseUpdate> stream = router
            .GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken)
            .GetAsyncEnumerator(TestContext.Current.CancellationToken);
        var texts = new List<string>();

        while (await stream.MoveNextAsync())
        {
            texts.Add(stream.Current.Text);
            _time.Advance(TimeSpan.FromSeconds(25)); // the caller is slow: 2.5 stall timeouts per update
        }

        Assert.Equal(["one", "two", "three", string.Empty], texts);
        Assert.False(a.Calls[0].Token.IsCancellationRequested);
    }

    [Fact]
    public async Task StallTimeout_AfterTheCallerHeldAnUpdate_CountsOnlyTheWaitOnTheEndpoint()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["one", "two"], StallAfter = 1, StallFor = TimeSpan.FromSeconds(6) });
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.StallTimeout = TimeSpan.FromSeconds(10), a);
        await using IAsyncEnumerator<ChatResponseUpdate> stream = router
            .GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken)
            .GetAsyncEnumerator(TestContext.Current.CancellationToken);

        Assert.True(await stream.MoveNextAsync());
        _time.Advance(TimeSpan.FromSeconds(25)); // held by the caller
        ValueTask<bool> next = stream.MoveNextAsync();
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromSeconds(6)); // 31 s since the first output, 6 s of them waiting on the endpoint

        Assert.True(await next);
        Assert.Equal("two", stream.Current.Text);
        Assert.False(a.Calls[0].Token.IsCancellationRequested);
    }

    [Fact]
    public async Task StallTimeout_AfterTheCallerHeldAnUpdate_StillFiresOneTimeoutAfterTheWaitBegan()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["one", "two"], StallAfter = 1 });
        using RouterChatClient router = StreamKit.Router(_time, o => o.Streaming.StallTimeout = TimeSpan.FromSeconds(10), a);
        await using IAsyncEnumerator<ChatResponseUpdate> stream = router
            .GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken)
            .GetAsyncEnumerator(TestContext.Current.CancellationToken);

        Assert.True(await stream.MoveNextAsync());
        _time.Advance(TimeSpan.FromSeconds(25)); // held by the caller
        ValueTask<bool> next = stream.MoveNextAsync();
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        Assert.False(a.Calls[0].Token.IsCancellationRequested);
        _time.Advance(TimeSpan.FromTicks(1));

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(async () => await next);
        Assert.Equal("one", error.PartialText);
        Assert.Contains("stall timeout of 10 s", error.InnerException!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StallBeforeFirstOutput_IsGovernedByTheFirstTokenTimeoutNotTheStallTimeout()
    {
        // A role-only update is not output: the wait after it is still the wait for the first token.
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["late"], LeadingRoleUpdate = true, StallAfter = 0 });
        var b = new TimedStreamClient("b", _time).Streams("from b");
        using RouterChatClient router = StreamKit.Router(
            _time,
            o =>
            {
                o.Streaming.FirstTokenTimeout = TimeSpan.FromSeconds(10);
                o.Streaming.StallTimeout = TimeSpan.FromSeconds(2);
            },
            a,
            b);

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(a.Calls[0].Token.IsCancellationRequested); // the stall timeout does not apply yet
        _time.Advance(TimeSpan.FromSeconds(8) - TimeSpan.FromTicks(1));
        Assert.False(a.Calls[0].Token.IsCancellationRequested);
        _time.Advance(TimeSpan.FromTicks(1));
        List<ChatResponseUpdate> updates = await call;

        Assert.Equal("from b", StreamKit.Text(updates));
        RoutingAttempt failed = StreamKit.Info(updates).Attempts[0];
        Assert.Equal(FailureKind.Timeout, failed.Failure);
        Assert.Contains("time-to-first-token timeout of 10 s", failed.Exception!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AfterFirstOutput_TheFirstTokenTimeoutNoLongerApplies()
    {
        var a = new TimedStreamClient("a", _time).Then(new StreamScript { Chunks = ["Hel", "lo"], StallAfter = 1, StallFor = TimeSpan.FromSeconds(5) });
        using RouterChatClient router = StreamKit.Router(
            _time,
            o =>
            {
                o.Streaming.FirstTokenTimeout = TimeSpan.FromSeconds(2);
                o.Streaming.StallTimeout = TimeSpan.FromSeconds(10);
            },
            a);

        Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
        await a.WhenWaiting();
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal("Hello", StreamKit.Text(await call));
        Assert.False(a.Calls[0].Token.IsCancellationRequested);
    }

    private static Action<LlmRouterOptions> Adaptive(TimeSpan min, TimeSpan max) => o =>
    {
        o.Streaming.FirstTokenTimeout = null;
        o.Streaming.FirstTokenTimeoutMultiplier = 4;
        o.Streaming.MinFirstTokenTimeout = min;
        o.Streaming.MaxFirstTokenTimeout = max;
    };

    /// <summary>Streams <paramref name="samples"/> answers from <paramref name="endpoint"/>, each with a first chunk after <paramref name="ttft"/>, then rebuilds the snapshots.</summary>
    private async Task WarmAsync(RouterChatClient router, TimedStreamClient endpoint, int samples, TimeSpan ttft)
    {
        for (int i = 0; i < samples; i++)
        {
            int callNumber = endpoint.CallCount + 1;
            _ = endpoint.Then(new StreamScript { Chunks = ["warm"], FirstChunkDelay = ttft });
            Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
            await endpoint.WhenWaiting(callNumber);
            _time.Advance(ttft);
            List<ChatResponseUpdate> updates = await call;
            Assert.Equal(endpoint.Name, StreamKit.Info(updates).Endpoint);
        }

        router.RefreshSnapshots();
    }
}
