using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Streaming;

[CollectionDefinition(nameof(RunsAloneDefinition), DisableParallelization = true)]
public sealed class RunsAloneDefinition;

/// <summary>
/// Streams that fail, are cancelled, time out or lose a hedge race leave no faulted task unobserved. Runs alone, so
/// that what the handler sees comes from this burst (the assembly-wide <see cref="UnobservedTaskExceptionGuard"/>
/// watches the rest of the suite).
/// </summary>
[Collection(nameof(RunsAloneDefinition))]
public sealed class UnobservedTaskExceptionTests
{
    [Fact]
    public async Task BurstOfFailingCanceledTimedOutAndHedgedOffStreams_LeavesNoUnobservedTaskException()
    {
        UnobservedTaskExceptionGuard.CollectAll(); // whatever earlier tests left reports now, to the assembly guard
        var seen = new ConcurrentQueue<Exception>();
        void Handler(object? sender, UnobservedTaskExceptionEventArgs e) => seen.Enqueue(e.Exception);
        TaskScheduler.UnobservedTaskException += Handler;
        try
        {
            for (int round = 0; round < 10; round++)
            {
                await BurstAsync();
            }

            UnobservedTaskExceptionGuard.CollectAll();
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= Handler;
        }

        Assert.Empty(seen);
    }

    /// <summary>One of each way a stream ends badly; not inlined, so that nothing it created stays reachable from the test.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task BurstAsync()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        // A hedge wins; the slow first attempt is cancelled and drained in the background.
        {
            var time = new ObservableFakeTimeProvider();
            var a = new TimedStreamClient("a", time).Then(new StreamScript { Chunks = ["slow"], FirstChunkDelay = TimeSpan.FromSeconds(5) });
            var b = new TimedStreamClient("b", time).Streams("fast");
            using RouterChatClient router = StreamKit.Router(time, Hedged, a, b);
            Task armed = time.WhenTimerCreated(TimeSpan.FromSeconds(1));
            Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
            await armed;
            await a.WhenWaiting();
            time.Advance(TimeSpan.FromSeconds(1));
            List<ChatResponseUpdate> updates = await call;
            Assert.Equal("fast", StreamKit.Text(updates));
            Assert.True(StreamKit.Info(updates).Hedged);
            await a.WhenEnded();
        }

        // A hedge fails with a request error while the first attempt still runs: the request ends, the first attempt is abandoned.
        {
            var time = new ObservableFakeTimeProvider();
            var a = new TimedStreamClient("a", time).Then(new StreamScript { Chunks = ["slow"], FirstChunkDelay = TimeSpan.FromSeconds(5) });
            var b = new TimedStreamClient("b", time).Then(new StreamScript { ThrowAfter = 0, Exception = RouterFactory.Http(400) });
            using RouterChatClient router = StreamKit.Router(time, Hedged, a, b);
            Task armed = time.WhenTimerCreated(TimeSpan.FromSeconds(1));
            Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
            await armed;
            await a.WhenWaiting();
            time.Advance(TimeSpan.FromSeconds(1));
            _ = await Assert.ThrowsAsync<HttpRequestException>(() => call);
            await a.WhenEnded();
        }

        // Every endpoint fails before output.
        {
            var time = new ObservableFakeTimeProvider();
            var a = new TimedStreamClient("a", time).Then(new StreamScript { ThrowAfter = 0, Exception = RouterFactory.Http(503) });
            var b = new TimedStreamClient("b", time).Then(new StreamScript { ErrorAfter = 0 });
            using RouterChatClient router = StreamKit.Router(time, null, a, b);
            _ = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => StreamKit.CollectAsync(router));
        }

        // Failure after output, under Throw, and a continuation that is refused with a 400.
        foreach (MidStreamPolicy policy in new[] { MidStreamPolicy.Throw, MidStreamPolicy.Continue })
        {
            var time = new ObservableFakeTimeProvider();
            var a = new TimedStreamClient("a", time).Then(new StreamScript { Chunks = ["Hel", "lo"], ThrowAfter = 1 });
            var b = new TimedStreamClient("b", time).Then(new StreamScript { ThrowAfter = 0, Exception = RouterFactory.Http(400) });
            using RouterChatClient router = StreamKit.Router(time, o => o.Streaming.MidStreamPolicy = policy, a, b);
            _ = await Assert.ThrowsAsync<StreamInterruptedException>(() => StreamKit.CollectAsync(router));
        }

        // Time-to-first-token timeout, then a stall.
        {
            var time = new ObservableFakeTimeProvider();
            var a = new TimedStreamClient("a", time).Then(new StreamScript { Chunks = ["late"], FirstChunkDelay = TimeSpan.FromSeconds(2) });
            var b = new TimedStreamClient("b", time).Then(new StreamScript { Chunks = ["Hel", "lo"], StallAfter = 1 });
            using RouterChatClient router = StreamKit.Router(
                time,
                o =>
                {
                    o.Streaming.FirstTokenTimeout = TimeSpan.FromSeconds(1);
                    o.Streaming.StallTimeout = TimeSpan.FromSeconds(3);
                },
                a,
                b);
            Task<List<ChatResponseUpdate>> call = StreamKit.CollectAsync(router);
            await a.WhenWaiting();
            time.Advance(TimeSpan.FromSeconds(1));
            await b.WhenWaiting();
            time.Advance(TimeSpan.FromSeconds(3));
            _ = await Assert.ThrowsAsync<StreamInterruptedException>(() => call);
        }

        // The caller cancels mid-stream, and another stops reading early.
        {
            var time = new ObservableFakeTimeProvider();
            var a = new TimedStreamClient("a", time).Then(new StreamScript { Chunks = ["Hel", "lo"], StallAfter = 1 }).Streams("one", "two");
            using RouterChatClient router = StreamKit.Router(time, null, a);
            using var cts = new CancellationTokenSource();
            Task<List<ChatResponseUpdate>> call = StreamKit.ReadAsync(router, cts.Token);
            await a.WhenWaiting();
            await cts.CancelAsync();
            _ = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: ct))
            {
                break;
            }
        }
    }

    private static void Hedged(LlmRouterOptions options)
    {
        options.Hedging.Enabled = true;
        options.Hedging.Delay = TimeSpan.FromSeconds(1);
        options.Streaming.FirstTokenTimeout = TimeSpan.FromSeconds(30);
    }
}
