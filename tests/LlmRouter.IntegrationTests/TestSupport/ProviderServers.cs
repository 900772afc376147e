namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>One loopback server per provider, shared by a test class (a free port each); reset before each test.</summary>
public sealed class ProviderServers : IAsyncLifetime
{
    /// <summary>Gets the OpenAI server.</summary>
    public OpenAiProtocolServer OpenAi { get; private set; } = null!;

    /// <summary>Gets the Anthropic server.</summary>
    public AnthropicProtocolServer Anthropic { get; private set; } = null!;

    /// <summary>Gets the Ollama server.</summary>
    public OllamaProtocolServer Ollama { get; private set; } = null!;

    /// <summary>The server that speaks <paramref name="sdk"/>'s protocol, reset for a new test.</summary>
    public LoopbackProviderServer For(Sdk sdk)
    {
        LoopbackProviderServer server = sdk switch
        {
            Sdk.OpenAi => OpenAi,
            Sdk.Anthropic => Anthropic,
            _ => Ollama,
        };
        server.Reset();
        return server;
    }

    /// <inheritdoc/>
    public async ValueTask InitializeAsync()
    {
        OpenAi = await OpenAiProtocolServer.StartAsync();
        Anthropic = await AnthropicProtocolServer.StartAsync();
        Ollama = await OllamaProtocolServer.StartAsync();
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await OpenAi.DisposeAsync();
        await Anthropic.DisposeAsync();
        await Ollama.DisposeAsync();
    }
}
