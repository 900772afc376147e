// A minimal web API in front of LlmRouter, configured from appsettings.json.
// Run: dotnet run --project samples/LlmRouter.WebApi   (then: curl -X POST localhost:5000/chat -H 'content-type: application/json' -d '{"message":"hi"}')
// Without OPENAI_API_KEY it serves from two simulated endpoints, so it runs on a fresh machine.
using System.ClientModel;
using System.Text.Json;
using LlmRouter;
using LlmRouter.WebApi;
using Microsoft.Extensions.AI;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);

// Simulated endpoints, named as in appsettings.json (LlmRouter:Endpoints); each is a keyed IChatClient.
builder.Services.AddKeyedChatClient("sim-fast", new SimulatedChatClient("sim-fast", TimeSpan.FromMilliseconds(300), failureShare: 0.05));
builder.Services.AddKeyedChatClient("sim-cheap", new SimulatedChatClient("sim-cheap", TimeSpan.FromMilliseconds(700), failureShare: 0.10));

LlmRouterBuilder router = builder.Services.AddLlmRouter(builder.Configuration.GetSection("LlmRouter"));

// A real provider when a key is set (environment variable or user secrets; never in a file).
string? openAiKey = builder.Configuration["OPENAI_API_KEY"];
if (!string.IsNullOrWhiteSpace(openAiKey))
{
    IConfigurationSection openAi = builder.Configuration.GetSection("OpenAI");
    router.AddEndpoint(
        "openai",
        _ => new OpenAI.Chat.ChatClient(openAi["Model"] ?? "gpt-4o-mini", new ApiKeyCredential(openAiKey)).AsIChatClient(),
        endpoint =>
        {
            endpoint.InputCostPerMillionTokens = openAi.GetValue<decimal>("InputCostPerMillionTokens");
            endpoint.OutputCostPerMillionTokens = openAi.GetValue<decimal>("OutputCostPerMillionTokens");
        });
}

builder.Services.AddHealthChecks().AddCheck<RouterHealthCheck>("llm-endpoints");

WebApplication app = builder.Build();
if (string.IsNullOrWhiteSpace(openAiKey))
{
    Console.WriteLine("OPENAI_API_KEY is not set: serving from the simulated endpoints only. Set it (environment or user secrets) to add OpenAI.");
}

// POST /chat: JSON in, JSON out; with ?stream=true (or Accept: text/event-stream), server-sent events.
app.MapPost("/chat", async (ChatRequest request, HttpContext http, IChatClient chat, CancellationToken cancellationToken) =>
{
    if (string.IsNullOrWhiteSpace(request.Message))
    {
        return Results.ValidationProblem(new Dictionary<string, string[]> { ["message"] = ["The message must not be empty."] });
    }

    var options = new ChatOptions().WithRouting(r =>
    {
        r.Group = request.Group;
        r.Tenant = request.Tenant;
    });
    bool stream = http.Request.Query["stream"] == "true" || http.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.Ordinal);
    try
    {
        if (!stream)
        {
            ChatResponse response = await chat.GetResponseAsync(request.Message, options, cancellationToken);
            RoutingInfo? info = response.GetRoutingInfo();
            return Results.Ok(new { text = response.Text, endpoint = info?.Endpoint, cache = info?.Cache.ToString(), attempts = info?.Attempts.Count, reason = info?.Reason, usage = response.Usage });
        }

        http.Response.ContentType = "text/event-stream";
        await foreach (ChatResponseUpdate update in chat.GetStreamingResponseAsync(request.Message, options, cancellationToken))
        {
            if (update.GetRoutingInfo() is { } info)
            {
                await http.Response.WriteAsync($"event: routing\ndata: {JsonSerializer.Serialize(new { endpoint = info.Endpoint, cache = info.Cache.ToString() })}\n\n", cancellationToken);
            }

            if (update.Text.Length > 0)
            {
                await http.Response.WriteAsync($"data: {JsonSerializer.Serialize(update.Text)}\n\n", cancellationToken);
                await http.Response.Body.FlushAsync(cancellationToken);
            }
        }

        await http.Response.WriteAsync("event: done\ndata: {}\n\n", cancellationToken);
        return Results.Empty;
    }
    catch (StreamInterruptedException interrupted)
    {
        // Output already reached the client: say so in-band rather than pretending the answer was complete.
        await http.Response.WriteAsync($"event: error\ndata: {JsonSerializer.Serialize(new { error = "interrupted", partial = interrupted.PartialText.Length })}\n\n", cancellationToken);
        return Results.Empty;
    }
    catch (Exception error) when (error is AllEndpointsFailedException or NoEndpointAvailableException)
    {
        return Results.Problem(error.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "No LLM endpoint could answer.");
    }
});

// GET /router: every endpoint's snapshot (health, score, latency percentiles, success, cost).
app.MapGet("/router", (RouterChatClient routerClient) => Results.Ok(routerClient.GetSnapshot().Select(static e => new
{
    e.Endpoint,
    Health = e.Health.ToString(),
    e.Score,
    e.RecoversAt,
    e.SampleCount,
    LatencyP50Ms = e.LatencyP50?.TotalMilliseconds,
    LatencyP95Ms = e.LatencyP95?.TotalMilliseconds,
    e.SuccessRate,
    e.InFlight,
    e.TotalCost,
})));

app.MapHealthChecks("/healthz");
app.Run();
