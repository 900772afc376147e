using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using static LlmRouter.Tests.TestSupport.ScriptedChatClient;

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

    [Fact]
    public async Task StoredResponse_AnswersAStream_AndAStoredStreamAnswersAPlainRequest()
    {
        var a = new ScriptedChatClient("a").Answers("plain answer").Then(ScriptStep.Stream("streamed ", "answer"));
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Cache.Enabled = true, a);
        List<ChatMessage> first = [new(ChatRole.User, "first")];
        List<ChatMessage> second = [new(ChatRole.User, "second")];

        _ = await router.GetResponseAsync(first, cancellationToken: TestContext.Current.CancellationToken);
        List<ChatResponseUpdate> replayed = [];
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(first, cancellationToken: TestContext.Current.CancellationToken))
        {
            replayed.Add(update);
        }

        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(second, cancellationToken: TestContext.Current.CancellationToken))
        {
            _ = update;
        }

        for (int i = 0; i < 100 && router.Cache.MemoryUsage.Entries < 2; i++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken); // the stream is stored by its pump
        }

        ChatResponse merged = await router.GetResponseAsync(second, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(2, a.Calls);
        Assert.Equal("plain answer", replayed.ToChatResponse().Text);
        Assert.Equal(CacheResult.Hit, replayed[0].GetRoutingInfo()!.Cache);
        Assert.Equal("streamed answer", merged.Text);
        Assert.Equal(CacheResult.Hit, merged.GetRoutingInfo()!.Cache);
    }

    [Fact]
    public async Task RegionRestrictedRequest_NeverGetsAnAnswerCachedForAnUnrestrictedOne()
    {
        var us = new ScriptedChatClient("us").Answers("from us", always: true);
        var eu = new ScriptedChatClient("eu").Answers("from eu", always: true);
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o =>
            {
                o.Cache.Enabled = true;
                o.Strategy = RoutingStrategy.Ordered;
            },
            null,
            ("us", us, e => e.Region = "us-east"),
            ("eu", eu, e => e.Region = "eu-west"));

        ChatResponse open = await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions(), TestContext.Current.CancellationToken);
        ChatResponse restricted = await router.GetResponseAsync(
            RouterFactory.Hello(), new ChatOptions().WithRouting(r => r.AllowedRegions = ["eu"]), TestContext.Current.CancellationToken);
        ChatResponse restrictedAgain = await router.GetResponseAsync(
            RouterFactory.Hello(), new ChatOptions().WithRouting(r => r.AllowedRegions = ["EU"]), TestContext.Current.CancellationToken);

        Assert.Equal("from us", open.Text);
        Assert.Equal("from eu", restricted.Text);
        Assert.Equal(CacheResult.Miss, restricted.GetRoutingInfo()!.Cache);
        Assert.Equal(CacheResult.Hit, restrictedAgain.GetRoutingInfo()!.Cache);
        Assert.Equal("from eu", restrictedAgain.Text);
    }
}
