using System.Diagnostics;
using LlmRouter.Simulation;

namespace LlmRouter.ChaosDemo;

/// <summary>
/// <c>--fleet N</c>: the fleet comparison end to end. Finds Redis (<c>--redis</c>, else <c>LLMROUTER_REDIS</c>, else a
/// redis-server started on a free loopback port and killed at the end), runs the scenario without and with shared
/// state, and prints the table.
/// </summary>
internal static class FleetDemo
{
    /// <summary>The environment variable naming a Redis server when <c>--redis</c> does not.</summary>
    public const string RedisVariable = "LLMROUTER_REDIS";

    /// <summary>Runs the comparison; returns the process's exit code: 0, or 2 when no Redis is to be had.</summary>
    public static async Task<int> RunAsync(ChaosOptions options, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string? redis = options.Redis ?? NonEmpty(Environment.GetEnvironmentVariable(RedisVariable));
        if (redis is null && LoopbackRedis.Executable is null)
        {
            error.WriteLine($"error: --fleet needs Redis: install redis-server (apt-get install redis-server, or brew install redis) " +
                $"so the demo can start one, or name a server with --redis HOST:PORT or {RedisVariable}.");
            return 2;
        }

        var scenario = FleetScenario.For(options.Fleet!.Value, options.Seed);
        using LoopbackRedis? started = redis is null ? LoopbackRedis.Start() : null;
        string connection = redis ?? started!.ConnectionString;
        string described = started is null ? "the Redis server of --redis or " + RedisVariable : $"redis-server started on 127.0.0.1:{started.Port}";
        var clock = Stopwatch.StartNew();
        output.WriteLine($"Fleet comparison: {scenario.Instances} instances, {scenario.Duration.TotalSeconds:0} s per mode; {described}.");

        output.WriteLine("  independent routers: running…");
        FleetResult independent = await FleetRun.RunAsync(scenario, redis: null, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"  independent routers done ({clock.Elapsed.TotalSeconds:0.0} s)");
        output.WriteLine("  fleet mode (Redis): running…");
        FleetResult shared = await FleetRun.RunAsync(scenario, connection, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"  fleet mode (Redis) done ({clock.Elapsed.TotalSeconds:0.0} s)");

        FleetReport.Print(scenario, scenario.AlphaOutages(), independent, shared, described, output);
        return 0;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
