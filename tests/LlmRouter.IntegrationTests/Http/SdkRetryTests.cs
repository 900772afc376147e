using LlmRouter.IntegrationTests.TestSupport;
using Microsoft.Extensions.AI;
using OpenAI;

namespace LlmRouter.IntegrationTests.Http;

/// <summary>The SDKs' own retries, counted on the wire: what they do by default, and that the recommended settings turn them off.</summary>
public sealed class SdkRetryTests(ProviderServers servers) : IClassFixture<ProviderServers>
{
    private const int TestTimeoutMs = 20_000;

    // retry-after-ms keeps the SDKs' own backoff (0.8 s and more) out of the test's time.
    private static Reply Overloaded => new() { Status = 503, ErrorType = "api_error", ErrorMessage = "Service unavailable", Headers = [("retry-after-ms", "1")] };

    [Theory(Timeout = TestTimeoutMs)]
    [InlineData(Sdk.OpenAi, true, 4)]    // ClientRetryPolicy: 3 retries
    [InlineData(Sdk.Anthropic, true, 3)] // MaxRetries: 2
    [InlineData(Sdk.Ollama, true, 1)]    // OllamaSharp does not retry
    [InlineData(Sdk.OpenAi, false, 1)]
    [InlineData(Sdk.Anthropic, false, 1)]
    public async Task Sdk_ProviderAnswers503_HitsPerCall(Sdk sdk, bool sdkDefaults, int hits)
    {
        LoopbackProviderServer server = servers.For(sdk).Otherwise(Overloaded);
        IChatClient client = SdkClients.For(sdk, server, sdkRetries: sdkDefaults);

        _ = await Assert.ThrowsAnyAsync<Exception>(() => client.GetResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(hits, server.RequestCount);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Router_OverSdkDefaults_MultipliesAttempts()
    {
        // Two router attempts on the endpoint become 8 requests with the OpenAI SDK's defaults.
        LoopbackProviderServer server = servers.For(Sdk.OpenAi).Otherwise(Overloaded);
        var backup = new BackupChatClient();
        await using var provider = RouterHost.Build(
            o => o.AttemptTimeout = TimeSpan.FromSeconds(5), ("primary", SdkClients.For(Sdk.OpenAi, server, sdkRetries: true), null), ("backup", backup, null));

        ChatResponse response = await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<IChatClient>(provider).GetResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(BackupChatClient.Text, response.Text);
        Assert.Equal(8, server.RequestCount);
    }

    [Fact]
    public void WithoutRetries_OnOpenAiOptions_SetsAZeroRetryPolicy()
    {
        OpenAIClientOptions options = new OpenAIClientOptions().WithoutRetries();

        Assert.IsType<System.ClientModel.Primitives.ClientRetryPolicy>(options.RetryPolicy);
    }

    [Fact]
    public void GetSdkMaxRetries_TellsWhatEachSdkExposes()
    {
        var anywhere = new Uri("http://127.0.0.1:9/");
        Assert.Equal(2, LlmSdkRetries.GetSdkMaxRetries(SdkClients.Anthropic(anywhere, sdkRetries: true)));
        Assert.Equal(0, LlmSdkRetries.GetSdkMaxRetries(SdkClients.Anthropic(anywhere)));
        Assert.Equal(0, LlmSdkRetries.GetSdkMaxRetries(SdkClients.Ollama(anywhere)));
        Assert.Null(LlmSdkRetries.GetSdkMaxRetries(SdkClients.OpenAi(new Uri(anywhere, "v1"))));

        // Through a decorator too.
        IChatClient decorated = new ChatClientBuilder(SdkClients.Anthropic(anywhere, sdkRetries: true)).UseFunctionInvocation().Build();
        Assert.Equal(2, LlmSdkRetries.GetSdkMaxRetries(decorated));
    }
}
