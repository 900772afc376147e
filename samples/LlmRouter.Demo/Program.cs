// A small tour of LlmRouter: three in-process "providers" that fail the way real ones do, one router in front.
// Run: dotnet run --project samples/LlmRouter.Demo
using System.Net;
using LlmRouter;
using LlmRouter.Demo;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

var services = new ServiceCollection();
services.AddLogging(logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Error));

services.AddLlmRouter(router => router
    // "openai" is down on calls 3-6 (503) and rate-limits call 9 (429).
    .AddEndpoint("openai", new SimulatedProvider("openai", call => call switch
    {
        >= 3 and <= 6 => HttpStatusCode.ServiceUnavailable,
        9 => HttpStatusCode.TooManyRequests,
        _ => null,
    }), e => { e.Priority = 0; e.InputCostPerMillionTokens = 2.50m; e.OutputCostPerMillionTokens = 10m; })
    // "claude" has a bad API key for its first call (401): it cools down instead of being hammered.
    .AddEndpoint("claude", new SimulatedProvider("claude", call => call == 1 ? HttpStatusCode.Unauthorized : null),
        e => { e.Priority = 1; e.InputCostPerMillionTokens = 3m; e.OutputCostPerMillionTokens = 15m; })
    .AddEndpoint("local", new SimulatedProvider("local", _ => null), e => e.Priority = 2)
    .Configure(o => o.Retry.BaseDelay = TimeSpan.FromMilliseconds(20)));

await using ServiceProvider provider = services.BuildServiceProvider();
IChatClient chat = provider.GetRequiredService<IChatClient>();

Console.WriteLine("LlmRouter demo: 10 calls through one IChatClient over openai → claude → local.");
Console.WriteLine();
for (int i = 1; i <= 10; i++)
{
    ChatResponse response = await chat.GetResponseAsync($"Question {i}");
    RoutingInfo info = response.GetRoutingInfo()!;
    string attempts = string.Join(" → ", info.Attempts.Select(a => a.Failure is { } kind ? $"{a.Endpoint} ({kind})" : a.Endpoint));
    Console.WriteLine($"call {i,2}: served by {info.Endpoint,-7} attempts: {attempts}");
}

Console.WriteLine();
Console.Write("streamed: ");
await foreach (ChatResponseUpdate update in chat.GetStreamingResponseAsync("Stream something"))
{
    if (update.GetRoutingInfo() is { } info)
    {
        Console.Write($"[{info.Endpoint}] ");
    }

    Console.Write(update.Text);
}

Console.WriteLine();
Console.WriteLine();
Console.WriteLine("Every call was answered; failures were retried, failed over or cooled down by kind.");
