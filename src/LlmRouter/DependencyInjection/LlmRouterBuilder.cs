using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter;

/// <summary>Adds endpoints and settings to the router registered by <c>services.AddLlmRouter(...)</c>.</summary>
public sealed class LlmRouterBuilder
{
    internal LlmRouterBuilder(IServiceCollection services) => Services = services;

    /// <summary>Gets the service collection the router is registered in.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Adds an endpoint served by a client instance.</summary>
    /// <param name="name">The endpoint's unique name (compared ignoring case), used in logs, metrics and routing info.</param>
    /// <param name="client">The client. The router does not dispose it.</param>
    /// <param name="configure">Sets the endpoint's options, if needed.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="client"/> is <see langword="null"/>.</exception>
    public LlmRouterBuilder AddEndpoint(string name, IChatClient client, Action<EndpointOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(client);
        return Add(EndpointRegistration.ForInstance(name, client), configure);
    }

    /// <summary>Adds an endpoint whose client is created from the service provider when the router is first resolved.</summary>
    /// <param name="name">The endpoint's unique name (compared ignoring case), used in logs, metrics and routing info.</param>
    /// <param name="factory">Creates the client. The router owns what it returns and disposes it.</param>
    /// <param name="configure">Sets the endpoint's options, if needed.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="factory"/> is <see langword="null"/>.</exception>
    public LlmRouterBuilder AddEndpoint(string name, Func<IServiceProvider, IChatClient> factory, Action<EndpointOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        return Add(EndpointRegistration.ForFactory(name, factory), configure);
    }

    /// <summary>Adds an endpoint that wraps the keyed <see cref="IChatClient"/> registered under the endpoint's name.</summary>
    /// <param name="name">The endpoint's unique name, which is also the service key.</param>
    /// <param name="configure">Sets the endpoint's options, if needed.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    /// <remarks>A missing keyed service fails options validation at start-up, naming the endpoint and the key.</remarks>
    public LlmRouterBuilder AddKeyedEndpoint(string name, Action<EndpointOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return Add(EndpointRegistration.ForKeyedService(name, name), configure);
    }

    /// <summary>Adds an endpoint that wraps the keyed <see cref="IChatClient"/> registered under <paramref name="serviceKey"/>.</summary>
    /// <param name="name">The endpoint's unique name.</param>
    /// <param name="serviceKey">The key the application registered the client with (for example with <c>AddKeyedChatClient</c>).</param>
    /// <param name="configure">Sets the endpoint's options, if needed.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="serviceKey"/> is <see langword="null"/>.</exception>
    /// <remarks>A missing keyed service fails options validation at start-up, naming the endpoint and the key.</remarks>
    public LlmRouterBuilder AddKeyedEndpoint(string name, object serviceKey, Action<EndpointOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(serviceKey);
        return Add(EndpointRegistration.ForKeyedService(name, serviceKey), configure);
    }

    /// <summary>Changes the router's options.</summary>
    /// <param name="configure">Sets options; runs after configuration binding, whatever the order of the calls.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="configure"/> is <see langword="null"/>.</exception>
    public LlmRouterBuilder Configure(Action<LlmRouterOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _ = Services.PostConfigure(configure);
        return this;
    }

    /// <summary>Adds a failure classifier, asked before the built-in one (in the order added).</summary>
    /// <param name="classifier">The classifier.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="classifier"/> is <see langword="null"/>.</exception>
    public LlmRouterBuilder AddFailureClassifier(IFailureClassifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        _ = Services.AddSingleton(classifier);
        return this;
    }

    /// <summary>Sets the custom component of <see cref="RoutingStrategy.Score"/>, weighted by <see cref="ScoringOptions.CustomWeight"/>.</summary>
    /// <param name="scorer">The scorer; it replaces any set before.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="scorer"/> is <see langword="null"/>.</exception>
    public LlmRouterBuilder AddEndpointScorer(IEndpointScorer scorer)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        _ = Services.AddSingleton(scorer);
        return this;
    }

    private LlmRouterBuilder Add(EndpointRegistration registration, Action<EndpointOptions>? configure)
    {
        _ = Services.AddSingleton(registration);
        string name = registration.Name;
        // Code runs after configuration binding whatever the order of the calls: code is the more specific source.
        _ = Services.PostConfigure<LlmRouterOptions>(options =>
        {
            if (!options.Endpoints.TryGetValue(name, out EndpointOptions? endpoint))
            {
                endpoint = new EndpointOptions();
                options.Endpoints[name] = endpoint;
            }

            configure?.Invoke(endpoint);
        });
        return this;
    }
}
