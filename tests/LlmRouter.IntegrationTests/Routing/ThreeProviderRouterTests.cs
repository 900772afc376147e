using LlmRouter.IntegrationTests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.IntegrationTests.Routing;

/// <summary>One router over the three real SDKs at once, each with its own loopback endpoint, in a bad hour for two of them.</summary>
public sealed class ThreeProviderRouterTests(ProviderServers servers) : IClassFixture<ProviderServers>
{
    private const int Requests = 12;

    [Fact(Timeout = 30_000)]
    public async Task Router_OpenAiDownAnthropicOverloadedOllamaSlow_AnswersEveryRequestFromOllama()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Uri openAiDown = await DownAddressAsync();
        LoopbackProviderServer anthropic = servers.For(Sdk.Anthropic).Otherwise(new Reply { Status = 529, ErrorType = "overloaded_error", ErrorMessage = "Overloaded" });
        LoopbackProviderServer ollama = servers.For(Sdk.Ollama).Otherwise(new Reply
        {
            HeaderDelay = TimeSpan.FromMilliseconds(150), FirstChunkDelay = TimeSpan.FromMilliseconds(100), Chunks = ["from ", "ollama"],
        });
        await using ServiceProvider provider = RouterHost.Build(
            o =>
            {
                o.AttemptTimeout = TimeSpan.FromSeconds(3);
                o.Streaming.FirstTokenTimeout = TimeSpan.FromSeconds(3);
                o.Streaming.StallTimeout = TimeSpan.FromSeconds(3);
                o.Health.FailureThreshold = 3;
            },
            ("openai", SdkClients.OpenAi(new Uri(openAiDown, "v1")), null),
            ("anthropic", SdkClients.For(Sdk.Anthropic, anthropic), null),
            ("ollama", SdkClients.For(Sdk.Ollama, ollama), null));
        RouterChatClient router = provider.GetRequiredService<RouterChatClient>();

        var served = new List<RoutingInfo>();
        for (int i = 0; i < Requests; i++)
        {
            if (i % 2 == 0)
            {
                ChatResponse response = await router.GetResponseAsync("hello", cancellationToken: ct);
                Assert.Equal("from ollama", response.Text);
                served.Add(response.GetRoutingInfo()!);
            }
            else
            {
                var updates = new List<ChatResponseUpdate>();
                await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync("hello", cancellationToken: ct))
                {
                    updates.Add(update);
                }

                Assert.Equal("from ollama", string.Concat(updates.Select(u => u.Text)));
                served.Add(updates[0].GetRoutingInfo()!);
            }
        }

        Assert.All(served, info => Assert.Equal("ollama", info.Endpoint));
        Assert.Equal(Requests, ollama.RequestCount);

        // Failures were classified as they are: a refused connection and 529 are transient.
        RoutingAttempt[] failures = [.. served.SelectMany(i => i.Attempts).Where(a => a.Failure is not null)];
        Assert.All(failures.Where(a => a.Endpoint == "openai"), a => Assert.Equal(FailureKind.Transient, a.Failure));
        Assert.All(failures.Where(a => a.Endpoint == "anthropic"), a => Assert.Equal(FailureKind.Transient, a.Failure));

        // Traffic where it should be: once their circuits opened, the broken endpoints stopped being asked, so the
        // later requests went straight to Ollama, and Anthropic saw only a few requests, not two per request.
        Assert.InRange(anthropic.RequestCount, 1, 2 * 3);
        Assert.All(served.Skip(Requests / 2), info => Assert.Single(info.Attempts));
        IReadOnlyList<EndpointSnapshot> snapshot = router.GetSnapshot();
        Assert.Equal(HealthState.Open, snapshot.Single(s => s.Endpoint == "openai").Health);
        Assert.Equal(HealthState.Open, snapshot.Single(s => s.Endpoint == "anthropic").Health);
    }

    private static async Task<Uri> DownAddressAsync()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await Task.Yield();
        return new Uri($"http://127.0.0.1:{port}/");
    }
}
