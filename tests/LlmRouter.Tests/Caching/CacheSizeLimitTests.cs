using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Caching;

/// <summary>The in-memory level stays within <see cref="CacheOptions.SizeLimitBytes"/>: past it, entries are evicted and counted.</summary>
public sealed class CacheSizeLimitTests
{
    private const long Limit = 16 * 1024;
    private const int Prompts = 50;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Each answer is ~2.4 KB by the cache's estimate (2 bytes a character plus fixed costs): at most 6 fit in 16 KiB.
    private static readonly string Answer = new('x', 1000);

    [Fact]
    public async Task FillingPastTheLimit_Evicts_StaysWithinTheLimit_AndCountsEvictions()
    {
        var a = new CountingChatClient("a", answer: n => CountingChatClient.Text($"{n:D4}{Answer}"));
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), o => o.Cache.SizeLimitBytes = Limit, ("a", a));
        using var measurements = new RouterMeasurements(router);

        for (int i = 0; i < Prompts; i++)
        {
            _ = await router.GetResponseAsync(CacheRouter.Prompt($"prompt {i}"), null, Ct);
            Assert.True(router.Cache.MemoryUsage.Bytes <= Limit, $"after {i + 1} answers the cache holds {router.Cache.MemoryUsage.Bytes} bytes");
        }

        // MemoryCache compacts on the thread pool: wait (in real time, bounded) for the evictions to be reported.
        Assert.True(
            await CacheRouter.EventuallyAsync(() => measurements.Sum("llmrouter.cache.evictions", "llmrouter.cache.eviction_reason", "capacity") > 0, TimeSpan.FromSeconds(10)),
            "no capacity eviction was counted");
        Assert.True(
            await CacheRouter.EventuallyAsync(() => router.Cache.MemoryUsage.Bytes <= Limit && router.Cache.MemoryUsage.Entries is > 0 and <= 6, TimeSpan.FromSeconds(10)),
            $"the cache holds {router.Cache.MemoryUsage}");
        Assert.Equal(Prompts, a.Calls);

        // At most the 6 entries that fit can be hits: every other prompt goes upstream again.
        int before = a.Calls;
        for (int i = 0; i < Prompts; i++)
        {
            _ = await router.GetResponseAsync(CacheRouter.Prompt($"prompt {i}"), null, Ct);
            Assert.True(router.Cache.MemoryUsage.Bytes <= Limit);
        }

        Assert.True(a.Calls - before >= Prompts - 6, $"only {a.Calls - before} of {Prompts} prompts went upstream again");
        Assert.Equal(0, measurements.Sum("llmrouter.cache.evictions", "llmrouter.cache.eviction_reason", "expired"));
    }

    [Fact]
    public async Task AnAnswerLargerThanTheWholeCache_IsServedButNotKept()
    {
        var a = new CountingChatClient("a", answer: n => CountingChatClient.Text($"{n}{new string('y', 10_000)}"));
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), o => o.Cache.SizeLimitBytes = 1024, ("a", a));

        ChatResponse first = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        ChatResponse second = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);

        Assert.StartsWith("1", first.Text, StringComparison.Ordinal);
        Assert.StartsWith("2", second.Text, StringComparison.Ordinal);
        Assert.Equal(CacheResult.Miss, second.GetRoutingInfo()!.Cache);
        Assert.Equal(0L, router.Cache.MemoryUsage.Bytes);
    }

    [Fact]
    public async Task PastTheLimit_TheLatestAnswersAreKept_TheLeastRecentlyUsedEvicted()
    {
        // CacheOptions.SizeLimitBytes: "Past it, the least recently used answers are evicted."
        var a = new CountingChatClient("a", answer: n => CountingChatClient.Text($"{n:D4}{Answer}"));
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), o => o.Cache.SizeLimitBytes = Limit, ("a", a));

        for (int i = 0; i < Prompts; i++)
        {
            _ = await router.GetResponseAsync(CacheRouter.Prompt($"prompt {i}"), null, Ct);
        }

        // Let the thread-pool compaction settle (bounded real-time wait).
        _ = await CacheRouter.EventuallyAsync(
            async () =>
            {
                (long, long) before = router.Cache.MemoryUsage;
                await Task.Delay(100);
                return before == router.Cache.MemoryUsage;
            },
            TimeSpan.FromSeconds(10));

        int calls = a.Calls;
        ChatResponse latest = await router.GetResponseAsync(CacheRouter.Prompt($"prompt {Prompts - 1}"), null, Ct);

        Assert.Equal(CacheResult.Hit, latest.GetRoutingInfo()!.Cache);
        Assert.Equal(calls, a.Calls);
    }
}
