using LlmRouter.IntegrationTests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.IntegrationTests.Matrix;

/// <summary>Cases the router once got wrong with real SDKs: a streamed refusal before any output, and SDKs that ignore cancellation while they read.</summary>
public sealed class RouterRegressionTests(ProviderServers servers) : IClassFixture<ProviderServers>
{
    [Theory(Timeout = 15_000)]
    [InlineData(Sdk.OpenAi)]
    [InlineData(Sdk.Anthropic)]
    public async Task Streaming_RefusalBeforeOutput_FailsOverToContentFilterFallback(Sdk sdk)
    {
        LoopbackProviderServer server = servers.For(sdk);
        _ = server.Enqueue(FaultCatalog.For(sdk, Fault.ContentFilter, streaming: true)!);
        var backup = new BackupChatClient();
        await using ServiceProvider provider = RouterHost.Build(
            null, ("primary", SdkClients.For(sdk, server), null), ("backup", backup, e => e.IsContentFilterFallback = true));

        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in provider.GetRequiredService<IChatClient>().GetStreamingResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken))
        {
            updates.Add(update);
        }

        Assert.Equal(BackupChatClient.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(FailureKind.ContentFilter, updates[0].GetRoutingInfo()!.Attempts[0].Failure);
    }

    [Theory(Timeout = 30_000)]
    [InlineData(Fault.DelayBeforeFirstChunk)]
    [InlineData(Fault.StallAfterOutput)]
    public async Task Ollama_StreamStalls_RouterTimesOutWithinItsTimeout(Fault fault)
    {
        LoopbackProviderServer server = servers.For(Sdk.Ollama);
        _ = server.Enqueue(FaultCatalog.For(Sdk.Ollama, fault, streaming: true)!);
        var backup = new BackupChatClient();
        await using ServiceProvider provider = RouterHost.Build(null, ("primary", SdkClients.For(Sdk.Ollama, server), null), ("backup", backup, null));
        IChatClient router = provider.GetRequiredService<IChatClient>();
        var started = System.Diagnostics.Stopwatch.StartNew();

        FailureKind? kind;
        try
        {
            var updates = new List<ChatResponseUpdate>();
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken))
            {
                updates.Add(update);
            }

            kind = updates[0].GetRoutingInfo()!.Attempts[0].Failure;
        }
        catch (StreamInterruptedException e)
        {
            kind = e.Attempts[^1].Failure;
        }

        Assert.Equal(FailureKind.Timeout, kind);
        Assert.True(started.Elapsed < RouterHost.Timeout * 5, $"took {started.Elapsed}");
    }
}
