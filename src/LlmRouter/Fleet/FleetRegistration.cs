using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmRouter;

/// <summary>Marks fleet mode as on in a service collection, and builds the mirror when the router is built.</summary>
internal sealed class FleetRegistration
{
    public static FleetMirror CreateMirror(IServiceProvider services, RouterChatClient router)
    {
        RedisFleetOptions options = services.GetRequiredService<IOptions<RedisFleetOptions>>().Value;
        ILogger logger = (services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("LlmRouter.Fleet");
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            IConnectionMultiplexer shared = services.GetRequiredService<IConnectionMultiplexer>();
            return new FleetMirror(options, router.Endpoints, router.Runtime, logger, _ => Task.FromResult(shared), ownsConnection: false);
        }

        string connectionString = options.ConnectionString;
        return new FleetMirror(options, router.Endpoints, router.Runtime, logger, ConnectAsync, ownsConnection: true);

        // In the background: an unreachable server must not delay start-up, and the client keeps reconnecting.
        async Task<IConnectionMultiplexer> ConnectAsync(CancellationToken cancellationToken)
        {
            ConfigurationOptions configuration = ConfigurationOptions.Parse(connectionString);
            configuration.AbortOnConnectFail = false;
            configuration.ClientName ??= "llmrouter-fleet";
            return await ConnectionMultiplexer.ConnectAsync(configuration).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
