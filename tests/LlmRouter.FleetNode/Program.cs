using LlmRouter;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

// One router instance of a fleet, in its own process: "primary" always fails with 503, "backup" answers.
// Usage: LlmRouter.FleetNode <redis configuration> <key prefix>; then one command per line on stdin:
//   state  -> "<primary health>|<fleet state>"      send -> the endpoint that served      quit -> exit
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: LlmRouter.FleetNode <redis configuration> <key prefix>");
    return 2;
}

var services = new ServiceCollection();
services.AddLlmRouter(r => r
    .AddEndpoint("primary", new Answering(fails: true))
    .AddEndpoint("backup", new Answering(fails: false))
    .Configure(o =>
    {
        o.Strategy = RoutingStrategy.Ordered;
        o.Health.FailureThreshold = 3;
        o.Health.BreakDuration = TimeSpan.FromMinutes(1);
        o.Retry.MaxRetriesPerEndpoint = 0;
    })
    .AddRedisFleet(o =>
    {
        o.ConnectionString = args[0];
        o.KeyPrefix = args[1];
        o.PollInterval = TimeSpan.FromMilliseconds(20);
    }));

using ServiceProvider provider = services.BuildServiceProvider();
RouterChatClient router = provider.GetRequiredService<RouterChatClient>();
Console.WriteLine("ready");
while (Console.ReadLine() is { } line)
{
    switch (line.Trim())
    {
        case "state":
            Console.WriteLine($"{router.GetSnapshot()[0].Health}|{router.GetFleetStatus()!.State}");
            break;
        case "send":
            ChatResponse response = await router.GetResponseAsync([new ChatMessage(ChatRole.User, "hello")]);
            Console.WriteLine(response.GetRoutingInfo()!.Endpoint);
            break;
        case "quit":
            return 0;
        default:
            Console.WriteLine("unknown command");
            break;
    }
}

return 0;

internal sealed class Answering(bool fails) : IChatClient
{
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        fails
            ? Task.FromException<ChatResponse>(new HttpRequestException("HTTP 503", null, System.Net.HttpStatusCode.ServiceUnavailable))
            : Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok")) { FinishReason = ChatFinishReason.Stop });

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
