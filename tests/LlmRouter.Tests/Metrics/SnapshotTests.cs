using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Metrics;

/// <summary>What the router measures per endpoint and publishes through <see cref="RouterChatClient.GetSnapshot"/>.</summary>
public sealed class SnapshotTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task Snapshot_SequentialRequests_MeasureExactlyTheScriptedLatency()
    {
        int[] latencies = [120, 80, 100, 300, 90, 110, 95, 105, 130, 70];
        var a = new LatencyChatClient("a", _time, call => TimeSpan.FromMilliseconds(latencies[(call - 1) % latencies.Length]));
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Randomizer = SeededRandom.Create(1), null, ("a", a, null));

        List<RoutingInfo> infos = await RouterDriver.SendManyAsync(router, latencies.Length);
        router.RefreshSnapshots();
        EndpointSnapshot snapshot = RouterDriver.Snapshot(router, "a");

        Assert.Equal(latencies.Select(ms => TimeSpan.FromMilliseconds(ms)), infos.Select(i => i.Attempts[0].Duration));
        Assert.Equal(10, snapshot.SampleCount);
        Assert.Equal(TimeSpan.FromMilliseconds(100), snapshot.LatencyP50); // sorted: 70 80 90 95 [100] 105 110 120 130 300
        Assert.Equal(TimeSpan.FromMilliseconds(300), snapshot.LatencyP95);
        Assert.Equal(TimeSpan.FromMilliseconds(300), snapshot.LatencyP99);
        Assert.Equal(TimeSpan.FromMilliseconds((110 + 95 + 105 + 130 + 70) / 5.0), snapshot.RecentLatency);
        Assert.Null(snapshot.TimeToFirstTokenP50);
        Assert.Equal(1.0, snapshot.SuccessRate);
    }

    [Fact]
    public async Task Snapshot_Streams_RecordTimeToFirstTokenApartFromTotalLatency()
    {
        var a = new LatencyChatClient("a", _time, 80) { StreamTail = _ => TimeSpan.FromMilliseconds(300) };
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Randomizer = SeededRandom.Create(1), null, ("a", a, null));

        for (int i = 0; i < 5; i++)
        {
            ChatResponse response = await router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken)
                .ToChatResponseAsync(TestContext.Current.CancellationToken);
            Assert.Equal(TimeSpan.FromMilliseconds(80), response.GetRoutingInfo()!.Attempts[0].Duration); // until the first output
        }

        router.RefreshSnapshots();
        EndpointSnapshot snapshot = RouterDriver.Snapshot(router, "a");
        Assert.Equal(TimeSpan.FromMilliseconds(80), snapshot.TimeToFirstTokenP50);
        Assert.Equal(TimeSpan.FromMilliseconds(80), snapshot.TimeToFirstTokenP99);
        Assert.Null(snapshot.LatencyP50); // a stream's whole duration is the caller's reading time too: TTFT measures streams
        Assert.Equal(250, snapshot.OutputTokens);
    }

    [Fact]
    public async Task Snapshot_Usage_TotalsTokensCostAndThroughputAtTheEndpointsPrices()
    {
        var a = new LatencyChatClient("a", _time, 250) { InputTokens = 1_000, OutputTokens = 500 };
        using RouterChatClient router = RouterFactory.Create(
            _time, o => o.Randomizer = SeededRandom.Create(1), null, ("a", a, e => { e.InputCostPerMillionTokens = 2m; e.OutputCostPerMillionTokens = 8m; }));

        _ = await RouterDriver.SendManyAsync(router, 10);
        router.RefreshSnapshots();
        EndpointSnapshot snapshot = RouterDriver.Snapshot(router, "a");

        Assert.Equal(10_000, snapshot.InputTokens);
        Assert.Equal(5_000, snapshot.OutputTokens);
        Assert.Equal(0.06, (double)snapshot.TotalCost, 6); // 10 × (1,000 × 2 + 500 × 8) / 1,000,000
        Assert.Equal(2_000, snapshot.OutputTokensPerSecond!.Value, 6); // 500 tokens in 0.25 s
        Assert.Equal(10, snapshot.TotalAttempts);
        Assert.Equal(10, snapshot.Successes);
    }

    [Fact]
    public async Task Snapshot_Failures_CountedByKindAndInTheSuccessRate()
    {
        var a = new LatencyChatClient("a", _time, 10)
        {
            Failure = call => (call % 4) switch { 1 => RouterFactory.Http(503), 2 => new TimeoutException(), _ => null },
        };
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o =>
            {
                o.Randomizer = SeededRandom.Create(1);
                o.Retry.MaxRetriesPerEndpoint = 0;
                o.Health.FailureThreshold = 1_000;
            },
            null,
            ("a", a, null));

        for (int i = 0; i < 20; i++)
        {
            try
            {
                _ = await RouterDriver.SendAsync(router);
            }
            catch (AllEndpointsFailedException)
            {
            }
        }

        router.RefreshSnapshots();
        EndpointSnapshot snapshot = RouterDriver.Snapshot(router, "a");
        Assert.Equal(20, snapshot.TotalAttempts);
        Assert.Equal(10, snapshot.Successes);
        Assert.Equal(5, snapshot.FailureCount(FailureKind.Transient));
        Assert.Equal(5, snapshot.FailureCount(FailureKind.Timeout));
        Assert.Equal(0.5, snapshot.SuccessRate);
    }

    [Fact]
    public async Task Snapshot_NoTrafficPastTheWindow_AgesOutOnTheRefreshTimerAlone()
    {
        var a = new LatencyChatClient("a", _time, 100);
        using RouterChatClient router = RouterFactory.Create(
            _time, o => { o.Randomizer = SeededRandom.Create(1); o.Metrics.Window = TimeSpan.FromSeconds(10); }, null, ("a", a, null));
        for (int i = 0; i < 5; i++)
        {
            _ = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        }

        // No more requests, no explicit rebuild: only the refresher's timer runs as time passes.
        AdvanceSeconds(1);
        Assert.Equal(5, RouterDriver.Snapshot(router, "a").SampleCount);
        AdvanceSeconds(8);
        Assert.Equal(5, RouterDriver.Snapshot(router, "a").SampleCount);
        AdvanceSeconds(2);
        EndpointSnapshot aged = RouterDriver.Snapshot(router, "a");

        Assert.Equal(0, aged.SampleCount);
        Assert.Null(aged.LatencyP50);
        Assert.Equal(5, aged.TotalAttempts);
    }

    [Fact]
    public async Task Snapshot_MoreAttemptsThanCapacity_KeepsOnlyTheLatestCapacity()
    {
        var a = new LatencyChatClient("a", _time, call => TimeSpan.FromMilliseconds(call <= 24 ? 1_000 : 100));
        using RouterChatClient router = ScoredRouterFactory.Create(
            _time, o => { o.Randomizer = SeededRandom.Create(1); o.Metrics.Capacity = 16; }, null, ("a", a, null));

        _ = await RouterDriver.SendManyAsync(router, 40);
        router.RefreshSnapshots();
        EndpointSnapshot snapshot = RouterDriver.Snapshot(router, "a");

        Assert.Equal(16, snapshot.SampleCount);
        Assert.Equal(40, snapshot.TotalAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(100), snapshot.LatencyP99); // the sixteen latest are all fast
    }

    private void AdvanceSeconds(int seconds)
    {
        for (int i = 0; i < seconds; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
        }
    }
}
