using System.ClientModel.Primitives;
using System.Reflection;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>Turns provider SDKs' own retries off, and tells whether a client still retries, where that can be known.</summary>
/// <remarks>
/// The OpenAI SDK retries 3 times by default (<c>ClientRetryPolicy</c>), the Anthropic SDK twice (<c>MaxRetries</c>);
/// OllamaSharp does not retry. Under the router those retries hide failures from the health model and multiply
/// attempts: each router attempt becomes up to 4 requests. Turn them off and let the router decide.
/// </remarks>
public static class LlmSdkRetries
{
    /// <summary>Turns off the retries of a System.ClientModel-based SDK (OpenAI, Azure OpenAI): one router attempt is one request.</summary>
    /// <typeparam name="TOptions">The SDK's options type, such as <c>OpenAIClientOptions</c>.</typeparam>
    /// <param name="options">The SDK's options.</param>
    /// <returns><paramref name="options"/>, to chain.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    public static TOptions WithoutRetries<TOptions>(this TOptions options)
        where TOptions : ClientPipelineOptions
    {
        ArgumentNullException.ThrowIfNull(options);
        options.RetryPolicy = new ClientRetryPolicy(maxRetries: 0);
        return options;
    }

    /// <summary>
    /// Tells how many times the SDK behind <paramref name="client"/> retries a failed request on its own, where the
    /// SDK exposes it: the Anthropic SDK's <c>MaxRetries</c> (2 when unset) and OllamaSharp (0).
    /// </summary>
    /// <param name="client">A chat client made by a provider SDK.</param>
    /// <returns>The SDK's retry count, or <see langword="null"/> when it cannot be known (the OpenAI SDK keeps its retry policy private).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> is <see langword="null"/>.</exception>
    public static int? GetSdkMaxRetries(IChatClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        Type? ollama = Type.GetType("OllamaSharp.OllamaApiClient, OllamaSharp", throwOnError: false);
        if (ollama is not null && client.GetService(ollama) is not null)
        {
            return 0;
        }

        // The Anthropic adapter hands out its IAnthropicClient (through any decorators); read it by name, without a
        // reference to the SDK.
        Type? anthropic = Type.GetType("Anthropic.IAnthropicClient, Anthropic", throwOnError: false);
        if (anthropic is not null && client.GetService(anthropic) is { } sdk &&
            anthropic.GetProperty("MaxRetries", BindingFlags.Public | BindingFlags.Instance) is { } property)
        {
            return property.GetValue(sdk) is int retries ? retries : 2; // null: the SDK's default
        }

        return null;
    }
}
