using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Caching;

/// <summary>Per-request cache modes and time to live, the router's default time to live, and what is never stored.</summary>
public sealed class CacheControlTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ChatOptions With(Action<RoutingHints> hints) => new ChatOptions().WithRouting(hints);

    /// <summary>Asks for <c>RouterFactory.Hello()</c>; a plain request has empty options (see <see cref="NullOptions_AndOptionsCarryingOnlyCacheHints_AddressTheSameEntry"/> for null).</summary>
    private static async Task<(string Text, CacheResult Cache)> Ask(RouterChatClient router, ChatOptions? options = null)
    {
        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), options ?? new ChatOptions(), Ct);
        return (response.Text, response.GetRoutingInfo()!.Cache);
    }

    [Fact]
    public async Task Bypass_NeitherReadsNorWrites()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));

        // No write: a bypassed answer is not found later.
        Assert.Equal(("a answer #1", CacheResult.NotUsed), await Ask(router, With(h => h.CacheMode = CacheMode.Bypass)));
        Assert.Equal(("a answer #2", CacheResult.Miss), await Ask(router));

        // No read: a cached answer is not served.
        Assert.Equal(("a answer #3", CacheResult.NotUsed), await Ask(router, With(h => h.CacheMode = CacheMode.Bypass)));
        Assert.Equal(("a answer #2", CacheResult.Hit), await Ask(router));
        Assert.Equal(3, a.Calls);
    }

    [Fact]
    public async Task Refresh_DoesNotRead_ButWritesAndReplacesTheEntry()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));

        Assert.Equal(("a answer #1", CacheResult.Miss), await Ask(router));
        Assert.Equal(("a answer #2", CacheResult.Miss), await Ask(router, With(h => h.CacheMode = CacheMode.Refresh)));
        Assert.Equal(("a answer #2", CacheResult.Hit), await Ask(router));
        Assert.Equal(2, a.Calls);
        Assert.Equal(1L, router.Cache.MemoryUsage.Entries);
    }

    [Fact]
    public async Task Refresh_OnAnEmptyCache_Stores()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));

        Assert.Equal(("a answer #1", CacheResult.Miss), await Ask(router, With(h => h.CacheMode = CacheMode.Refresh)));
        Assert.Equal(("a answer #1", CacheResult.Hit), await Ask(router));
    }

    [Fact]
    public async Task NoStore_Reads_ButNeverWrites()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));

        Assert.Equal(("a answer #1", CacheResult.Miss), await Ask(router, With(h => h.CacheMode = CacheMode.NoStore)));
        Assert.Equal(0L, router.Cache.MemoryUsage.Entries);
        Assert.Equal(("a answer #2", CacheResult.Miss), await Ask(router));
        Assert.Equal(("a answer #2", CacheResult.Hit), await Ask(router, With(h => h.CacheMode = CacheMode.NoStore)));
        Assert.Equal(2, a.Calls);
    }

    [Fact]
    public async Task CacheTimeToLiveOverride_ExpiresAtTheExactVirtualTime()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(_time, o => o.Cache.TimeToLive = TimeSpan.FromHours(1), ("a", a));
        TimeSpan ttl = TimeSpan.FromSeconds(10);
        ChatOptions Short() => With(h => h.CacheTimeToLive = ttl);

        Assert.Equal(("a answer #1", CacheResult.Miss), await Ask(router, Short()));
        _time.Advance(ttl - TimeSpan.FromMilliseconds(1));
        Assert.Equal(("a answer #1", CacheResult.Hit), await Ask(router, Short()));
        Assert.Equal(("a answer #1", CacheResult.Hit), await Ask(router)); // the entry's life is set when stored, whoever reads it
        _time.Advance(TimeSpan.FromMilliseconds(2));
        Assert.Equal(("a answer #2", CacheResult.Miss), await Ask(router, Short()));
        Assert.Equal(2, a.Calls);
    }

    [Fact]
    public async Task CacheTimeToLiveOverride_ExactlyAtExpiry_IsAMiss()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));
        ChatOptions Short() => With(h => h.CacheTimeToLive = TimeSpan.FromSeconds(5));

        _ = await Ask(router, Short());
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(("a answer #2", CacheResult.Miss), await Ask(router, Short()));
    }

    [Fact]
    public async Task DefaultTimeToLive_AppliesWithoutAnOverride()
    {
        var a = new CountingChatClient("a");
        TimeSpan ttl = TimeSpan.FromMinutes(5);
        using RouterChatClient router = CacheRouter.Create(_time, o => o.Cache.TimeToLive = ttl, ("a", a));

        Assert.Equal(("a answer #1", CacheResult.Miss), await Ask(router));
        _time.Advance(ttl - TimeSpan.FromMilliseconds(1));
        Assert.Equal(("a answer #1", CacheResult.Hit), await Ask(router));
        _time.Advance(TimeSpan.FromMilliseconds(2));
        Assert.Equal(("a answer #2", CacheResult.Miss), await Ask(router));
    }

    [Fact]
    public async Task DefaultTimeToLive_OfOneHour_IsTheDefault()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));

        _ = await Ask(router);
        _time.Advance(TimeSpan.FromHours(1) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(CacheResult.Hit, (await Ask(router)).Cache);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(CacheResult.Miss, (await Ask(router)).Cache);
    }

    public static TheoryData<string> InvalidHints => ["ttl zero", "ttl negative", "ttl over 30 days", "mode undefined", "mode negative"];

    [Theory]
    [MemberData(nameof(InvalidHints))]
    public async Task InvalidHints_ThrowArgumentExceptionAtTheCall_BeforeAnyEndpointIsCalled(string hint)
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));
        ChatOptions options = With(h =>
        {
            switch (hint)
            {
                case "ttl zero": h.CacheTimeToLive = TimeSpan.Zero; break;
                case "ttl negative": h.CacheTimeToLive = TimeSpan.FromSeconds(-1); break;
                case "ttl over 30 days": h.CacheTimeToLive = TimeSpan.FromDays(30) + TimeSpan.FromTicks(1); break;
                case "mode undefined": h.CacheMode = (CacheMode)42; break;
                default: h.CacheMode = (CacheMode)(-1); break;
            }
        });

        ArgumentException error = await Assert.ThrowsAsync<ArgumentException>(() => router.GetResponseAsync(RouterFactory.Hello(), options, Ct));

        Assert.Equal("options", error.ParamName);
        Assert.Contains(hint.StartsWith("ttl", StringComparison.Ordinal) ? "CacheTimeToLive" : "CacheMode", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, a.Calls);
    }

    [Fact]
    public async Task TimeToLiveOfThirtyDays_IsAccepted()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));

        _ = await Ask(router, With(h => h.CacheTimeToLive = TimeSpan.FromDays(30)));
        _time.Advance(TimeSpan.FromDays(30) - TimeSpan.FromSeconds(1));

        Assert.Equal(CacheResult.Hit, (await Ask(router)).Cache);
    }

    [Fact]
    public async Task Errors_AreNeverCached()
    {
        var a = new CountingChatClient("a") { Failure = call => call == 1 ? RouterFactory.Http(400) : null };
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));

        _ = await Assert.ThrowsAsync<HttpRequestException>(() => Ask(router));
        Assert.Equal(("a answer #2", CacheResult.Miss), await Ask(router));
        Assert.Equal(("a answer #2", CacheResult.Hit), await Ask(router));
        Assert.Equal(2, a.Calls);
    }

    [Fact]
    public async Task AllEndpointsFailed_IsNotCached()
    {
        var a = new CountingChatClient("a") { Failure = call => call <= 10 ? RouterFactory.Http(401) : null };
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));

        _ = await Assert.ThrowsAnyAsync<Exception>(() => Ask(router));
        Assert.Equal(0L, router.Cache.MemoryUsage.Entries);
    }

    [Fact]
    public async Task ContentFilteredResponse_IsNotCached()
    {
        var a = new CountingChatClient("a", answer: n =>
        {
            ChatResponse response = CountingChatClient.Text($"filtered #{n}");
            response.FinishReason = ChatFinishReason.ContentFilter;
            return response;
        });
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));

        Assert.Equal(("filtered #1", CacheResult.Miss), await Ask(router));
        Assert.Equal(("filtered #2", CacheResult.Miss), await Ask(router));
        Assert.Equal(2, a.Calls);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ToolCallResponses_AreCachedOnlyWithCacheToolCalls(bool cacheToolCalls)
    {
        var a = new CountingChatClient("a", answer: n => new ChatResponse(new ChatMessage(
            ChatRole.Assistant,
            [new TextContent($"calling #{n}"), new FunctionCallContent($"call_{n}", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]))
        {
            FinishReason = ChatFinishReason.ToolCalls,
        });
        using RouterChatClient router = CacheRouter.Create(_time, o => o.Cache.CacheToolCalls = cacheToolCalls, ("a", a));

        ChatResponse first = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        ((FunctionCallContent)first.Messages[0].Contents[1]).Arguments!["city"] = "mutated by the caller";
        ChatResponse second = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);

        Assert.Equal(cacheToolCalls ? 1 : 2, a.Calls);
        Assert.Equal(cacheToolCalls ? CacheResult.Hit : CacheResult.Miss, second.GetRoutingInfo()!.Cache);
        FunctionCallContent call = Assert.IsType<FunctionCallContent>(second.Messages[0].Contents[1]);
        Assert.Equal(cacheToolCalls ? "call_1" : "call_2", call.CallId);
        Assert.Equal("Paris", call.Arguments!["city"]);
    }

    [Fact]
    public async Task UncopyableContent_IsServedButNotCached()
    {
        var a = new CountingChatClient("a", answer: n => new ChatResponse(new ChatMessage(
            ChatRole.Assistant, [new TextContent($"#{n}"), new ErrorContent("a non-fatal note")]))
        {
            FinishReason = ChatFinishReason.Stop,
        });
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));

        Assert.Equal(("#1", CacheResult.Miss), await Ask(router));
        Assert.Equal(("#2", CacheResult.Miss), await Ask(router));
        Assert.Equal(0L, router.Cache.MemoryUsage.Entries);
    }

    [Fact]
    public async Task CacheDisabled_NeverUsesIt_AndIgnoresTheHints()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(_time, o => o.Cache.Enabled = false, ("a", a));

        Assert.Equal(("a answer #1", CacheResult.NotUsed), await Ask(router));
        Assert.Equal(("a answer #2", CacheResult.NotUsed), await Ask(router));
        Assert.Equal(2, a.Calls);
    }

    [Fact]
    public async Task HitResponse_AnnotationsAreCopies_MutatingOneDoesNotChangeTheCache()
    {
        var a = new CountingChatClient("a", answer: n =>
        {
            var text = new TextContent($"cited #{n}") { Annotations = [new CitationAnnotation { Title = "original source", Url = new Uri("https://example.com/a") }] };
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, [text])) { FinishReason = ChatFinishReason.Stop };
        });
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));

        ChatResponse first = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        ((CitationAnnotation)first.Messages[0].Contents[0].Annotations![0]).Title = "changed by the first caller";
        ChatResponse second = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        ((CitationAnnotation)second.Messages[0].Contents[0].Annotations![0]).Title = "changed by the second caller";
        ChatResponse third = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);

        Assert.Equal(CacheResult.Hit, third.GetRoutingInfo()!.Cache);
        Assert.Equal("original source", ((CitationAnnotation)third.Messages[0].Contents[0].Annotations![0]).Title);
    }

    [Theory]
    [InlineData(CacheMode.Refresh)]
    [InlineData(CacheMode.NoStore)]
    public async Task NullOptions_AndOptionsCarryingOnlyCacheHints_AddressTheSameEntry(CacheMode mode)
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(_time, null, ("a", a));

        // The caller's plain request passes no options at all, as IChatClient allows.
        ChatResponse plain = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        ChatResponse moded = await router.GetResponseAsync(RouterFactory.Hello(), With(h => h.CacheMode = mode), Ct);
        ChatResponse after = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);

        Assert.Equal("a answer #1", plain.Text);
        if (mode == CacheMode.Refresh)
        {
            // Refresh replaces the entry the plain request reads.
            Assert.Equal("a answer #2", moded.Text);
            Assert.Equal(("a answer #2", CacheResult.Hit), (after.Text, after.GetRoutingInfo()!.Cache));
        }
        else
        {
            // NoStore reads the entry the plain request stored.
            Assert.Equal(("a answer #1", CacheResult.Hit), (moded.Text, moded.GetRoutingInfo()!.Cache));
            Assert.Equal(1, a.Calls);
        }
    }
}
