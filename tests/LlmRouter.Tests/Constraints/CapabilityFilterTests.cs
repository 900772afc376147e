using System.Text.Json;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.Constraints;

/// <summary>Requests go only where they fit: tools, images, JSON schema, context window and output cap.</summary>
public sealed class CapabilityFilterTests
{
    private readonly FakeTimeProvider _time = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Tools_GoOnlyToToolCallingEndpoints()
    {
        var plain = new SwitchableChatClient("plain");
        var tools = new SwitchableChatClient("tools");
        using RouterChatClient router = Create((plain, e => { e.SupportsToolCalling = false; e.InputCostPerMillionTokens = 0; }), (tools, e => e.InputCostPerMillionTokens = 10));
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create(() => 42, "answer")] };

        List<RoutingInfo> infos = await SendManyAsync(router, 20, options);

        Assert.All(infos, i => Assert.Equal("tools", i.Endpoint));
        Assert.Equal(0, plain.Calls);
        Assert.Contains(infos[0].Excluded, e => e is { Endpoint: "plain", Reason: ExclusionReason.Capability });

        // Without tools the cheap endpoint serves again.
        Assert.Equal("plain", (await router.GetResponseAsync(RouterFactory.Hello(), null, Ct)).GetRoutingInfo()!.Endpoint);
    }

    [Fact]
    public async Task Images_GoOnlyToImageCapableEndpoints()
    {
        var text = new SwitchableChatClient("text");
        var vision = new SwitchableChatClient("vision");
        using RouterChatClient router = Create((text, e => e.SupportsImageInput = false), (vision, e => e.InputCostPerMillionTokens = 10));
        List<ChatMessage> messages = [new(ChatRole.User, [new TextContent("what is this?"), new DataContent(new byte[] { 1, 2, 3 }, "image/png")])];
        List<ChatMessage> linked = [new(ChatRole.User, [new UriContent(new Uri("https://example.test/cat.jpg"), "image/jpeg")])];

        for (int i = 0; i < 10; i++)
        {
            Assert.Equal("vision", (await router.GetResponseAsync(i % 2 == 0 ? messages : linked, null, Ct)).GetRoutingInfo()!.Endpoint);
        }

        Assert.Equal(0, text.Calls);
    }

    [Fact]
    public async Task JsonSchema_GoesOnlyToEndpointsThatSupportIt_PlainJsonGoesAnywhere()
    {
        var loose = new SwitchableChatClient("loose");
        var strict = new SwitchableChatClient("strict");
        using RouterChatClient router = Create((loose, e => e.SupportsJsonSchema = false), (strict, e => e.InputCostPerMillionTokens = 10));
        using JsonDocument schema = JsonDocument.Parse("""{"type":"object","properties":{"a":{"type":"string"}}}""");
        var withSchema = new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement.Clone(), "thing") };

        Assert.All(await SendManyAsync(router, 10, withSchema), i => Assert.Equal("strict", i.Endpoint));
        Assert.Equal(0, loose.Calls);
        Assert.Equal("loose", (await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { ResponseFormat = ChatResponseFormat.Json }, Ct)).GetRoutingInfo()!.Endpoint);
    }

    [Fact]
    public async Task ContextWindow_LongPromptGoesOnlyWhereInputAndOutputFit()
    {
        var small = new SwitchableChatClient("small");
        var large = new SwitchableChatClient("large");
        using RouterChatClient router = Create((small, e => e.ContextWindowTokens = 8_000), (large, e => { e.ContextWindowTokens = 200_000; e.InputCostPerMillionTokens = 10; }));
        string longText = string.Join(' ', Enumerable.Range(0, 9_000).Select(i => $"word{i % 50}"));
        List<ChatMessage> longPrompt = [new(ChatRole.User, longText)];

        RoutingInfo longInfo = (await router.GetResponseAsync(longPrompt, null, Ct)).GetRoutingInfo()!;
        RoutingInfo shortInfo = (await router.GetResponseAsync(RouterFactory.Hello(), null, Ct)).GetRoutingInfo()!;
        RoutingInfo outputInfo = (await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { MaxOutputTokens = 7_999 }, Ct)).GetRoutingInfo()!;

        Assert.Equal("large", longInfo.Endpoint);
        EndpointExclusion exclusion = Assert.Single(longInfo.Excluded);
        Assert.Equal(ExclusionReason.Capability, exclusion.Reason);
        Assert.Contains("ContextWindowTokens (8000)", exclusion.Detail, StringComparison.Ordinal);
        Assert.Equal("small", shortInfo.Endpoint);
        Assert.Equal("large", outputInfo.Endpoint); // a short prompt, but its output cap leaves no room
        Assert.Equal(1, small.Calls);
    }

    [Fact]
    public async Task MaxOutputTokens_AboveTheEndpointsCap_GoesElsewhere_AndNothingFitsThrowsWithEveryReason()
    {
        var capped = new SwitchableChatClient("capped");
        var noTools = new SwitchableChatClient("no-tools");
        using RouterChatClient router = Create((capped, e => e.MaxOutputTokens = 4_096), (noTools, e => e.SupportsToolCalling = false));

        Assert.Equal("no-tools", (await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { MaxOutputTokens = 8_000 }, Ct)).GetRoutingInfo()!.Endpoint);
        NoEndpointAvailableException exception = await Assert.ThrowsAsync<NoEndpointAvailableException>(() => router.GetResponseAsync(
            RouterFactory.Hello(), new ChatOptions { MaxOutputTokens = 8_000, Tools = [AIFunctionFactory.Create(() => 1, "one")] }, Ct));

        Assert.Equal(1, noTools.Calls);
        Assert.Equal(0, capped.Calls);
        Assert.Contains("MaxOutputTokens (8000) exceeds the endpoint's MaxOutputTokens (4096)", exception.Message, StringComparison.Ordinal);
        Assert.Contains("SupportsToolCalling is false", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TokenEstimator_ShortRequestIsSettledByTheCharacterBound_LongOneIsCounted()
    {
        var facts = new RequestFacts(RouterFactory.Hello(), null);
        Assert.True(facts.Fits(100));

        string text = string.Concat(Enumerable.Repeat("hello world ", 1_000)); // 12,000 characters, 2,000 tokens
        var near = new RequestFacts([new(ChatRole.User, text)], null);
        Assert.True(near.Fits(3_000)); // the character bound (36,000) cannot tell: the tokenizer says it fits
        Assert.InRange(near.ExactTokens, 1_900, 2_100);
        Assert.False(near.Fits(1_500));
    }

    private static async Task<List<RoutingInfo>> SendManyAsync(RouterChatClient router, int count, ChatOptions options)
    {
        var infos = new List<RoutingInfo>();
        for (int i = 0; i < count; i++)
        {
            router.RefreshSnapshots();
            infos.Add((await router.GetResponseAsync(RouterFactory.Hello(), options, Ct)).GetRoutingInfo()!);
        }

        return infos;
    }

    private RouterChatClient Create(params (SwitchableChatClient Client, Action<EndpointOptions> Configure)[] endpoints) =>
        RouterFactory.Create(_time, null, null, [.. endpoints.Select(e => (e.Client.Name, (IChatClient)e.Client, (Action<EndpointOptions>?)e.Configure))]);
}
