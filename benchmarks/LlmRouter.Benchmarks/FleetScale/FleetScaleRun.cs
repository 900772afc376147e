using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using LlmRouter.Simulation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace LlmRouter.Benchmarks.FleetScale;

/// <summary>
/// Measures what fleet mode costs Redis at 1, 3 and 8 router instances (docs/fleet.md): a fresh redis-server per run,
/// N instances with <c>AddRedisFleet</c> (one key prefix, each its own service provider and connection) over three fake
/// endpoints, a fixed paced workload per instance on real time, with the first endpoint failing for a stretch (openings,
/// probes, recoveries), a fleet-wide RequestsPerMinute on the second and a tenant budget (quota leases, budget sync).
/// Redis's own counters (<c>INFO commandstats</c>, <c>INFO stats</c>, <c>DBSIZE</c>, <c>INFO memory</c>) are read before
/// and after the workload.
/// </summary>
internal static class FleetScaleRun
{
    private const string Tenant = "acme";
    private const int RequestsPerInstance = 2_000;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FailFrom = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan FailUntil = TimeSpan.FromSeconds(6);

    // Commands the harness itself sends on its own connection; not counted.
    private static readonly HashSet<string> Own = ["info", "dbsize", "pubsub|numsub", "pubsub", "config|resetstat", "config", "ping", "client|setname", "client", "cluster", "echo", "subscribe"];

