using Microsoft.Extensions.Caching.Distributed;
using System.Diagnostics.Metrics;
using LlmRouter;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the LlmRouter as the application's <see cref="IChatClient"/>.</summary>
public static class LlmRouterServiceCollectionExtensions
{
    /// <summary>Registers the router and lets <paramref name="configure"/> add its endpoints and settings.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adds endpoints and settings.</param>
    /// <returns>The builder, to add more.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// The router becomes the default <see cref="IChatClient"/> singleton and is also registered as
    /// <see cref="RouterChatClient"/>. Options are validated at start-up (or when the router is first resolved, without
    /// a host); an invalid setting throws <see cref="OptionsValidationException"/> naming the endpoint and field.
    /// </remarks>
    public static LlmRouterBuilder AddLlmRouter(this IServiceCollection services, Action<LlmRouterBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        LlmRouterBuilder builder = AddCore(services);
        configure(builder);
        return builder;
    }

    /// <summary>Registers the router with settings and endpoints bound from configuration.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The router's section, usually <c>configuration.GetSection("LlmRouter")</c>.</param>
    /// <returns>The builder, to add more in code.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configuration"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// Each entry under <c>Endpoints</c> is served by the keyed <see cref="IChatClient"/> registered under the
    /// endpoint's name, unless the endpoint is also added in code. Besides the values the validators check, the section's
    /// shape is checked at start-up: a key that names no setting, an object or array where a single value is expected, a
    /// single value where a section or an array is expected, and <c>null</c> for a setting that cannot be null each fail
    /// with <see cref="OptionsValidationException"/> naming the field (and the endpoint or tenant).
    /// </remarks>
    public static LlmRouterBuilder AddLlmRouter(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        LlmRouterBuilder builder = AddCore(services);
        _ = services.Configure<LlmRouterOptions>(configuration);

        // The binder skips what does not fit the options (a misspelled key, an object for a number, a value for a list):
        // those fail at start-up too, naming the field.
        _ = services.AddSingleton<IValidateOptions<LlmRouterOptions>>(new ConfigurationShapeValidator(configuration));
        return builder;
    }

    private static LlmRouterBuilder AddCore(IServiceCollection services)
    {
        _ = services.AddOptions<LlmRouterOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmRouterOptions>, LlmRouterOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmRouterOptions>, ConstraintOptionsValidator>());

        // A second AddLlmRouter adds to the same router rather than registering another.
        if (!services.Any(static d => d.ServiceType == typeof(RouterChatClient)))
        {
            _ = services.AddSingleton(CreateRouter);
            _ = services.AddSingleton<IChatClient>(static sp => sp.GetRequiredService<RouterChatClient>());
        }

        return new LlmRouterBuilder(services);
    }

    private static RouterChatClient CreateRouter(IServiceProvider services)
    {
        IOptionsMonitor<LlmRouterOptions> monitor = services.GetRequiredService<IOptionsMonitor<LlmRouterOptions>>();
        LlmRouterOptions options = monitor.CurrentValue;
        var registrations = new Dictionary<string, EndpointRegistration>(StringComparer.OrdinalIgnoreCase);
        foreach (EndpointRegistration registration in services.GetServices<EndpointRegistration>())
        {
            registrations[registration.Name] = registration;
        }

        var endpoints = new List<RouterEndpoint>(options.Endpoints.Count);
        try
        {
            foreach ((string name, EndpointOptions endpointOptions) in options.Endpoints)
            {
                RouterEndpoint endpoint = registrations.TryGetValue(name, out EndpointRegistration? registration)
                    ? new RouterEndpoint(name, registration.Resolve(services), endpointOptions, endpoints.Count, registration.OwnsClient, options.Metrics.Capacity)
                    : new RouterEndpoint(name, services.GetRequiredKeyedService<IChatClient>(name), endpointOptions, endpoints.Count, ownsClient: false, options.Metrics.Capacity);
                endpoints.Add(endpoint);
            }
        }
        catch
        {
            // The router will not exist to dispose what the earlier factories made.
            foreach (RouterEndpoint endpoint in endpoints)
            {
                if (endpoint.OwnsClient)
                {
                    endpoint.Client.Dispose();
                }
            }

            throw;
        }

        var router = new RouterChatClient(
            endpoints,
            options,
            services.GetService<TimeProvider>(),
            services.GetServices<IFailureClassifier>(),
            services.GetService<ILoggerFactory>(),
            services.GetService<IEndpointScorer>(),
            apply => monitor.OnChange((changed, name) =>
            {
                // Only valid options arrive here: the monitor validates before it notifies.
                if (string.IsNullOrEmpty(name))
                {
                    apply(changed);
                }
            }),
            services.GetService<IMeterFactory>(),
            services.GetService<IDistributedCache>());

        if (services.GetService<FleetRegistration>() is not null)
        {
            router.AttachFleet(FleetRegistration.CreateMirror(services, router));
        }

        return router;
    }
}
