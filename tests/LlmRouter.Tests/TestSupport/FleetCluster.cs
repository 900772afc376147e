using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// Several router instances of one application in one test process, each with its own service provider and its own
/// Redis connection, over shared fake providers ("primary" first, "backup" second) and one fake clock (the instances'
/// wall clocks agree). Fleet mode is on unless <c>fleet</c> is false.
/// </summary>
public sealed class FleetCluster : IDisposable
{
    public const int Threshold = 3;
    public static readonly TimeSpan Break = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan RealTimeLimit = TimeSpan.FromSeconds(30);

    private readonly List<ServiceProvider> _providers = [];

    public FleetCluster(int instances, string? connectionString, bool fleet = true, Action<RedisFleetOptions>? configure = null, string? prefix = null, DateTimeOffset? start = null, Action<EndpointOptions>? primary = null, Action<LlmRouterOptions>? router = null, Action<EndpointOptions>? backup = null)
    {
        Time = new FakeTimeProvider(start ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Prefix = prefix ?? $"test-{Guid.NewGuid():N}";
        for (int i = 0; i < instances; i++)
        {
            var services = new ServiceCollection();
            _ = services.AddSingleton<TimeProvider>(Time);
            _ = services.AddLogging(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new FakeLoggerProvider(Logs)));
            LlmRouterBuilder builder = services.AddLlmRouter(r => r
                .AddEndpoint("primary", Primary, primary)
                .AddEndpoint("backup", Backup, backup)
                .Configure(o =>
                {
                    o.Strategy = RoutingStrategy.Ordered;
                    o.Randomizer = () => 0.5;
                    o.Health.FailureThreshold = Threshold;
                    o.Health.BreakDuration = Break;
                    o.Health.BreakJitter = 0;
                    o.Health.SlowStartDuration = TimeSpan.Zero;
                    o.Retry.MaxRetriesPerEndpoint = 0;
                    router?.Invoke(o);
                }));
            if (fleet)
            {
                _ = builder.AddRedisFleet(o =>
                {
                    o.KeyPrefix = Prefix;
                    o.ConnectionString = connectionString;
                    o.PollInterval = TimeSpan.FromMilliseconds(20);
                    configure?.Invoke(o);
                });
            }

            ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
            _providers.Add(provider);
            Routers.Add(provider.GetRequiredService<RouterChatClient>());
        }
    }

    public string Prefix { get; }

    /// <summary>Gets the instances' shared clock; it starts on 1 January 2026 unless told otherwise (another process needs the real date).</summary>
    public FakeTimeProvider Time { get; }

    public FakeLogCollector Logs { get; } = new();

    public FleetProvider Primary { get; } = new("primary");

    public FleetProvider Backup { get; } = new("backup");

    public List<RouterChatClient> Routers { get; } = [];

    public HealthState PrimaryState(int instance) => Routers[instance].GetSnapshot()[0].Health;

    public FleetStatus Status(int instance) => Routers[instance].GetFleetStatus()!;

    /// <summary>Sends one request through an instance; returns the endpoint that served it.</summary>
    public async Task<string> SendAsync(int instance)
    {
        ChatResponse response = await Routers[instance].GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        return response.GetRoutingInfo()!.Endpoint;
    }

    /// <summary>Waits (real time, bounded) until every instance is in step with Redis.</summary>
    public Task AllConnectedAsync() =>
        Eventually(() => Routers.TrueForAll(r => r.GetFleetStatus()!.State == FleetConnectionState.Connected), "every instance connected");

    /// <summary>Waits (real time, bounded) until every instance has published its queued news.</summary>
    public Task QuietAsync() =>
        Eventually(() => Routers.TrueForAll(r => r.GetFleetStatus() is not { } s || s.QueuedEvents == 0), "publish queues drained");

    /// <summary>Polls a condition in real time, for Redis propagation only; fails after a generous limit.</summary>
    public static async Task Eventually(Func<bool> condition, string what, TimeSpan? limit = null, Func<string>? onTimeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > (limit ?? RealTimeLimit))
            {
                Assert.Fail($"Timed out after {clock.Elapsed.TotalSeconds:0.0} s waiting for: {what}. {onTimeout?.Invoke()}");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    public void Dispose()
    {
        foreach (ServiceProvider provider in _providers)
        {
            provider.Dispose();
        }
    }
}
