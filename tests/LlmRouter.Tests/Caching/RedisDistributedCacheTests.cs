using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace LlmRouter.Tests.Caching;

/// <summary>
/// Routers sharing a real Redis through <c>RedisCache</c>: one answers, the other hits; an outage never fails a request
/// and the cache comes back after the retry interval (on the router's clock).
/// </summary>
/// <remarks>Real time is used only in bounded polls for Redis I/O and process start.</remarks>
public sealed class RedisDistributedCacheTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly TimeSpan RealTimeLimit = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private RedisCache NewRedisCache(string instance) =>
        new(new RedisCacheOptions { Configuration = redis.ConnectionString, InstanceName = instance });

    private static string Instance() => $"test-{Guid.NewGuid():N}:";

    private static RouterChatClient Router(TimeProvider time, RedisCache cache, CountingChatClient endpoint, ILoggerFactory? loggerFactory = null, TimeSpan? retryInterval = null) =>
        CacheRouter.Create(
            time,
            o =>
            {
                o.Cache.UseDistributedCache = true;
                o.Cache.DistributedRetryInterval = retryInterval ?? TimeSpan.FromSeconds(10);
            },
            cache,
            loggerFactory,
            (endpoint.Name, endpoint));

    private static async Task<bool> InRedis(RedisCache probe, List<ChatMessage> prompt, ChatOptions? options = null)
    {
        try
        {
            return await probe.GetAsync(DistributedCacheFaultTests.DistributedKey(prompt, options), Ct) is not null;
        }
        catch (StackExchange.Redis.RedisException)
        {
            return false; // reconnecting
        }
    }

    [Fact]
    public async Task TwoRouters_ShareEntries_TheSecondHitsWithoutCallingItsEndpoint()
    {
        redis.Require();
        var time = new ObservableFakeTimeProvider();
        string instance = Instance();
        using RedisCache cache1 = NewRedisCache(instance);
        using RedisCache cache2 = NewRedisCache(instance);
        var a1 = new CountingChatClient("a");
        var a2 = new CountingChatClient("a");
        using RouterChatClient router1 = Router(time, cache1, a1);
        using RouterChatClient router2 = Router(time, cache2, a2);

        ChatResponse answered = await router1.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        Assert.Equal(CacheResult.Miss, answered.GetRoutingInfo()!.Cache);
        Assert.True(await CacheRouter.EventuallyAsync(() => InRedis(cache1, RouterFactory.Hello()), RealTimeLimit), "router 1 never wrote its answer to Redis");

        ChatResponse shared = await router2.GetResponseAsync(RouterFactory.Hello(), null, Ct);

        Assert.Equal(CacheResult.Hit, shared.GetRoutingInfo()!.Cache);
        Assert.Equal(answered.Text, shared.Text);
        Assert.Equal(answered.Usage!.TotalTokenCount, shared.Usage!.TotalTokenCount);
        Assert.Equal(0, a2.Calls);
        Assert.Equal(1, a1.Calls);

        // Streams too, update by update.
        List<ChatResponseUpdate> live = [];
        await foreach (ChatResponseUpdate update in router1.GetStreamingResponseAsync(CacheRouter.Prompt("stream me"), null, Ct))
        {
            live.Add(update);
        }

        Assert.True(await CacheRouter.EventuallyAsync(() => InRedis(cache1, CacheRouter.Prompt("stream me")), RealTimeLimit));
        List<ChatResponseUpdate> replay = [];
        await foreach (ChatResponseUpdate update in router2.GetStreamingResponseAsync(CacheRouter.Prompt("stream me"), null, Ct))
        {
            replay.Add(update);
        }

        Assert.Equal(CacheResult.Hit, replay[0].GetRoutingInfo()!.Cache);
        Assert.Equal(live.Select(u => u.Text), replay.Select(u => u.Text));
        Assert.Equal(live.Select(u => u.FinishReason), replay.Select(u => u.FinishReason));
        Assert.Equal(0, a2.Calls);
    }

    [Fact]
    public async Task TenantsStayApart_InRedisToo()
    {
        redis.Require();
        var time = new ObservableFakeTimeProvider();
        string instance = Instance();
        using RedisCache cache1 = NewRedisCache(instance);
        using RedisCache cache2 = NewRedisCache(instance);
        var a1 = new CountingChatClient("a");
        var a2 = new CountingChatClient("a");
        using RouterChatClient router1 = Router(time, cache1, a1);
        using RouterChatClient router2 = Router(time, cache2, a2);
        ChatOptions Tenant(string name) => new ChatOptions().WithRouting(h => h.Tenant = name);

        _ = await router1.GetResponseAsync(RouterFactory.Hello(), Tenant("one"), Ct);
        Assert.True(await CacheRouter.EventuallyAsync(() => InRedis(cache1, RouterFactory.Hello(), Tenant("one")), RealTimeLimit));

        ChatResponse other = await router2.GetResponseAsync(RouterFactory.Hello(), Tenant("two"), Ct);
        ChatResponse same = await router2.GetResponseAsync(RouterFactory.Hello(), Tenant("one"), Ct);

        Assert.Equal(CacheResult.Miss, other.GetRoutingInfo()!.Cache);
        Assert.Equal(CacheResult.Hit, same.GetRoutingInfo()!.Cache);
        Assert.Equal(1, a2.Calls);
    }

    [Fact]
    public async Task GarbageInRedis_IsAMiss()
    {
        redis.Require();
        var time = new ObservableFakeTimeProvider();
        string instance = Instance();
        using RedisCache cache = NewRedisCache(instance);
        var a = new CountingChatClient("a");
        using RouterChatClient router = Router(time, cache, a);
        await cache.SetAsync(DistributedCacheFaultTests.DistributedKey(RouterFactory.Hello()), "{ not json"u8.ToArray(), new Microsoft.Extensions.Caching.Distributed.DistributedCacheEntryOptions(), Ct);

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);

        Assert.Equal(CacheResult.Miss, response.GetRoutingInfo()!.Cache);
        Assert.Equal("a answer #1", response.Text);

        // The damaged value is replaced by the good answer.
        Assert.True(await CacheRouter.EventuallyAsync(
            async () => await cache.GetAsync(DistributedCacheFaultTests.DistributedKey(RouterFactory.Hello()), Ct) is { } value && value[0] == (byte)'{' && value.Length > 20,
            RealTimeLimit));
    }

    [Fact]
    public async Task RedisKilledMidTest_RequestsStillSucceed_WarningAndErrorCounted_AndItWorksAgainAfterTheRetryInterval()
    {
        redis.Require();
        var time = new ObservableFakeTimeProvider();
        TimeSpan retryInterval = TimeSpan.FromSeconds(5);
        var logs = new FakeLogCollector();
        using ILoggerFactory loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        string instance = Instance();
        using RedisCache cache = NewRedisCache(instance);
        var a = new CountingChatClient("a");
        using RouterChatClient router = Router(time, cache, a, loggerFactory, retryInterval);
        using var measurements = new RouterMeasurements(router);
        try
        {
            _ = await router.GetResponseAsync(CacheRouter.Prompt("before"), null, Ct);
            Assert.True(await CacheRouter.EventuallyAsync(() => InRedis(cache, CacheRouter.Prompt("before")), RealTimeLimit));

            redis.Kill();

            // The memory level serves what it holds; new prompts go upstream; nothing fails.
            ChatResponse fromMemory = await router.GetResponseAsync(CacheRouter.Prompt("before"), null, Ct);
            Assert.Equal(CacheResult.Hit, fromMemory.GetRoutingInfo()!.Cache);
            ChatResponse during = await router.GetResponseAsync(CacheRouter.Prompt("during the outage"), null, Ct).WaitAsync(RealTimeLimit, Ct);
            Assert.Equal("a answer #2", during.Text);
            Assert.Equal(CacheResult.Miss, during.GetRoutingInfo()!.Cache);

            Assert.Equal(1, measurements.Sum("llmrouter.cache.distributed.errors", "llmrouter.cache.operation", "read"));
            Assert.Contains(logs.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("distributed response cache failed to read", StringComparison.Ordinal));

            // Paused: further requests do not touch Redis (no new errors) and are served.
            ChatResponse paused = await router.GetResponseAsync(CacheRouter.Prompt("while paused"), null, Ct).WaitAsync(RealTimeLimit, Ct);
            Assert.Equal("a answer #3", paused.Text);
            Assert.Equal(1, measurements.Sum("llmrouter.cache.distributed.errors"));
            Assert.Equal(CacheResult.Hit, (await router.GetResponseAsync(CacheRouter.Prompt("during the outage"), null, Ct)).GetRoutingInfo()!.Cache);

            await redis.StartAsync();
            Assert.True(redis.Available);

            // Back after the retry interval (virtual time), once the client has reconnected (real time, bounded).
            int attempt = 0;
            bool recovered = await CacheRouter.EventuallyAsync(
                async () =>
                {
                    time.Advance(retryInterval);
                    attempt++;
                    _ = await router.GetResponseAsync(CacheRouter.Prompt($"after {attempt}"), null, Ct).WaitAsync(RealTimeLimit, Ct);
                    return await CacheRouter.EventuallyAsync(() => InRedis(cache, CacheRouter.Prompt($"after {attempt}")), TimeSpan.FromSeconds(1));
                },
                RealTimeLimit);
            Assert.True(recovered, $"Redis was not used again after {attempt} attempt(s)");

            // And a second router over the same Redis reads what the first wrote after the outage.
            using RedisCache cache2 = NewRedisCache(instance);
            var b = new CountingChatClient("b");
            using RouterChatClient router2 = Router(time, cache2, b);
            ChatResponse shared = await router2.GetResponseAsync(CacheRouter.Prompt($"after {attempt}"), null, Ct);
            Assert.Equal(CacheResult.Hit, shared.GetRoutingInfo()!.Cache);
            Assert.Equal(0, b.Calls);
        }
        finally
        {
            if (!redis.Available)
            {
                await redis.StartAsync();
            }
        }
    }

    [Fact]
    public async Task ViaDependencyInjection_AddStackExchangeRedisCache_TwoApplicationsShareTheCache()
    {
        redis.Require();
        string instance = Instance();
        var a1 = new CountingChatClient("a");
        var a2 = new CountingChatClient("a");

        ServiceProvider Build(CountingChatClient endpoint)
        {
            var services = new ServiceCollection();
            _ = services.AddStackExchangeRedisCache(o =>
            {
                o.Configuration = redis.ConnectionString;
                o.InstanceName = instance;
            });
            _ = services.AddLlmRouter(r => r
                .AddEndpoint("a", endpoint)
                .Configure(o =>
                {
                    o.Cache.Enabled = true;
                    o.Cache.UseDistributedCache = true;
                    o.Cache.DistributedTimeout = TimeSpan.FromSeconds(5); // real time here: generous, for a loaded machine
                }));
            return services.BuildServiceProvider();
        }

        using ServiceProvider app1 = Build(a1);
        using ServiceProvider app2 = Build(a2);
        IChatClient client1 = app1.GetRequiredService<IChatClient>();
        IChatClient client2 = app2.GetRequiredService<IChatClient>();

        ChatResponse answered = await client1.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        using RedisCache probe = NewRedisCache(instance);
        Assert.True(await CacheRouter.EventuallyAsync(() => InRedis(probe, RouterFactory.Hello()), RealTimeLimit));
        ChatResponse shared = await client2.GetResponseAsync(RouterFactory.Hello(), null, Ct);

        Assert.Equal(CacheResult.Hit, shared.GetRoutingInfo()!.Cache);
        Assert.Equal(answered.Text, shared.Text);
        Assert.Equal(0, a2.Calls);
    }
}
