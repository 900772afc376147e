using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.ChaosDemo;

/// <summary>
/// Runs one mode of the fleet comparison on real time: the scenario's router instances, each its own container, over
/// the same live providers, each instance with its own Poisson arrivals; with <c>AddRedisFleet</c> when given a Redis
/// server (a fresh key prefix per run), as independent routers otherwise.
/// </summary>
internal static class FleetRun
{
    private static readonly TimeSpan ConnectWithin = TimeSpan.FromSeconds(10);
    private static readonly List<ChatMessage> Messages = [new(ChatRole.User, "What is the capital of France?")];

    /// <summary>The instance making the current call, so that a provider can tell whether that instance meant it as a probe.</summary>
    private static readonly AsyncLocal<RouterChatClient?> Caller = new();

    /// <summary>Runs the scenario once.</summary>
    /// <param name="scenario">Instances, arrivals, outages and bravo's limit.</param>
    /// <param name="redis">The Redis configuration string for fleet mode; <see langword="null"/> for independent routers.</param>
    /// <param name="cancellationToken">Stops the run (Ctrl+C).</param>
    /// <exception cref="InvalidOperationException">Some instance did not connect to Redis within 10 s.</exception>
    public static async Task<FleetResult> RunAsync(FleetScenario scenario, string? redis, CancellationToken cancellationToken)
    {
        TimeProvider time = TimeProvider.System;
        List<FaultWindow> outages = scenario.AlphaOutages();
        LiveProvider[] providers =
        [
            new("alpha", 40, outages, time, unchecked((scenario.Seed * 31) + 1), () => CallerHoldsOpen(0)),
            new("bravo", 30, [], time, unchecked((scenario.Seed * 31) + 2), () => CallerHoldsOpen(1)),
            new("charlie", 60, [], time, unchecked((scenario.Seed * 31) + 3), () => CallerHoldsOpen(2)),
        ];
        (string Name, IChatClient Client)[] named = [.. providers.Select(static p => (p.Name, (IChatClient)p))];
        string prefix = $"chaos-demo-{Guid.NewGuid():N}";
        var containers = new List<ServiceProvider>();
        try
        {
            var routers = new RouterChatClient[scenario.Instances];
            for (int i = 0; i < routers.Length; i++)
            {
                ServiceProvider container = Build(scenario, i, named, redis, prefix);
                containers.Add(container);
                routers[i] = container.GetRequiredService<RouterChatClient>();
            }

            if (redis is not null)
            {
                await ConnectedAsync(routers, cancellationToken).ConfigureAwait(false);
            }

            long origin = time.GetTimestamp();
            foreach (LiveProvider provider in providers)
            {
                provider.Start();
            }

            bool[][] outcomes = await Task.WhenAll(routers.Select((router, i) =>
                DriveAsync(router, new Random(unchecked((scenario.Seed * 7) + i)), scenario, time, origin, cancellationToken))).ConfigureAwait(false);
            int requests = outcomes.Sum(static o => o.Length);
            int succeeded = outcomes.Sum(static o => o.Count(static ok => ok));
            return new FleetResult(redis is not null, requests, succeeded, outages.Count, [.. providers.Select(static p => p.Calls)], scenario.RequestsPerMinute);
        }
        finally
        {
            foreach (ServiceProvider container in containers)
            {
                await container.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static ServiceProvider Build(FleetScenario scenario, int instance, (string Name, IChatClient Client)[] providers, string? redis, string prefix)
    {
        var picks = new Random(unchecked((scenario.Seed * 13) + instance));
        return DemoRouter.Build(
            TimeProvider.System,
            providers,
            options =>
            {
                options.Strategy = RoutingStrategy.Ordered;
                options.Randomizer = () =>
                {
                    lock (picks)
                    {
                        return picks.NextDouble(); // Random is not thread-safe, and requests run concurrently here
                    }
                };
                options.AttemptTimeout = TimeSpan.FromSeconds(5);
                options.Health.FailureThreshold = FleetScenario.FailureThreshold;
                options.Health.BreakDuration = scenario.BreakDuration;
                options.Health.MaxBreakDuration = scenario.BreakDuration * 4;
                options.Health.SlowStartDuration = TimeSpan.Zero;
                options.Retry.MaxRetriesPerEndpoint = 0;
            },
            (name, endpoint) =>
            {
                if (name == "bravo")
                {
                    endpoint.RequestsPerMinute = scenario.RequestsPerMinute;
                }
            },
            redis is null ? null : router => router.AddRedisFleet(fleet =>
            {
                fleet.KeyPrefix = prefix;
                fleet.ConnectionString = redis;

                // Breaks of a second or so: look for their ends often, and compete for the probe lock shortly before.
                fleet.PollInterval = TimeSpan.FromMilliseconds(20);
                fleet.ProbeLockLead = scenario.BreakDuration / 4;
                fleet.ProbeLockDuration = TimeSpan.FromSeconds(2);
            }));
    }

    private static async Task ConnectedAsync(RouterChatClient[] routers, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!Array.TrueForAll(routers, static r => r.GetFleetStatus()?.State == FleetConnectionState.Connected))
        {
            if (clock.Elapsed > ConnectWithin)
            {
                throw new InvalidOperationException(
                    $"The fleet did not connect to Redis within {ConnectWithin.TotalSeconds:0} s: {string.Join("; ", routers.Select(static r => r.GetFleetStatus()))}.");
            }

            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One instance's arrivals: a request at each, not waiting for the previous ones; returns each request's success.</summary>
    private static async Task<bool[]> DriveAsync(RouterChatClient router, Random arrivals, FleetScenario scenario, TimeProvider time, long origin, CancellationToken cancellationToken)
    {
        var requests = new List<Task<bool>>();
        double next = 0;
        while (true)
        {
            next += -Math.Log(1.0 - arrivals.NextDouble()) / scenario.RatePerInstance;
            if (next >= scenario.Duration.TotalSeconds)
            {
                break;
            }

            TimeSpan wait = TimeSpan.FromSeconds(next) - time.GetElapsedTime(origin);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
            }

            requests.Add(SendAsync(router, cancellationToken));
        }

        return await Task.WhenAll(requests).ConfigureAwait(false);
    }

    private static async Task<bool> SendAsync(RouterChatClient router, CancellationToken cancellationToken)
    {
        Caller.Value = router; // flows into the provider's call; restored when this method returns
        try
        {
            _ = await router.GetResponseAsync(Messages, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // Every failure is an outcome to count, whatever its type.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }

    private static bool CallerHoldsOpen(int endpoint) =>
        Caller.Value?.GetSnapshot()[endpoint].Health is HealthState.Open or HealthState.HalfOpen;
}
