using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using static LlmRouter.Tests.TestSupport.ScriptedChatClient;

namespace LlmRouter.Tests.Streaming;

/// <summary>A stream that ends without a finish reason was cut short: never a silent success.</summary>
public sealed class FinishReasonTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task Stream_EndsAfterOutputWithoutFinishReason_ThrowsStreamInterruptedWithThePartialText()
    {
        var a = new ScriptedChatClient("a").Then(ScriptStep.Stream("Hel", "lo") with { OmitFinishReason = true });
        var b = new ScriptedChatClient("b").Streams("from b");
        using RouterChatClient router = RouterFactory.Create(_time, null, a, b);
        var received = new List<string>();

        StreamInterruptedException error = await Assert.ThrowsAsync<StreamInterruptedException>(async () =>
        {
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken))
            {
                received.Add(update.Text);
            }
        });

        Assert.Equal(["Hel", "lo"], received);
        Assert.Equal("Hello", error.PartialText);
        Assert.IsType<InvalidDataException>(error.InnerException);
        Assert.Contains("RequiresFinishReason", error.InnerException!.Message, StringComparison.Ordinal);
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task Stream_EndsBeforeAnyOutputWithoutFinishReason_FailsOverInvisibly()
    {
        var a = new ScriptedChatClient("a").Then(ScriptStep.Stream() with { OmitFinishReason = true, LeadingRoleUpdate = true });
        var b = new ScriptedChatClient("b").Streams("from b");
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Retry.MaxRetriesPerEndpoint = 0, a, b);
        var received = new List<ChatResponseUpdate>();

        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken))
        {
            received.Add(update);
        }

        Assert.Equal("from b", string.Concat(received.Select(u => u.Text)));
        RoutingInfo info = received[0].GetRoutingInfo()!;
        Assert.Equal("b", info.Endpoint);
        Assert.Equal(FailureKind.Transient, info.Attempts[0].Failure);
    }

    [Fact]
    public async Task Stream_EndpointThatNeverSendsAFinishReason_IsServedWhenConfiguredSo()
    {
        var a = new ScriptedChatClient("a").Then(ScriptStep.Stream("Hel", "lo") with { OmitFinishReason = true });
        using RouterChatClient router = RouterFactory.Create(_time, null, null, ("a", a, e => e.RequiresFinishReason = false));
        var received = new List<string>();

        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken))
        {
            received.Add(update.Text);
        }

        Assert.Equal("Hello", string.Concat(received));
    }

    [Fact]
    public async Task Stream_FinishReasonFollowedByAUsageUpdate_IsComplete()
    {
        var a = new ScriptedChatClient("a").Streams("Hel", "lo"); // the finish update carries usage too
        using RouterChatClient router = RouterFactory.Create(_time, null, a);

        ChatResponse response = await router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken)
            .ToChatResponseAsync(TestContext.Current.CancellationToken);

        Assert.Equal("Hello", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }
}
