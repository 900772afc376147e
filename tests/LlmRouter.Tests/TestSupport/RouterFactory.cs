using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.TestSupport;

/// <summary>Builds routers over scripted endpoints with deterministic time and randomness.</summary>
public static class RouterFactory
{
    internal static RouterChatClient Create(
        TimeProvider time,
        Action<LlmRouterOptions>? configure = null,
        IEnumerable<IFailureClassifier>? classifiers = null,
        params (string Name, IChatClient Client, Action<EndpointOptions>? Configure)[] endpoints)
    {
        var options = new LlmRouterOptions { Randomizer = () => 0.5 };
        configure?.Invoke(options);
        var list = new List<RouterEndpoint>();
        foreach ((string name, IChatClient client, Action<EndpointOptions>? configureEndpoint) in endpoints)
        {
            var endpointOptions = new EndpointOptions();
            configureEndpoint?.Invoke(endpointOptions);
            options.Endpoints[name] = endpointOptions;
            list.Add(new RouterEndpoint(name, client, endpointOptions, list.Count, ownsClient: false));
        }

        return new RouterChatClient(list, options, time, classifiers);
    }

    internal static RouterChatClient Create(TimeProvider time, Action<LlmRouterOptions>? configure, params ScriptedChatClient[] clients) =>
        Create(time, configure, null, [.. clients.Select(c => (c.Name, (IChatClient)c, (Action<EndpointOptions>?)null))]);

    public static HttpRequestException Http(int status) =>
        new($"HTTP {status}", null, (System.Net.HttpStatusCode)status);

    public static List<ChatMessage> Hello() => [new(ChatRole.User, "hello")];
}
