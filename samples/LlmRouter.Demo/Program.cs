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
    // The default strategy scores latency, cost and success; prices decide while nothing else is known.
    // "openai" is the cheapest. It is down on its calls 3-6 (503) and rate-limits call 9 (429).
    .AddEndpoint("openai", new SimulatedProvider("openai", call => call switch
    {
        >= 3 and <= 6 => HttpStatusCode.ServiceUnavailable,
        9 => HttpStatusCode.TooManyRequests,
        _ => null,
    }), e => { e.InputCostPerMillionTokens = 0.15m; e.OutputCostPerMillionTokens = 0.60m; })
    // "local" (self-hosted, priced at its running cost) has a bad API key at first (401): it is opened, not hammered.
    .AddEndpoint("local", new SimulatedProvider("local", call => call == 1 ? HttpStatusCode.Unauthorized : null),
        e => { e.InputCostPerMillionTokens = 0.20m; e.OutputCostPerMillionTokens = 0.80m; })
    .AddEndpoint("claude", new SimulatedProvider("claude", _ => null),
        e => { e.InputCostPerMillionTokens = 3m; e.OutputCostPerMillionTokens = 15m; })
    .Configure(o => o.Retry.BaseDelay = TimeSpan.FromMilliseconds(20)));

await using ServiceProvider provider = services.BuildServiceProvider();
IChatClient chat = provider.GetRequiredService<IChatClient>();

Console.WriteLine("LlmRouter demo: 10 calls through one IChatClient over three providers (openai, local, claude).");
Console.WriteLine();
for (int i = 1; i <= 10; i++)
{
    ChatResponse response = await chat.GetResponseAsync($"Question {i}");
    await Task.Delay(20); // let the router refresh its snapshots between calls, as real traffic would
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
Console.WriteLine("What the router learned (RouterChatClient.GetSnapshot()):");
Console.WriteLine($"  {"endpoint",-8} {"health",-9} {"attempts",8} {"success",8} {"p50",8} {"cost",10}");
foreach (EndpointSnapshot snapshot in provider.GetRequiredService<RouterChatClient>().GetSnapshot())
{
    string p50 = snapshot.LatencyP50 is { } latency ? $"{latency.TotalMilliseconds:0.0} ms" : "-";
    string success = snapshot.SuccessRate is { } rate ? $"{rate:P0}" : "-";
    Console.WriteLine($"  {snapshot.Endpoint,-8} {snapshot.Health,-9} {snapshot.TotalAttempts,8} {success,8} {p50,8} {snapshot.TotalCost,10:0.000000}");
}

Console.WriteLine();
Console.WriteLine("Every call was answered; failures were retried, failed over or cooled down by kind.");
