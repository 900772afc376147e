using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Caching;

/// <summary>The cache's basic contract: a repeated request is answered without a call, with a fresh copy each time.</summary>
public sealed class CacheSmokeTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task RepeatedRequest_IsAHit_AndEachCallerGetsItsOwnCopy()
    {
        var a = new ScriptedChatClient("a").Answers("cached answer", always: true);
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Cache.Enabled = true, a);

        ChatResponse first = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        first.Messages[0].Contents.Clear(); // the caller may mutate its copy
        ChatResponse second = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        ChatResponse third = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(1, a.Calls);
        Assert.Equal(CacheResult.Miss, first.GetRoutingInfo()!.Cache);
        Assert.Equal(CacheResult.Hit, second.GetRoutingInfo()!.Cache);
        Assert.Equal("a", second.GetRoutingInfo()!.Endpoint);
        Assert.Equal("cached answer", second.Text);
        Assert.Equal("cached answer", third.Text);
        Assert.NotSame(second, third);
        Assert.NotSame(second.Messages[0].Contents[0], third.Messages[0].Contents[0]);
    }

    [Fact]
    public async Task Stream_IsReplayedUpdateByUpdate()
    {
        var a = new ScriptedChatClient("a").Streams("one ", "two ", "three");
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Cache.Enabled = true, a);

        List<ChatResponseUpdate> live = [];
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken))
        {
            live.Add(update);
        }

        List<ChatResponseUpdate> replayed = [];
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken))
        {
            replayed.Add(update);
        }

        Assert.Equal(1, a.Calls);
        Assert.Equal(live.Select(u => u.Text), replayed.Select(u => u.Text));
        Assert.Equal(live.Select(u => u.FinishReason), replayed.Select(u => u.FinishReason));
        Assert.Equal(CacheResult.Miss, live[0].GetRoutingInfo()!.Cache);
        Assert.Equal(CacheResult.Hit, replayed[0].GetRoutingInfo()!.Cache);
    }
}
