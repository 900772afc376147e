// Runs the router over the three real SDKs. Keys come from environment variables or user secrets, never from files:
//   OPENAI_API_KEY, ANTHROPIC_API_KEY, and OLLAMA_ENDPOINT (for example http://localhost:11434) for a local Ollama.
// With none set it prints what to set and exits with code 0: nothing is wrong, there is just nothing to call.
// Exit code 1 means the providers were called and every attempt failed (the reason is printed).
using System.ClientModel;
using Anthropic;
using LlmRouter;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OllamaSharp;
using OpenAI;

// appsettings.json sits beside the program, wherever it is run from.
HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddUserSecrets<Program>(optional: true);
ConfigurationManager config = builder.Configuration;

// Keys: the SDKs' usual environment variables, or user secrets (dotnet user-secrets set Providers:OpenAI:ApiKey ...).
string? openAiKey = config["Providers:OpenAI:ApiKey"] ?? config["OPENAI_API_KEY"];
string? anthropicKey = config["Providers:Anthropic:ApiKey"] ?? config["ANTHROPIC_API_KEY"];
string? ollamaEndpoint = NullIfEmpty(config["Providers:Ollama:Endpoint"]) ?? config["OLLAMA_ENDPOINT"];

if (openAiKey is null && anthropicKey is null && ollamaEndpoint is null)
{
    Console.WriteLine("""
        No provider is configured, so there is nothing to call. Set any of these, then run again:

          OPENAI_API_KEY     an OpenAI API key           (or: dotnet user-secrets set Providers:OpenAI:ApiKey <key>)
          ANTHROPIC_API_KEY  an Anthropic API key        (or: dotnet user-secrets set Providers:Anthropic:ApiKey <key>)
          OLLAMA_ENDPOINT    a running Ollama, e.g. http://localhost:11434

        Models and prices are in appsettings.json (no keys there). Run from the repository root with:
          dotnet run --project samples/LlmRouter.RealProviders
        """);
    return 0;
}

// Each provider's HttpClient: LLM-sized attempt timeout, a quick retry of a failed connection, nothing more.
builder.Services.AddHttpClient("openai").AddLlmResilienceHandler();
builder.Services.AddHttpClient("anthropic").AddLlmResilienceHandler();
builder.Services.AddHttpClient("ollama").AddLlmResilienceHandler();

LlmRouterBuilder router = builder.Services.AddLlmRouter(config.GetSection("LlmRouter"));
if (openAiKey is not null)
{
    // The SDK's own retries are off (WithoutRetries): the router sees every failure and decides.
    router.AddEndpoint("openai", sp => new OpenAI.Chat.ChatClient(
            config["Providers:OpenAI:Model"],
            new ApiKeyCredential(openAiKey),
            new OpenAIClientOptions
            {
                Endpoint = new Uri(config["Providers:OpenAI:Endpoint"]!),
                Transport = new System.ClientModel.Primitives.HttpClientPipelineTransport(Http(sp, "openai")),
            }.WithoutRetries())
        .AsIChatClient());
}

if (anthropicKey is not null)
{
    router.AddEndpoint("anthropic", sp => new AnthropicClient { ApiKey = anthropicKey, MaxRetries = 0, HttpClient = Http(sp, "anthropic") }
        .AsIChatClient(config["Providers:Anthropic:Model"]!, defaultMaxOutputTokens: 1024));
}

if (ollamaEndpoint is not null)
{
    router.AddEndpoint("ollama", sp =>
    {
        HttpClient http = Http(sp, "ollama");
        http.BaseAddress = new Uri(ollamaEndpoint);
        return new OllamaApiClient(http, config["Providers:Ollama:Model"]!); // OllamaSharp does not retry on its own
    });
}

// Endpoints only named in appsettings.json but not configured here are dropped, so that validation passes.
router.Configure(o =>
{
    foreach (string name in o.Endpoints.Keys.ToList())
    {
        bool configured = name switch
        {
            "openai" => openAiKey is not null,
            "anthropic" => anthropicKey is not null,
            "ollama" => ollamaEndpoint is not null,
            _ => true,
        };
        if (!configured)
        {
            o.Endpoints.Remove(name);
        }
    }
});

using IHost host = builder.Build();
await host.StartAsync();
IChatClient chat = host.Services.GetRequiredService<IChatClient>();

try
{
    ChatResponse response = await chat.GetResponseAsync("In one sentence: what does a router in front of LLM providers do?");
    Console.WriteLine(response.Text);
    Console.WriteLine(response.GetRoutingInfo());

    Console.Write("Streamed: ");
    await foreach (ChatResponseUpdate update in chat.GetStreamingResponseAsync("Count from one to five in words."))
    {
        Console.Write(update.Text);
    }

    Console.WriteLine();
    foreach (EndpointSnapshot endpoint in host.Services.GetRequiredService<RouterChatClient>().GetSnapshot())
    {
        Console.WriteLine($"{endpoint.Endpoint}: {endpoint.Health}, {endpoint.TotalAttempts} attempt(s), p50 {endpoint.LatencyP50?.TotalMilliseconds:0} ms");
    }
}
catch (LlmRouterException e)
{
    Console.Error.WriteLine(e.Message);
    await host.StopAsync();
    return 1;
}

await host.StopAsync();
return 0;

static HttpClient Http(IServiceProvider services, string name) => services.GetRequiredService<IHttpClientFactory>().CreateClient(name);

static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
