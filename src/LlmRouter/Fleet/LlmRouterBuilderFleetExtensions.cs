using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LlmRouter;

/// <summary>Turns on fleet mode: the router instances of one application share endpoint health through Redis.</summary>
public static class LlmRouterBuilderFleetExtensions
{
    /// <summary>Shares endpoint health with the other instances of the application through Redis.</summary>
    /// <param name="builder">The router builder.</param>
    /// <param name="configure">Sets <see cref="RedisFleetOptions.KeyPrefix"/> and, unless the application registered an <c>IConnectionMultiplexer</c>, <see cref="RedisFleetOptions.ConnectionString"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// When one instance opens an endpoint or receives a Retry-After, every instance applies it within one Redis round
    /// trip; failures are counted fleet-wide; one instance of the fleet probes a recovering endpoint. Routing never
    /// waits for Redis, and Redis being unreachable never fails a request: each instance then routes on its own health,
    /// logs one warning per outage, and resynchronises on reconnect. See <see cref="RouterChatClient.GetFleetStatus"/>.
    /// </remarks>
    public static LlmRouterBuilder AddRedisFleet(this LlmRouterBuilder builder, Action<RedisFleetOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        AddCore(builder.Services);
        _ = builder.Services.PostConfigure(configure);
        return builder;
    }

    /// <summary>Shares endpoint health through Redis, with settings bound from configuration.</summary>
    /// <param name="builder">The router builder.</param>
    /// <param name="configuration">The fleet's section, for example <c>configuration.GetSection("LlmRouter:Fleet")</c> holding <c>KeyPrefix</c> and <c>ConnectionString</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configuration"/> is <see langword="null"/>.</exception>
    public static LlmRouterBuilder AddRedisFleet(this LlmRouterBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        AddCore(builder.Services);
        _ = builder.Services.Configure<RedisFleetOptions>(configuration);
        return builder;
    }

    private static void AddCore(IServiceCollection services)
    {
        _ = services.AddOptions<RedisFleetOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisFleetOptions>, RedisFleetOptionsValidator>());
        services.TryAddSingleton<FleetRegistration>();
    }
}
