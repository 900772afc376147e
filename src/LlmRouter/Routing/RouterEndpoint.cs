using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>One endpoint as the router holds it: name, client, validated settings and what it remembers.</summary>
internal sealed class RouterEndpoint
{
    public RouterEndpoint(string name, IChatClient client, EndpointOptions options, int index, bool ownsClient)
    {
        Name = name;
        Client = client;
        Options = options;
        Index = index;
        OwnsClient = ownsClient;
    }

    public string Name { get; }

    public IChatClient Client { get; }

    public EndpointOptions Options { get; }

    /// <summary>Gets the registration order, the tie-breaker of every ordering.</summary>
    public int Index { get; }

    /// <summary>Gets a value indicating whether the router created the client and so disposes it.</summary>
    public bool OwnsClient { get; }

    public EndpointCooldown Cooldown { get; } = new();

    public override string ToString() => Name;
}
