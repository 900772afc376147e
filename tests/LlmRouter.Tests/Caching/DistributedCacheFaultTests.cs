using System.Text;
using System.Text.Json.Nodes;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace LlmRouter.Tests.Caching;

/// <summary>
/// The distributed level is best effort: a slow or hanging one costs at most <see cref="CacheOptions.DistributedTimeout"/>
/// of virtual time and is then left alone for <see cref="CacheOptions.DistributedRetryInterval"/>; a damaged or foreign
/// value is a miss, never an exception.
/// </summary>
public sealed class DistributedCacheFaultTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RealTimeLimit = TimeSpan.FromSeconds(10);

    private readonly ObservableFakeTimeProvider _time = new();
    private readonly FakeLogCollector _logs = new();
    private readonly ILoggerFactory _loggerFactory;

    public DistributedCacheFaultTests() => _loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(_logs)).SetMinimumLevel(LogLevel.Debug));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _lastRouter?.Dispose();
        _loggerFactory.Dispose();
    }

    private RouterChatClient Create(FakeDistributedCache distributed, CountingChatClient endpoint) =>
        CacheRouter.Create(
            _time,
            o =>
            {
                o.Cache.UseDistributedCache = true;
                o.Cache.DistributedTimeout = Timeout;
                o.Cache.DistributedRetryInterval = RetryInterval;
            },
            distributed,
            _loggerFactory,
            ("a", endpoint));

    private int Warnings() => _logs.GetSnapshot().Count(r => r.Level == LogLevel.Warning && r.Message.Contains("distributed response cache failed", StringComparison.Ordinal));

    internal static string DistributedKey(List<ChatMessage> messages, ChatOptions? options = null)
    {
        Assert.True(CacheKeyBuilder.TryCreate(messages, options, options?.GetRoutingHints(), out CacheKey key, out _));
        return key.ToDistributedKey("llmrouter:");
    }

    [Fact]
    public async Task HangingRead_TheRequestIsServedUpstreamAfterTheTimeout_AndTheCacheIsLeftAloneForTheRetryInterval()
    {
        var distributed = new FakeDistributedCache(hangReads: true, hangWrites: false);
        var a = new CountingChatClient("a");
        using RouterChatClient router = Create(distributed, a);
        using var measurements = new RouterMeasurements(router);

        Task<ChatResponse> request = router.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        await distributed.ReadEntered.WaitAsync(RealTimeLimit, Ct);
        _time.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        Assert.False(request.IsCompleted, "the request did not wait for the distributed cache");
        Assert.Equal(0, a.Calls);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        ChatResponse response = await request.WaitAsync(RealTimeLimit, Ct);

        Assert.Equal("a answer #1", response.Text);
        Assert.Equal(CacheResult.Miss, response.GetRoutingInfo()!.Cache);
        Assert.True(distributed.Tokens.First().IsCancellationRequested);
        Assert.Equal(1, measurements.Sum("llmrouter.cache.distributed.errors", "llmrouter.cache.operation", "read"));
        Assert.Equal(1, Warnings());
        Assert.Equal(0, distributed.Writes); // paused: the answer is kept in memory only

        // Left alone for the retry interval: other requests neither read nor write it, and wait for nothing.
        ChatResponse other = await router.GetResponseAsync(CacheRouter.Prompt("other"), null, Ct).WaitAsync(RealTimeLimit, Ct);
        Assert.Equal("a answer #2", other.Text);
        _time.Advance(RetryInterval - TimeSpan.FromMilliseconds(2));
        _ = await router.GetResponseAsync(CacheRouter.Prompt("another"), null, Ct).WaitAsync(RealTimeLimit, Ct);
        Assert.Equal(1, distributed.Reads);
        Assert.Equal(0, distributed.Writes);

        // The memory level still serves what it holds, without the distributed cache.
        Assert.Equal(CacheResult.Hit, (await router.GetResponseAsync(RouterFactory.Hello(), null, Ct)).GetRoutingInfo()!.Cache);

        // After the interval it is tried again.
        _time.Advance(TimeSpan.FromMilliseconds(2));
        distributed.Reset();
        Task<ChatResponse> retried = router.GetResponseAsync(CacheRouter.Prompt("after the pause"), null, Ct);
        await distributed.ReadEntered.WaitAsync(RealTimeLimit, Ct);
        Assert.Equal(2, distributed.Reads);
        _time.Advance(Timeout);
        Assert.Equal("a answer #4", (await retried.WaitAsync(RealTimeLimit, Ct)).Text);
        Assert.Equal(2, measurements.Sum("llmrouter.cache.distributed.errors", "llmrouter.cache.operation", "read"));
    }

    [Fact]
    public async Task HangingWrite_DoesNotDelayTheAnswer_TimesOut_AndPausesTheCache()
    {
        var distributed = new FakeDistributedCache(hangReads: false, hangWrites: true);
        var a = new CountingChatClient("a");
        using RouterChatClient router = Create(distributed, a);
        using var measurements = new RouterMeasurements(router);

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct).WaitAsync(RealTimeLimit, Ct);
        Assert.Equal("a answer #1", response.Text);
        await distributed.WriteEntered.WaitAsync(RealTimeLimit, Ct);
        Assert.Equal(1, distributed.Reads);

        _time.Advance(Timeout);
        Assert.True(
            await CacheRouter.EventuallyAsync(() => measurements.Sum("llmrouter.cache.distributed.errors", "llmrouter.cache.operation", "write") == 1 && Warnings() == 1, RealTimeLimit),
            "the hanging write was not counted and logged as a failure");
        Assert.True(distributed.Tokens.Last().IsCancellationRequested);

        _ = await router.GetResponseAsync(CacheRouter.Prompt("other"), null, Ct).WaitAsync(RealTimeLimit, Ct);
        Assert.Equal(1, distributed.Reads);
        Assert.Equal(1, distributed.Writes);
    }

    [Fact]
    public async Task Hit_FromTheDistributedCache_IsReadThroughIntoMemory()
    {
        var distributed = new FakeDistributedCache(hangReads: false, hangWrites: false);
        var a = new CountingChatClient("a");
        var b = new CountingChatClient("b");
        using RouterChatClient writer = Create(distributed, a);
        using RouterChatClient reader = Create(distributed, b);

        ChatResponse written = await writer.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        Assert.True(await CacheRouter.EventuallyAsync(() => distributed.Values.ContainsKey(DistributedKey(RouterFactory.Hello())), RealTimeLimit));

        ChatResponse read = await reader.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        Assert.Equal(CacheResult.Hit, read.GetRoutingInfo()!.Cache);
        Assert.Equal(written.Text, read.Text);
        Assert.Equal("a", read.GetRoutingInfo()!.Endpoint);
        Assert.Equal(0, b.Calls);
        Assert.Equal(1L, reader.Cache.MemoryUsage.Entries);

        distributed.Values.Clear();
        Assert.Equal(written.Text, (await reader.GetResponseAsync(RouterFactory.Hello(), null, Ct)).Text); // from memory now
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task DistributedEntry_ExpiresOnTheRouterClock()
    {
        var distributed = new FakeDistributedCache(hangReads: false, hangWrites: false);
        var a = new CountingChatClient("a");
        var b = new CountingChatClient("b");
        using RouterChatClient writer = Create(distributed, a);
        using RouterChatClient reader = Create(distributed, b);

        _ = await writer.GetResponseAsync(RouterFactory.Hello(), new ChatOptions().WithRouting(h => h.CacheTimeToLive = TimeSpan.FromMinutes(1)), Ct);
        Assert.True(await CacheRouter.EventuallyAsync(() => !distributed.Values.IsEmpty, RealTimeLimit));
        _time.Advance(TimeSpan.FromMinutes(1));

        ChatResponse read = await reader.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        Assert.Equal(CacheResult.Miss, read.GetRoutingInfo()!.Cache);
        Assert.Equal(1, b.Calls);
    }

    public static TheoryData<string, bool> Corruptions => new()
    {
        { "garbage bytes", false }, { "garbage bytes", true },
        { "empty", false },
        { "json array", false },
        { "version 2", false },
        { "version as string", false },
        { "negative guard", false },
        { "another request's entry", false }, { "another request's entry", true },
        { "expired", false },
        { "truncated", false }, { "truncated", true },
        { "no body", false },
        { "null response", false },
        { "null update", true },
        { "updates not an array", true },
        { "endpoint a number", false },
        { "unknown content type", false },
    };

    /// <summary>Values that parse as JSON of the right shape but hold content the Microsoft.Extensions.AI types reject (their constructors throw <see cref="ArgumentException"/>).</summary>
    public static TheoryData<string, bool> InvalidContent => new()
    {
        { "empty role", false }, { "empty role", true },
        { "invalid media type", false },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public Task CorruptedOrForeignValue_IsAMiss_NeverAnException(string corruption, bool streaming) => AssertMissAsync(corruption, streaming);

    [Theory]
    [MemberData(nameof(InvalidContent))]
    public Task ValueWithInvalidContent_IsAMiss_NeverAnException(string corruption, bool streaming) => AssertMissAsync(corruption, streaming);

    [Fact]
    public async Task StreamEntryWithUncopyableContent_IsAMiss_NeverAnException()
    {
        await AssertMissAsync("uncopyable update content", streaming: true);

        // And it was not read through into memory, to fail the next request too.
        List<ChatResponseUpdate> updates = [];
        await foreach (ChatResponseUpdate update in _lastRouter!.GetStreamingResponseAsync(RouterFactory.Hello(), null, Ct))
        {
            updates.Add(update);
        }

        Assert.Equal(CacheResult.Hit, updates[0].GetRoutingInfo()!.Cache);
    }

    private RouterChatClient? _lastRouter;

    private async Task AssertMissAsync(string corruption, bool streaming)
    {
        var distributed = new FakeDistributedCache(hangReads: false, hangWrites: false);
        var a = new CountingChatClient("a");
        RouterChatClient router = Create(distributed, a);
        _lastRouter?.Dispose();
        _lastRouter = router;
        string key = DistributedKey(RouterFactory.Hello());
        distributed.Values[key] = Corrupt(corruption, streaming);

        string text;
        CacheResult cache;
        if (streaming)
        {
            List<ChatResponseUpdate> updates = [];
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), null, Ct))
            {
                updates.Add(update);
            }

            text = updates.ToChatResponse().Text;
            cache = updates[0].GetRoutingInfo()!.Cache;
        }
        else
        {
            ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);
            text = response.Text;
            cache = response.GetRoutingInfo()!.Cache;
        }

        Assert.Equal(CacheResult.Miss, cache);
        Assert.Equal(streaming ? "a #1 part one, part two" : "a answer #1", text);
        Assert.Equal(1, a.Calls);
        Assert.Equal(0, Warnings()); // a damaged value is not a failure of the cache
    }

    /// <summary>A value planted under the key of <c>RouterFactory.Hello()</c>.</summary>
    private byte[] Corrupt(string corruption, bool streaming)
    {
        Assert.True(CacheKeyBuilder.TryCreate(RouterFactory.Hello(), null, null, out CacheKey key, out _));
        Assert.True(CacheKeyBuilder.TryCreate(CacheRouter.Prompt("another request"), null, null, out CacheKey other, out _));
        DateTimeOffset expires = _time.GetUtcNow() + TimeSpan.FromHours(1);
        ChatResponse response = CountingChatClient.Text("planted");
        ChatResponseUpdate[] updates = [.. CountingChatClient.DefaultStream("planted")];
        byte[] Valid(CacheKey k, DateTimeOffset at, bool stream) =>
            CacheEntrySerializer.Serialize(new CacheEntry(k, "x", stream ? null : response, stream ? updates : null, at));
        byte[] Edit(Action<JsonObject> edit, bool streaming)
        {
            JsonObject root = JsonNode.Parse(Valid(key, expires, streaming))!.AsObject();
            edit(root);
            return Encoding.UTF8.GetBytes(root.ToJsonString());
        }

        switch (corruption)
        {
            case "garbage bytes":
                byte[] garbage = new byte[256];
                new Random(7).NextBytes(garbage);
                return garbage;
            case "empty":
                return [];
            case "json array":
                return "[1,2,3]"u8.ToArray();
            case "version 2":
                return Edit(r => r["v"] = 2, streaming);
            case "version as string":
                return Edit(r => r["v"] = "1", streaming);
            case "negative guard":
                return Edit(r => r["check"] = -1, streaming);
            case "another request's entry":
                return Valid(other, expires, streaming);
            case "expired":
                return Valid(key, _time.GetUtcNow() - TimeSpan.FromSeconds(1), streaming);
            case "truncated":
                byte[] valid = Valid(key, expires, streaming);
                return valid[..(valid.Length / 2)];
            case "no body":
                return Edit(r => r.Remove("response"), streaming: false);
            case "null response":
                return Edit(r => r["response"] = null, streaming: false);
            case "null update":
                return Edit(r => r["updates"]!.AsArray()[1] = null, streaming: true);
            case "updates not an array":
                return Edit(r => r["updates"] = "none", streaming: true);
            case "endpoint a number":
                return Edit(r => r["endpoint"] = 42, streaming);
            case "response where a stream is expected":
                return Valid(key, expires, stream: false);
            case "unknown content type":
                return Edit(r => r["response"]!["messages"]![0]!["contents"]![0]!["$type"] = "no-such-type", streaming: false);
            case "empty role":
                return streaming
                    ? Edit(r => r["updates"]![0]!["role"] = string.Empty, streaming: true)
                    : Edit(r => r["response"]!["messages"]![0]!["role"] = string.Empty, streaming: false);
            case "invalid media type":
                return Edit(
                    r => r["response"]!["messages"]![0]!["contents"] = JsonNode.Parse("""[{ "$type": "uri", "uri": "https://example.com/a.png", "mediaType": "not a media type" }]"""),
                    streaming: false);
            case "uncopyable update content":
                return Edit(r => r["updates"]![0]!["contents"] = JsonNode.Parse("""[{ "$type": "error", "message": "from another version" }]"""), streaming: true);
            default:
                throw new ArgumentOutOfRangeException(nameof(corruption), corruption, null);
        }
    }
}
