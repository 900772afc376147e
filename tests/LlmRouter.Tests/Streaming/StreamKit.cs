using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Streaming;

/// <summary>Shared plumbing of the stream timeout, in-band error, continuation and cancellation tests.</summary>
internal static class StreamKit
{
    /// <summary>A router over the endpoints, tried in registration order (Ordered), with no retry on the same endpoint unless configured.</summary>
    public static RouterChatClient Router(
        TimeProvider time, Action<LlmRouterOptions>? configure, params (string Name, IChatClient Client, Action<EndpointOptions>? Configure)[] endpoints) =>
        RouterFactory.Create(
            time,
            options =>
            {
                options.Strategy = RoutingStrategy.Ordered;
                options.Retry.MaxRetriesPerEndpoint = 0;
                configure?.Invoke(options);
            },
            null,
            endpoints);

    public static RouterChatClient Router(TimeProvider time, Action<LlmRouterOptions>? configure, params TimedStreamClient[] clients) =>
        Router(time, configure, [.. clients.Select(c => (c.Name, (IChatClient)c, (Action<EndpointOptions>?)null))]);

    /// <summary>Reads the whole stream, adding each update to <paramref name="received"/> as it arrives (so a test sees what came before a failure).</summary>
    public static Task<List<ChatResponseUpdate>> CollectAsync(RouterChatClient router, List<ChatResponseUpdate>? received = null) =>
        ReadAsync(router, CancellationToken.None, received);

    /// <summary>As <see cref="CollectAsync"/>, with the caller's token (linked to the test's).</summary>
    public static async Task<List<ChatResponseUpdate>> ReadAsync(
        RouterChatClient router, CancellationToken cancellationToken, List<ChatResponseUpdate>? received = null, IList<ChatMessage>? messages = null)
    {
        received ??= [];
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, TestContext.Current.CancellationToken);
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(messages ?? RouterFactory.Hello(), cancellationToken: linked.Token))
        {
            received.Add(update);
        }

        return received;
    }

    public static string Text(IEnumerable<ChatResponseUpdate> updates) => string.Concat(updates.Select(u => u.Text));

    public static RoutingInfo Info(IReadOnlyList<ChatResponseUpdate> updates) =>
        updates[0].GetRoutingInfo() ?? throw new InvalidOperationException("The first update carries no routing info.");
}
