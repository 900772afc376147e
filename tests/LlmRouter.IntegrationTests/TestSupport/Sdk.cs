namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>The real provider SDKs under test.</summary>
public enum Sdk
{
    /// <summary>OpenAI's .NET SDK through Microsoft.Extensions.AI.OpenAI.</summary>
    OpenAi,

    /// <summary>Anthropic's .NET SDK and its own <c>AsIChatClient</c>.</summary>
    Anthropic,

    /// <summary>OllamaSharp's <c>OllamaApiClient</c>, an <c>IChatClient</c> itself.</summary>
    Ollama,
}
