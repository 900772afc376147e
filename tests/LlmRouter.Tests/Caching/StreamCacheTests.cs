using System.Globalization;
using System.Text;
using System.Text.Json;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using static LlmRouter.Tests.TestSupport.ScriptedChatClient;

namespace LlmRouter.Tests.Caching;

/// <summary>
/// Streams are recorded as they pass and replayed update by update; only a stream that completed with a finish reason
/// (and, without opt-in, no tool call) is stored; replays are copies.
/// </summary>
public sealed class StreamCacheTests
{
    private static readonly DateTimeOffset Created = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A rich stream: a role-only update, reasoning, text over two messages, an optional tool call, usage and a finish reason.</summary>
    private static List<ChatResponseUpdate> RichStream(int call, bool toolCall, ChatFinishReason? finish = null) =>
    [
        new ChatResponseUpdate { Role = ChatRole.Assistant, MessageId = "m1", ResponseId = "r1", ModelId = "model-x", CreatedAt = Created },
        new ChatResponseUpdate { Role = ChatRole.Assistant, MessageId = "m1", Contents = [new TextReasoningContent("let me think") { ProtectedData = "opaque" }] },
        new ChatResponseUpdate(ChatRole.Assistant, $"Answer #{call}, ") { MessageId = "m1", ResponseId = "r1", AuthorName = "bot" },
        new ChatResponseUpdate(ChatRole.Assistant, "in parts.") { MessageId = "m1", ResponseId = "r1", AdditionalProperties = new() { ["provider.flag"] = "kept" } },
        .. toolCall
            ? new[]
            {
                new ChatResponseUpdate
                {
                    Role = ChatRole.Assistant,
                    MessageId = "m2",
                    Contents = [new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris", ["days"] = 3 })],
                },
            }
            : [new ChatResponseUpdate(ChatRole.Assistant, "A second message.") { MessageId = "m2", ResponseId = "r1" }],
        new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            MessageId = "m2",
            ResponseId = "r1",
            FinishReason = finish ?? (toolCall ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop),
            Contents = [new UsageContent(new UsageDetails { InputTokenCount = 12, OutputTokenCount = 7, TotalTokenCount = 19, ReasoningTokenCount = 2 })],
        },
    ];

    private static async Task<List<ChatResponseUpdate>> ReadAll(RouterChatClient router, ChatOptions? options = null, List<ChatMessage>? prompt = null)
    {
        List<ChatResponseUpdate> updates = [];
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(prompt ?? RouterFactory.Hello(), options ?? new ChatOptions(), Ct))
        {
            updates.Add(update);
        }

