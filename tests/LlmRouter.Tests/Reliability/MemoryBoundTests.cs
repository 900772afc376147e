using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using static LlmRouter.Tests.TestSupport.ScriptedChatClient;

namespace LlmRouter.Tests.Reliability;

/// <summary>
/// What the router keeps stays bounded whatever the traffic: the cache within its byte limit, each metrics ring at its
/// capacity, and no single-flight entry left behind after a call completes, fails or is cancelled.
/// </summary>
[Collection(IsolatedReliabilityDefinition.Name)]
public sealed class MemoryBoundTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CacheSizeLimit_HoldsUnderManyDistinctRequests()
    {
        const long limit = 256 * 1024;
        int count = ReliabilityScale.Count(ci: 20_000, full: 100_000);
        var a = new ScriptedChatClient("a").Answers(new string('x', 400), always: true);
        using RouterChatClient router = RouterFactory.Create(new ObservableFakeTimeProvider(), o =>
        {
            o.Cache.Enabled = true;
            o.Cache.SizeLimitBytes = limit;
        }, a);

        long peak = 0;
        for (int i = 0; i < count; i++)
        {
            _ = await router.GetResponseAsync([new(ChatRole.User, $"distinct request {i}")], null, Ct);
            peak = Math.Max(peak, router.Cache.MemoryUsage.Bytes);
        }

        ReliabilityScale.Report($"cache: {count} distinct requests, peak {peak:N0} B of {limit:N0} B, {router.Cache.MemoryUsage.Entries} entries at the end");
        Assert.Equal(count, a.Calls);
        Assert.InRange(peak, 1, limit);
        Assert.InRange(router.Cache.MemoryUsage.Entries, 1, limit / 400);
    }

    [Fact]
    public async Task MetricsRing_StaysAtItsCapacity()
    {
        int count = ReliabilityScale.Count(ci: 5_000, full: 50_000);
        var a = new ScriptedChatClient("a").Answers("ok", always: true);
        var options = new LlmRouterOptions();
        options.Metrics.Capacity = 64;
        var endpoint = new EndpointOptions();
        options.Endpoints["a"] = endpoint;
        using var router = new RouterChatClient(
            [new RouterEndpoint("a", a, endpoint, 0, ownsClient: false, options.Metrics.Capacity)], options, new ObservableFakeTimeProvider());

        for (int i = 0; i < count; i++)
        {
            _ = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        }

        router.RefreshSnapshots();
        EndpointMetrics metrics = router.Endpoints[0].Metrics;
        Assert.Equal(64, metrics.Capacity);
        Assert.Equal(64, router.GetSnapshot()[0].SampleCount);
        Assert.Equal(count, router.GetSnapshot()[0].TotalAttempts);
    }

    [Fact]
    public async Task SingleFlight_LeavesNothingBehind_AfterCompletionFailureAndCancellation()
    {
        var a = new ScriptedChatClient("a")
            .Answers("served")
            .Throws(RouterFactory.Http(400))
            .Then(ScriptStep.Hang())
            .Then(ScriptStep.Stream("one ", "two"))
            .Then(ScriptStep.Stream("one ", "two") with { HangAfterChunks = 1 });
        using RouterChatClient router = RouterFactory.Create(new ObservableFakeTimeProvider(), o => o.Cache.Enabled = true, a);

        // Completed, failed.
        _ = await router.GetResponseAsync([new(ChatRole.User, "completes")], null, Ct);
        _ = await Assert.ThrowsAsync<HttpRequestException>(() => router.GetResponseAsync([new(ChatRole.User, "fails")], null, Ct));
        Assert.Equal(0, router.Cache.InFlight);

        // Cancelled by its only caller.
        using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            Task<ChatResponse> hanging = router.GetResponseAsync([new(ChatRole.User, "hangs")], null, cancel.Token);
            await cancel.CancelAsync();
            _ = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hanging);
        }

        // A stream read to its end, and one whose only reader leaves while it still runs.
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync([new(ChatRole.User, "streams")], null, Ct))
        {
            _ = update;
        }

        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync([new(ChatRole.User, "abandoned")], null, Ct))
        {
            break;
        }

        Assert.True(await EventuallyAsync(() => router.Cache.InFlight == 0), $"{router.Cache.InFlight} single-flight entries left");
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10, Ct); // the pumps end on the thread pool: a bounded real-time wait
        }

        return condition();
    }
}