    public static async Task RunAsync(int[] sizes)
    {
        Console.WriteLine($"// fleet-scale: {RequestsPerInstance} requests per instance over {Duration.TotalSeconds:0} s; e0 fails 503 from {FailFrom.TotalSeconds:0} s to {FailUntil.TotalSeconds:0} s; e1 RequestsPerMinute 6000 fleet-wide; tenant '{Tenant}' PerDay budget; Redis {RedisVersion()}");
        var rows = new List<Row>();
        foreach (int n in sizes)
        {
            rows.Add(await RunOnceAsync(n));
        }

        Console.WriteLine();
        Console.WriteLine("| instances | requests | Redis commands (server, incl. in scripts) | round trips (clients) | commands / request | commands / s / instance | round trips / s / instance | PUBLISH | pub/sub deliveries | keys | used memory |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (Row r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Instances} | {r.Requests:N0} | {r.Commands:N0} | {r.RoundTrips:N0} | {(double)r.Commands / r.Requests:0.000} | {r.Commands / r.Seconds / r.Instances:0.0} | {r.RoundTrips / r.Seconds / r.Instances:0.0} | {r.Publishes:N0} | {r.Deliveries:N0} | {r.Keys} | {r.UsedMemory / 1024.0:0} KiB ({r.MemoryGrowth / 1024.0:+0;-0;0} KiB) |"));
        }

        Console.WriteLine();
        foreach (Row r in rows)
        {
            Console.WriteLine($"// {r.Instances} instance(s), by command: {string.Join(", ", r.ByCommand.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"))}");
            Console.WriteLine($"//   served by e0/e1/e2: {r.Served[0]}/{r.Served[1]}/{r.Served[2]}, failed requests {r.Failed}, e0 turned Open {r.Openings} times across the instances, wall {r.Seconds:0.00} s");
        }
    }

    private static async Task<Row> RunOnceAsync(int n)
    {
        using LoopbackRedis redis = LoopbackRedis.Start();
        string endpoint = redis.ConnectionString;
        using ConnectionMultiplexer admin = await ConnectAdminAsync(endpoint);
        IServer server = admin.GetServer(admin.GetEndPoints()[0]);
        var e0 = new ScaleEndpoint("e0");
        var e1 = new ScaleEndpoint("e1");
        var e2 = new ScaleEndpoint("e2");
        var providers = new List<ServiceProvider>();
        var routers = new List<RouterChatClient>();
        for (int i = 0; i < n; i++)
        {
            var services = new ServiceCollection();
            LlmRouterBuilder builder = services.AddLlmRouter(r => r
                .AddEndpoint("e0", e0, e => e.OutputCostPerMillionTokens = 10)
                .AddEndpoint("e1", e1, e =>
                {
                    e.OutputCostPerMillionTokens = 10;
                    e.RequestsPerMinute = 6_000;
                })
                .AddEndpoint("e2", e2, e => e.OutputCostPerMillionTokens = 10)
                .Configure(o =>
                {
                    o.Strategy = RoutingStrategy.Ordered;
                    o.Health.FailureThreshold = 3;
                    o.Health.BreakDuration = TimeSpan.FromSeconds(1);
                    o.Health.BreakJitter = 0;
                    o.Health.SlowStartDuration = TimeSpan.Zero;
                    o.Retry.MaxRetriesPerEndpoint = 0;
                    o.Constraints.Tenants[Tenant] = new TenantOptions { Budget = new BudgetOptions { PerDay = 1_000_000 } };
                }));
            _ = builder.AddRedisFleet(o =>
            {
                o.KeyPrefix = "scale";
                o.ConnectionString = endpoint;
            });
            ServiceProvider provider = services.BuildServiceProvider();
            providers.Add(provider);
            routers.Add(provider.GetRequiredService<RouterChatClient>());
        }

        var wait = Stopwatch.StartNew();
        while (routers.Any(r => r.GetFleetStatus()!.State != FleetConnectionState.Connected) && wait.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(10);
        }

        await Task.Delay(500); // start-up reads and first leases done: the window measures the steady workload

        Snapshot before = await SnapshotAsync(server);
        long[] sentBefore = routers.Select(r => r.Fleet!.CommandsSent).ToArray();
        var clock = Stopwatch.StartNew();
        e0.FailWhen = () => clock.Elapsed >= FailFrom && clock.Elapsed < FailUntil;
        int failed = 0;
        int openings = 0;
        Task[] loops = routers.Select((router, index) => Task.Run(async () =>
        {
            var options = new ChatOptions().WithRouting(r => r.Tenant = Tenant);
            List<ChatMessage> messages = [new(ChatRole.User, "hello")];
            double interval = Duration.TotalMilliseconds / RequestsPerInstance;
            bool wasOpen = false;
            for (int k = 0; k < RequestsPerInstance; k++)
            {
                double due = (k * interval) + (index * interval / n);
                double ahead = due - clock.Elapsed.TotalMilliseconds;
                if (ahead > 1)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(ahead));
                }

                try
                {
                    _ = await router.GetResponseAsync(messages, options);
                }
                catch (Exception)
                {
                    _ = Interlocked.Increment(ref failed);
                }

                bool open = router.GetSnapshot()[0].Health == HealthState.Open;
                if (open && !wasOpen)
                {
                    _ = Interlocked.Increment(ref openings);
                }

                wasOpen = open;
            }
        })).ToArray();
        await Task.WhenAll(loops);
        double seconds = clock.Elapsed.TotalSeconds;
        long roundTrips = routers.Select((r, i) => r.Fleet!.CommandsSent - sentBefore[i]).Sum();
        Snapshot after = await SnapshotAsync(server);
        long subscribers = (long)(await server.Multiplexer.GetDatabase().ExecuteAsync("PUBSUB", "NUMSUB", "scale:llmrouter:events"))[1];

        var byCommand = new Dictionary<string, long>();
        foreach ((string name, long calls) in after.Calls)
        {
            long delta = calls - before.Calls.GetValueOrDefault(name);
            if (delta > 0 && !Own.Contains(name))
            {
                byCommand[name] = delta;
            }
        }

        long publishes = byCommand.GetValueOrDefault("publish");
        var row = new Row(n, n * RequestsPerInstance, byCommand.Values.Sum(), roundTrips, seconds, publishes, publishes * subscribers,
            after.Keys, after.UsedMemory, after.UsedMemory - before.UsedMemory, byCommand, [e0.Served, e1.Served, e2.Served], failed, openings);
        foreach (ServiceProvider provider in providers)
        {
            await provider.DisposeAsync();
        }

        Console.WriteLine($"// {n} instance(s) done: {row.Commands} commands, {subscribers} subscribers");
        return row;
    }

    private static async Task<ConnectionMultiplexer> ConnectAdminAsync(string endpoint)
    {
        var wait = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await ConnectionMultiplexer.ConnectAsync($"{endpoint},allowAdmin=true,abortConnect=true");
            }
            catch (RedisConnectionException) when (wait.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(50);
            }
        }
    }

    private static async Task<Snapshot> SnapshotAsync(IServer server)
    {
        string commandStats = await server.InfoRawAsync("commandstats") ?? string.Empty;
        var calls = new Dictionary<string, long>();
        foreach (string line in commandStats.Split('\n', StringSplitOptions.TrimEntries))
        {
            // cmdstat_evalsha:calls=12,usec=...
            if (line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                string name = line[8..colon];
                string value = line[(colon + 7)..];
                value = value[..value.IndexOf(',', StringComparison.Ordinal)];
                calls[name] = long.Parse(value, CultureInfo.InvariantCulture);
            }
        }

        string memory = await server.InfoRawAsync("memory") ?? string.Empty;
        long used = memory.Split('\n', StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("used_memory:", StringComparison.Ordinal))
            .Select(l => long.Parse(l["used_memory:".Length..], CultureInfo.InvariantCulture)).First();
        long keys = await server.DatabaseSizeAsync();
        return new Snapshot(calls, keys, used);
    }

    private static string RedisVersion()
    {
        try
        {
            using Process p = Process.Start(new ProcessStartInfo("redis-server", "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
            string text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return text.Split(' ').FirstOrDefault(t => t.StartsWith("v=", StringComparison.Ordinal)) ?? "?";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "not found";
        }
    }

    private sealed record Snapshot(Dictionary<string, long> Calls, long Keys, long UsedMemory);

    private sealed record Row(int Instances, int Requests, long Commands, long RoundTrips, double Seconds, long Publishes, long Deliveries,
        long Keys, long UsedMemory, long MemoryGrowth, Dictionary<string, long> ByCommand, int[] Served, int Failed, int Openings);

    /// <summary>A fake endpoint shared by every instance: answers at once with usage, or fails with 503 while <see cref="FailWhen"/> says so.</summary>
    private sealed class ScaleEndpoint(string name) : IChatClient
    {
        private int _served;

        public Func<bool> FailWhen { get; set; } = () => false;

        public int Served => Volatile.Read(ref _served);

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            if (FailWhen())
            {
                return Task.FromException<ChatResponse>(new HttpRequestException("unavailable", null, HttpStatusCode.ServiceUnavailable));
            }

            _ = Interlocked.Increment(ref _served);
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, name))
            {
                FinishReason = ChatFinishReason.Stop,
                Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 20, TotalTokenCount = 30 },
            });
        }

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            ChatResponse response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
            foreach (ChatResponseUpdate update in response.ToChatResponseUpdates())
            {
                yield return update;
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