        return updates;
    }

    /// <summary>Every observable field of an update, routing information aside, as one line.</summary>
    private static string Describe(ChatResponseUpdate update)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{update.Role}|{update.AuthorName}|{update.MessageId}|{update.ResponseId}|{update.ModelId}|{update.CreatedAt:O}|{update.FinishReason}|");
        foreach (AIContent content in update.Contents)
        {
            text.Append(content switch
            {
                TextContent t => $"[text {t.Text}]",
                TextReasoningContent r => $"[reasoning {r.Text} {r.ProtectedData}]",
                FunctionCallContent c => $"[call {c.CallId} {c.Name} {JsonSerializer.Serialize(c.Arguments)}]",
                UsageContent u => $"[usage {u.Details.InputTokenCount} {u.Details.OutputTokenCount} {u.Details.TotalTokenCount} {u.Details.ReasoningTokenCount}]",
                _ => $"[{content.GetType().Name}]",
            });
        }

        foreach ((string key, object? value) in update.AdditionalProperties ?? [])
        {
            if (key != "LlmRouter.RoutingInfo")
            {
                text.Append(CultureInfo.InvariantCulture, $"{{{key}={value}}}");
            }
        }

        return text.ToString();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Replay_EqualsTheOriginalSequence(bool toolCalls)
    {
        var a = new CountingChatClient("a", stream: n => RichStream(n, toolCalls));
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), o => o.Cache.CacheToolCalls = toolCalls, ("a", a));

        List<ChatResponseUpdate> live = await ReadAll(router);
        string[] original = [.. live.Select(Describe)];
        List<ChatResponseUpdate> replay = await ReadAll(router);
        List<ChatResponseUpdate> again = await ReadAll(router);

        Assert.Equal(1, a.Calls);
        Assert.Equal([.. RichStream(1, toolCalls).Select(Describe)], original); // the router passed the stream through as it was
        Assert.Equal(original, replay.Select(Describe));
        Assert.Equal(original, again.Select(Describe));
        Assert.Equal(CacheResult.Miss, live[0].GetRoutingInfo()!.Cache);
        Assert.Equal(CacheResult.Hit, replay[0].GetRoutingInfo()!.Cache);
        Assert.Equal("a", replay[0].GetRoutingInfo()!.Endpoint);
        Assert.All(replay.Skip(1), u => Assert.Null(u.GetRoutingInfo()));

        ChatResponse liveResponse = live.ToChatResponse();
        ChatResponse replayResponse = replay.ToChatResponse();
        Assert.Equal(liveResponse.Text, replayResponse.Text);
        Assert.Equal(liveResponse.Messages.Count, replayResponse.Messages.Count);
        Assert.Equal(liveResponse.FinishReason, replayResponse.FinishReason);
        Assert.Equal(liveResponse.Usage!.TotalTokenCount, replayResponse.Usage!.TotalTokenCount);
        if (toolCalls)
        {
            FunctionCallContent call = Assert.Single(replayResponse.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
            Assert.Equal("get_weather", call.Name);
            Assert.Equal("Paris", call.Arguments!["city"]);
        }
    }

    [Fact]
    public async Task ToolCallStream_WithoutOptIn_IsNotStored()
    {
        var a = new CountingChatClient("a", stream: n => RichStream(n, toolCall: true));
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        _ = await ReadAll(router);
        List<ChatResponseUpdate> second = await ReadAll(router);

        Assert.Equal(2, a.Calls);
        Assert.Equal(CacheResult.Miss, second[0].GetRoutingInfo()!.Cache);
        Assert.Equal(0L, router.Cache.MemoryUsage.Entries);
    }

    [Fact]
    public async Task InterruptedStream_IsNotStored()
    {
        var a = new ScriptedChatClient("a")
            .Then(ScriptStep.StreamFailingAfter(2, RouterFactory.Http(502), "one ", "two ", "three"))
            .Then(ScriptStep.Stream("one ", "two ", "three"));
        using RouterChatClient router = RouterFactory.Create(new ObservableFakeTimeProvider(), o => o.Cache.Enabled = true, a);

        _ = await Assert.ThrowsAsync<StreamInterruptedException>(() => ReadAll(router));
        Assert.Equal(0L, router.Cache.MemoryUsage.Entries);
        List<ChatResponseUpdate> complete = await ReadAll(router);
        List<ChatResponseUpdate> replay = await ReadAll(router);

        Assert.Equal(2, a.Calls);
        Assert.Equal(CacheResult.Miss, complete[0].GetRoutingInfo()!.Cache);
        Assert.Equal(CacheResult.Hit, replay[0].GetRoutingInfo()!.Cache);
        Assert.Equal("one two three", replay.ToChatResponse().Text);
    }

    [Fact]
    public async Task StreamTheCallerAbandons_BeforeUpstreamCompleted_IsNotStored_AndTheUpstreamIsCancelled()
    {
        var a = new ScriptedChatClient("a")
            .Then(ScriptStep.Stream("one ", "two ", "three") with { HangAfterChunks = 1 })
            .Then(ScriptStep.Stream("one ", "two ", "three"));
        using RouterChatClient router = RouterFactory.Create(new ObservableFakeTimeProvider(), o => o.Cache.Enabled = true, a);

        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), null, Ct))
        {
            Assert.Equal("one ", update.Text);
            break; // the only reader leaves while the upstream stream still runs
        }

        await CacheRouter.EventuallyAsync(() => Task.FromResult(a.StreamsDisposed == 1), TimeSpan.FromSeconds(10));
        Assert.True(a.ReceivedTokens[0].IsCancellationRequested);
        Assert.Equal(0L, router.Cache.MemoryUsage.Entries);
        List<ChatResponseUpdate> second = await ReadAll(router);
        Assert.Equal(2, a.Calls);
        Assert.Equal(CacheResult.Miss, second[0].GetRoutingInfo()!.Cache);
    }

    [Fact]
    public async Task StreamTheCallerAbandons_AfterUpstreamCompleted_IsStoredWhole()
    {
        // The upstream stream is read by the cache's pump at its own pace: once it completed, the answer is whole,
        // whatever one reader did with it.
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), null, Ct))
        {
            // Still reading: the pump finishes the upstream stream and stores it; then this reader leaves early.
            Assert.True(await CacheRouter.EventuallyAsync(() => Task.FromResult(router.Cache.MemoryUsage.Entries == 1), TimeSpan.FromSeconds(10)));
            break;
        }

        List<ChatResponseUpdate> replay = await ReadAll(router);
        Assert.Equal(1, a.Calls);
        Assert.Equal(CacheResult.Hit, replay[0].GetRoutingInfo()!.Cache);
        Assert.Equal("a #1 part one, part two", replay.ToChatResponse().Text);
    }

    [Fact]
    public async Task ContentFilteredStream_IsNotStored()
    {
        var a = new CountingChatClient("a", stream: n => RichStream(n, toolCall: false, ChatFinishReason.ContentFilter));
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        List<ChatResponseUpdate> first = await ReadAll(router);
        List<ChatResponseUpdate> second = await ReadAll(router);

        Assert.Equal(ChatFinishReason.ContentFilter, first[^1].FinishReason);
        Assert.Equal(2, a.Calls);
        Assert.Equal(CacheResult.Miss, second[0].GetRoutingInfo()!.Cache);
    }

    [Fact]
    public async Task StreamWithoutFinishReason_IsNotStored()
    {
        var a = new ScriptedChatClient("a")
            .Then(new ScriptStep(StepKind.Stream) { Chunks = ["cut ", "short"], OmitFinishReason = true })
            .Then(ScriptStep.Stream("full"));
        using RouterChatClient router = RouterFactory.Create(new ObservableFakeTimeProvider(), o => o.Cache.Enabled = true, a);

        try
        {
            _ = await ReadAll(router);
        }
        catch (StreamInterruptedException)
        {
            // Endpoints that require a finish reason fail such a stream; either way it must not be stored.
        }

        List<ChatResponseUpdate> second = await ReadAll(router);

        Assert.Equal(2, a.Calls);
        Assert.Equal("full", second.ToChatResponse().Text);
    }

    [Fact]
    public async Task MutatingReplayedOrLiveUpdates_DoesNotAffectLaterReplays()
    {
        var a = new CountingChatClient("a", stream: n => RichStream(n, toolCall: true));
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), o => o.Cache.CacheToolCalls = true, ("a", a));

        List<ChatResponseUpdate> live = await ReadAll(router);
        string[] original = [.. live.Select(Describe)];
        Mutate(live);
        List<ChatResponseUpdate> replay = await ReadAll(router);
        Assert.Equal(original, replay.Select(Describe));

        Mutate(replay);
        List<ChatResponseUpdate> again = await ReadAll(router);
        Assert.Equal(original, again.Select(Describe));
        Assert.Equal(1, a.Calls);

        static void Mutate(List<ChatResponseUpdate> updates)
        {
            foreach (ChatResponseUpdate update in updates)
            {
                update.AuthorName = "mallory";
                update.MessageId = "changed";
                (update.AdditionalProperties ??= [])["provider.flag"] = "changed";
                foreach (AIContent content in update.Contents)
                {
                    switch (content)
                    {
                        case TextContent text:
                            text.Text = "changed";
                            break;
                        case TextReasoningContent reasoning:
                            reasoning.Text = "changed";
                            break;
                        case FunctionCallContent call:
                            call.Arguments!["city"] = "Berlin";
                            call.Arguments.Remove("days");
                            break;
                        case UsageContent usage:
                            usage.Details.InputTokenCount = 999;
                            break;
                    }
                }

                if (update.Contents.Count > 0 && update.Contents[0] is TextContent)
                {
                    update.Contents.Add(new TextContent("appended"));
                }
            }

            updates.RemoveAt(0);
        }
    }

    public static TheoryData<CacheMode> Modes => [CacheMode.Bypass, CacheMode.Refresh, CacheMode.NoStore];

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task StreamCacheModes_ReadAndStoreAsTheyShould(CacheMode mode)
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));
        ChatOptions Mode() => new ChatOptions().WithRouting(h => h.CacheMode = mode);

        // Primed: answer #1 is cached.
        _ = await ReadAll(router);

        List<ChatResponseUpdate> moded = await ReadAll(router, Mode());
        List<ChatResponseUpdate> after = await ReadAll(router);

        bool reads = mode == CacheMode.NoStore;
        bool writes = mode == CacheMode.Refresh;
        Assert.Equal(reads ? 1 : 2, a.Calls);
        Assert.Equal(reads ? "a #1 part one, part two" : "a #2 part one, part two", moded.ToChatResponse().Text);
        Assert.Equal(
            mode switch { CacheMode.Bypass => CacheResult.NotUsed, CacheMode.Refresh => CacheResult.Miss, _ => CacheResult.Hit },
            moded[0].GetRoutingInfo()!.Cache);
        Assert.Equal(CacheResult.Hit, after[0].GetRoutingInfo()!.Cache);
        Assert.Equal(writes ? "a #2 part one, part two" : "a #1 part one, part two", after.ToChatResponse().Text);
    }

    [Fact]
    public async Task NoStoreStream_OnAnEmptyCache_IsNotStored_BypassNeither()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        _ = await ReadAll(router, new ChatOptions().WithRouting(h => h.CacheMode = CacheMode.NoStore));
        _ = await ReadAll(router, new ChatOptions().WithRouting(h => h.CacheMode = CacheMode.Bypass));
        List<ChatResponseUpdate> plain = await ReadAll(router);

        Assert.Equal(3, a.Calls);
        Assert.Equal(CacheResult.Miss, plain[0].GetRoutingInfo()!.Cache);
    }

    [Fact]
    public async Task InvalidHints_OnAStream_ThrowArgumentException()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        _ = await Assert.ThrowsAsync<ArgumentException>(() => ReadAll(router, new ChatOptions().WithRouting(h => h.CacheTimeToLive = TimeSpan.Zero)));
        _ = await Assert.ThrowsAsync<ArgumentException>(() => ReadAll(router, new ChatOptions().WithRouting(h => h.CacheMode = (CacheMode)42)));
        Assert.Equal(0, a.Calls);
    }
}
