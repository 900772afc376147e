using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter;

/// <summary>How the client of one endpoint added in code is obtained, registered as a singleton per endpoint.</summary>
internal sealed class EndpointRegistration
{
    private readonly Func<IServiceProvider, IChatClient> _factory;

    private EndpointRegistration(string name, Func<IServiceProvider, IChatClient> factory, bool ownsClient, object? serviceKey)
    {
        Name = name;
        _factory = factory;
        OwnsClient = ownsClient;
        ServiceKey = serviceKey;
    }

    public string Name { get; }

    /// <summary>Gets a value indicating whether the router created the client and so disposes it.</summary>
    public bool OwnsClient { get; }

    /// <summary>Gets the key of the keyed <see cref="IChatClient"/> this endpoint wraps, if it wraps one.</summary>
    public object? ServiceKey { get; }

    public static EndpointRegistration ForInstance(string name, IChatClient client) => new(name, _ => client, ownsClient: false, null);

    public static EndpointRegistration ForFactory(string name, Func<IServiceProvider, IChatClient> factory) => new(name, factory, ownsClient: true, null);

    public static EndpointRegistration ForKeyedService(string name, object serviceKey) =>
        new(name, sp => sp.GetRequiredKeyedService<IChatClient>(serviceKey), ownsClient: false, serviceKey);

    public IChatClient Resolve(IServiceProvider services) =>
        _factory(services) ?? throw new InvalidOperationException($"The factory of endpoint '{Name}' returned null; it must return an IChatClient.");
}
