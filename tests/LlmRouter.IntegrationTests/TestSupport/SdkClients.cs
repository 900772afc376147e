using System.ClientModel;
using System.ClientModel.Primitives;
using Anthropic;
using Microsoft.Extensions.AI;
using OllamaSharp;
using OpenAI;
using OpenAiChatClient = OpenAI.Chat.ChatClient;

namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>The real SDKs pointed at loopback servers, configured as they must be under the router: their own retries off.</summary>
public static class SdkClients
{
    /// <summary>The OpenAI SDK with <c>ClientRetryPolicy(0)</c>, or its default retry policy when <paramref name="sdkRetries"/> is set.</summary>
    public static IChatClient OpenAi(Uri endpoint, bool sdkRetries = false, HttpClient? httpClient = null)
    {
        var options = new OpenAIClientOptions { Endpoint = endpoint };
        if (!sdkRetries)
        {
            options.RetryPolicy = new ClientRetryPolicy(maxRetries: 0);
        }

        if (httpClient is not null)
        {
            options.Transport = new HttpClientPipelineTransport(httpClient);
        }

        return new OpenAiChatClient(OpenAiProtocolServer.Model, new ApiKeyCredential("test-key"), options).AsIChatClient();
    }

    /// <summary>The Anthropic SDK with <c>MaxRetries = 0</c>, or its default (2) when <paramref name="sdkRetries"/> is set.</summary>
    public static IChatClient Anthropic(Uri baseAddress, bool sdkRetries = false, HttpClient? httpClient = null)
    {
        AnthropicClient client = httpClient is null
            ? new AnthropicClient { ApiKey = "test-key", BaseUrl = baseAddress.ToString().TrimEnd('/'), MaxRetries = sdkRetries ? null : 0 }
            : new AnthropicClient { ApiKey = "test-key", BaseUrl = baseAddress.ToString().TrimEnd('/'), MaxRetries = sdkRetries ? null : 0, HttpClient = httpClient };

        return client.AsIChatClient(AnthropicProtocolServer.Model, defaultMaxOutputTokens: 1024);
    }

    /// <summary>OllamaSharp, which does not retry on its own.</summary>
    public static IChatClient Ollama(Uri baseAddress, HttpClient? httpClient = null)
    {
        if (httpClient is null)
        {
            return new OllamaApiClient(baseAddress, OllamaProtocolServer.Model);
        }

        httpClient.BaseAddress ??= baseAddress;
        return new OllamaApiClient(httpClient, OllamaProtocolServer.Model);
    }

    /// <summary>The client of <paramref name="sdk"/> pointed at <paramref name="server"/>.</summary>
    public static IChatClient For(Sdk sdk, LoopbackProviderServer server, bool sdkRetries = false, HttpClient? httpClient = null) => sdk switch
    {
        Sdk.OpenAi => OpenAi(((OpenAiProtocolServer)server).Endpoint, sdkRetries, httpClient),
        Sdk.Anthropic => Anthropic(server.BaseAddress, sdkRetries, httpClient),
        Sdk.Ollama => Ollama(server.BaseAddress, httpClient),
        _ => throw new ArgumentOutOfRangeException(nameof(sdk)),
    };
}
