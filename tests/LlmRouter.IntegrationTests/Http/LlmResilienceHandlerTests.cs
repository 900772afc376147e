using System.Net.Sockets;
using LlmRouter.IntegrationTests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmRouter.IntegrationTests.Http;

/// <summary>
/// <c>AddLlmResilienceHandler()</c> on a provider's HttpClient, under the real SDKs: upstream hits are counted to show
/// that the HTTP layer does not multiply the router's attempts, where the standard handler does.
/// </summary>
public sealed class LlmResilienceHandlerTests(ProviderServers servers) : IClassFixture<ProviderServers>
{
    private const int TestTimeoutMs = 20_000;

    private static Reply Unavailable => new() { Status = 503, ErrorType = "server_error", ErrorMessage = "The engine is currently overloaded, please try again later" };

    [Theory(Timeout = TestTimeoutMs)]
    [InlineData(Sdk.OpenAi)]
    [InlineData(Sdk.Anthropic)]
    [InlineData(Sdk.Ollama)]
    public async Task LlmHandler_ProviderAnswers503_OneUpstreamHitPerRouterAttempt(Sdk sdk)
    {
        LoopbackProviderServer server = servers.For(sdk).Otherwise(Unavailable);
        var services = new ServiceCollection();
        _ = services.AddHttpClient("provider").AddLlmResilienceHandler();
        await using ServiceProvider http = services.BuildServiceProvider();
        HttpClient httpClient = http.GetRequiredService<IHttpClientFactory>().CreateClient("provider");

        // The router tries the endpoint twice (MaxRetriesPerEndpoint = 1), then the backup.
        var backup = new BackupChatClient();
        await using ServiceProvider provider = RouterHost.Build(
            null, ("primary", SdkClients.For(sdk, server, httpClient: httpClient), null), ("backup", backup, null));
        ChatResponse response = await provider.GetRequiredService<IChatClient>().GetResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(BackupChatClient.Text, response.Text);
        Assert.Equal(2, server.RequestCount);
        Assert.Equal(1, backup.Calls);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task StandardHandler_ProviderAnswers503_MultipliesRouterAttempts()
    {
        // What the LLM handler avoids: the standard handler retries 5xx itself (3 times), under each router attempt.
        LoopbackProviderServer server = servers.For(Sdk.OpenAi).Otherwise(Unavailable);
        var services = new ServiceCollection();
        _ = services.AddHttpClient("provider").AddStandardResilienceHandler(o =>
        {
            o.Retry.Delay = TimeSpan.FromMilliseconds(1);
            o.Retry.UseJitter = false;
        });
        await using ServiceProvider http = services.BuildServiceProvider();
        HttpClient httpClient = http.GetRequiredService<IHttpClientFactory>().CreateClient("provider");
        var backup = new BackupChatClient();
        await using ServiceProvider provider = RouterHost.Build(
            o => o.AttemptTimeout = TimeSpan.FromSeconds(5), ("primary", SdkClients.For(Sdk.OpenAi, server, httpClient: httpClient), null), ("backup", backup, null));

        _ = await provider.GetRequiredService<IChatClient>().GetResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(8, server.RequestCount); // 2 router attempts x (1 + 3 retries)
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task LlmHandler_ConnectionRefused_RetriesOnceThenRouterFailsOver()
    {
        Uri refused = await ClosedPortAsync();
        var counter = new CountingHandler();
        var services = new ServiceCollection();
        _ = services.AddHttpClient("provider")
            .AddLlmResilienceHandler(o => o.ConnectionRetryDelay = TimeSpan.FromMilliseconds(10))
            .Services.AddHttpClient("provider").AddHttpMessageHandler(() => counter);
        await using ServiceProvider http = services.BuildServiceProvider();
        HttpClient httpClient = http.GetRequiredService<IHttpClientFactory>().CreateClient("provider");
        var backup = new BackupChatClient();
        await using ServiceProvider provider = RouterHost.Build(
            o => o.Retry.MaxRetriesPerEndpoint = 0, ("primary", SdkClients.Ollama(refused, httpClient), null), ("backup", backup, null));

        ChatResponse response = await provider.GetRequiredService<IChatClient>().GetResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(BackupChatClient.Text, response.Text);
        Assert.Equal(2, counter.Attempts); // nothing reached a provider: one quick retry, then the router moves on
        RoutingAttempt failed = response.GetRoutingInfo()!.Attempts[0];
        Assert.Equal(FailureKind.Transient, failed.Failure);
        _ = Assert.IsType<HttpRequestException>(failed.Exception);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task LlmHandler_ConnectionDroppedAfterSending_NotRetried()
    {
        // The request reached the provider (it may be working on it, and bill it): not the HTTP layer's to repeat.
        LoopbackProviderServer server = servers.For(Sdk.OpenAi).Otherwise(new Reply { DropAfterChunks = 0 });
        var services = new ServiceCollection();
        _ = services.AddHttpClient("provider").AddLlmResilienceHandler(o => o.ConnectionRetryDelay = TimeSpan.FromMilliseconds(10));
        await using ServiceProvider http = services.BuildServiceProvider();
        IChatClient client = SdkClients.For(Sdk.OpenAi, server, httpClient: http.GetRequiredService<IHttpClientFactory>().CreateClient("provider"));

        _ = await Assert.ThrowsAnyAsync<Exception>(() => client.GetResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(1, server.RequestCount);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task LlmHandler_AttemptTimeout_CutsAHangingAttemptOnce()
    {
        LoopbackProviderServer server = servers.For(Sdk.Ollama).Otherwise(new Reply { HeaderDelay = FaultCatalog.LongDelay });
        var services = new ServiceCollection();
        _ = services.AddHttpClient("provider").AddLlmResilienceHandler(o => o.AttemptTimeout = TimeSpan.FromMilliseconds(300));
        await using ServiceProvider http = services.BuildServiceProvider();
        IChatClient client = SdkClients.Ollama(server.BaseAddress, http.GetRequiredService<IHttpClientFactory>().CreateClient("provider"));

        Exception exception = await Assert.ThrowsAnyAsync<Exception>(() => client.GetResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal("Polly.Timeout.TimeoutRejectedException", exception.GetType().FullName);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task LlmHandler_InvalidOptions_FailValidationNamingClientAndField()
    {
        var services = new ServiceCollection();
        _ = services.AddHttpClient("claude").AddLlmResilienceHandler(o => o.ConnectionRetries = 9);
        await using ServiceProvider http = services.BuildServiceProvider();

        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(
            () => http.GetRequiredService<IOptionsMonitor<LlmResilienceOptions>>().Get("claude"));

        Assert.Contains("'claude'", exception.Message, StringComparison.Ordinal);
        Assert.Contains("ConnectionRetries", exception.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task LlmHandler_AnthropicSdkStillRetrying_LogsAWarningOnce()
    {
        LoopbackProviderServer server = servers.For(Sdk.Anthropic).Otherwise(new Reply
        {
            Status = 529, ErrorType = "overloaded_error", ErrorMessage = "Overloaded", Headers = [("retry-after-ms", "1")],
        });
        var logs = new ListLoggerProvider();
        var services = new ServiceCollection();
        _ = services.AddLogging(b => b.AddProvider(logs));
        _ = services.AddHttpClient("claude").AddLlmResilienceHandler();
        await using ServiceProvider http = services.BuildServiceProvider();
        IChatClient client = SdkClients.Anthropic(server.BaseAddress, sdkRetries: true, http.GetRequiredService<IHttpClientFactory>().CreateClient("claude"));

        _ = await Assert.ThrowsAnyAsync<Exception>(() => client.GetResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(3, server.RequestCount); // the SDK's default: 1 + 2 retries
        (string category, LogLevel level, string message) = Assert.Single(logs.Entries);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("'claude'", message, StringComparison.Ordinal);
        Assert.Contains("MaxRetries = 0", message, StringComparison.Ordinal);
    }

    private static async Task<Uri> ClosedPortAsync()
    {
        // A port that was just free: nothing listens there, so a connection is refused at once.
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await Task.Yield();
        return new Uri($"http://127.0.0.1:{port}/");
    }
}
