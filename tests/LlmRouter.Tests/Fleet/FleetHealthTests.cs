using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.Tests.Fleet;

/// <summary>
/// Three router instances over a real redis-server share endpoint health: a dead endpoint costs the fleet one
/// threshold of failures, a recovering one gets one probe, a Retry-After reaches every instance.
/// </summary>
/// <remarks>
/// The router's clock is fake and shared (the instances' wall clocks agree); real time is used only in bounded polls
/// for Redis propagation, never as an assertion.
/// </remarks>
public sealed class FleetHealthTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task DeadEndpoint_ThreeInstancesWithFleet_AvoidedAfterAtMostThresholdPlusOneFailedCalls()
    {
        redis.Require();
        using var fleet = new FleetCluster(3, redis.ConnectionString);
        await fleet.AllConnectedAsync();
        fleet.Primary.Status = 503;

        for (int i = 0; i < 30; i++)
        {
            Assert.Equal("backup", await fleet.SendAsync(i % 3));

            // Requests arrive slower than a Redis round trip (LLM calls take seconds): let the news land.
            await fleet.QuietAsync();
            if (Enumerable.Range(0, 3).Any(n => fleet.PrimaryState(n) == HealthState.Open))
            {
                await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(n => fleet.PrimaryState(n) == HealthState.Open), "every instance sees primary open");
            }
        }

        Assert.InRange(fleet.Primary.Calls, 1, FleetCluster.Threshold + 1);
        Assert.All(Enumerable.Range(0, 3), n => Assert.Equal(HealthState.Open, fleet.PrimaryState(n)));
    }

    [Fact]
    public async Task DeadEndpoint_ThreeInstancesWithoutFleet_CostsThreeTimesThreshold()
    {
        using var fleet = new FleetCluster(3, connectionString: null, fleet: false);
        fleet.Primary.Status = 503;

        for (int i = 0; i < 30; i++)
        {
            Assert.Equal("backup", await fleet.SendAsync(i % 3));
        }

        Assert.Equal(3 * FleetCluster.Threshold, fleet.Primary.Calls);
    }

    [Fact]
    public async Task HalfOpen_ThreeInstances_SendExactlyOneProbe()
    {
        redis.Require();
        using var fleet = new FleetCluster(3, redis.ConnectionString);
        await fleet.AllConnectedAsync();
        await OpenPrimaryEverywhereAsync(fleet);

        fleet.Primary.Status = 200;
        int before = fleet.Primary.Calls;
        fleet.Time.Advance(FleetCluster.Break + TimeSpan.FromSeconds(1));
        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).Sum(n => fleet.Status(n).ProbeLocksHeld.Count) == 1, "one instance holds the probe lock");
        int holder = Enumerable.Range(0, 3).Single(n => fleet.Status(n).ProbeLocksHeld.Contains("primary"));

        // Every instance sees the endpoint half-open; the others keep away until the probe's outcome arrives.
        for (int round = 0; round < 5; round++)
        {
            foreach (int n in Enumerable.Range(0, 3).Where(n => n != holder))
            {
                Assert.Equal(HealthState.HalfOpen, fleet.PrimaryState(n));
                Assert.Equal("backup", await fleet.SendAsync(n));
            }
        }

        Assert.Equal(before, fleet.Primary.Calls);
        Assert.Equal("primary", await fleet.SendAsync(holder)); // the probe
        Assert.Equal(before + 1, fleet.Primary.Calls);

        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(n => fleet.PrimaryState(n) == HealthState.Healthy), "the probe's success reaches every instance");
        foreach (int n in Enumerable.Range(0, 3))
        {
            Assert.Equal("primary", await fleet.SendAsync(n));
        }

        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(n => fleet.Status(n).ProbeLocksHeld.Count == 0), "the holder released the lock with the news");
    }

    [Fact]
    public async Task HalfOpen_ProbeFails_EveryInstanceMovesTheBreakLater()
    {
        redis.Require();
        using var fleet = new FleetCluster(3, redis.ConnectionString);
        await fleet.AllConnectedAsync();
        await OpenPrimaryEverywhereAsync(fleet);

        int before = fleet.Primary.Calls;
        fleet.Time.Advance(FleetCluster.Break + TimeSpan.FromSeconds(1));
        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).Sum(n => fleet.Status(n).ProbeLocksHeld.Count) == 1, "one instance holds the probe lock");
        int holder = Enumerable.Range(0, 3).Single(n => fleet.Status(n).ProbeLocksHeld.Contains("primary"));
        Assert.Equal("backup", await fleet.SendAsync(holder)); // the probe fails over
        Assert.Equal(before + 1, fleet.Primary.Calls);

        // The doubled break reaches every instance: open again, not half-open, and nobody probes meanwhile.
        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(n => fleet.PrimaryState(n) == HealthState.Open), "every instance re-opened");
        fleet.Time.Advance(FleetCluster.Break + TimeSpan.FromSeconds(1));
        foreach (int n in Enumerable.Range(0, 3))
        {
            Assert.Equal(HealthState.Open, fleet.PrimaryState(n));
            Assert.Equal("backup", await fleet.SendAsync(n));
        }

        Assert.Equal(before + 1, fleet.Primary.Calls);
    }

    [Fact]
    public async Task HalfOpen_HolderWithoutTraffic_LetsTheLockGoToAnInstanceThatProbes()
    {
        redis.Require();
        using var fleet = new FleetCluster(3, redis.ConnectionString, configure: o => o.ProbeLockDuration = TimeSpan.FromMilliseconds(500));
        await fleet.AllConnectedAsync();
        await OpenPrimaryEverywhereAsync(fleet);
        fleet.Primary.Status = 200;

        fleet.Time.Advance(FleetCluster.Break + TimeSpan.FromSeconds(1));
        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).Sum(n => fleet.Status(n).ProbeLocksHeld.Count) == 1, "one instance holds the probe lock");
        int idle = Enumerable.Range(0, 3).Single(n => fleet.Status(n).ProbeLocksHeld.Contains("primary"));

        // The holder gets no request; another instance takes the lock once it lapses, and probes.
        int next = -1;
        await FleetCluster.Eventually(
            () => (next = Enumerable.Range(0, 3).FirstOrDefault(n => n != idle && fleet.Status(n).ProbeLocksHeld.Contains("primary"), -1)) >= 0,
            "another instance takes the lapsed lock");
        Assert.Equal(FleetCluster.Threshold, fleet.Primary.Calls); // no probe yet
        Assert.Equal("primary", await fleet.SendAsync(next));
        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(n => fleet.PrimaryState(n) == HealthState.Healthy), "the probe's success reaches every instance");
    }

    [Fact]
    public async Task RateLimited_AtOneInstance_EveryInstanceCoolsDown()
    {
        redis.Require();
        using var fleet = new FleetCluster(3, redis.ConnectionString);
        await fleet.AllConnectedAsync();
        fleet.Primary.Status = 429;
        Assert.Equal("backup", await fleet.SendAsync(0));
        Assert.Equal(1, fleet.Primary.Calls);
        fleet.Primary.Status = 200;

        await FleetCluster.Eventually(() => Enumerable.Range(1, 2).All(n => fleet.Routers[n].GetSnapshot()[0].RecoversAt is not null), "the cool-down reaches every instance");
        foreach (int n in Enumerable.Range(0, 3))
        {
            Assert.Equal("backup", await fleet.SendAsync(n));
        }

        Assert.Equal(1, fleet.Primary.Calls);
    }

    [Fact]
    public async Task LateInstance_ReadsTheCurrentStateAtStartUp()
    {
        redis.Require();
        using var fleet = new FleetCluster(1, redis.ConnectionString);
        await fleet.AllConnectedAsync();
        await OpenPrimaryEverywhereAsync(fleet);

        using var late = new FleetCluster(1, redis.ConnectionString, prefix: fleet.Prefix);
        await late.AllConnectedAsync();
        Assert.Equal(HealthState.Open, late.PrimaryState(0));
        Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult check =
            await new FleetHealthCheck(late.Routers[0]).CheckHealthAsync(new(), TestContext.Current.CancellationToken);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, check.Status);
        Assert.Equal("backup", await late.SendAsync(0));
        Assert.Equal(0, late.Primary.Calls);
    }

    [Fact]
    public async Task SharedState_HoldsNoPromptTextNorSecrets()
    {
        redis.Require();
        using var fleet = new FleetCluster(2, redis.ConnectionString);
        await fleet.AllConnectedAsync();
        await OpenPrimaryEverywhereAsync(fleet);

        using StackExchange.Redis.ConnectionMultiplexer admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        StackExchange.Redis.IServer server = admin.GetServer(admin.GetEndPoints()[0]);
        var keys = server.Keys(pattern: fleet.Prefix + "*").ToList();
        Assert.NotEmpty(keys);
        foreach (StackExchange.Redis.RedisKey key in keys)
        {
            string value = (string?)await admin.GetDatabase().StringGetAsync(key) ?? string.Empty;
            Assert.Matches(@"^[0-9a-f|]*$", value); // deadlines, counters, instance ids: nothing else
            Assert.DoesNotContain("hello", key.ToString(), StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task ApplicationMultiplexer_IsUsedAndLeftOpen()
    {
        redis.Require();
        await using StackExchange.Redis.ConnectionMultiplexer shared = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var services = new ServiceCollection();
        _ = services.AddSingleton<StackExchange.Redis.IConnectionMultiplexer>(shared);
        _ = services.AddLlmRouter(r => r.AddEndpoint("primary", new FleetProvider("primary")).AddRedisFleet(o => o.KeyPrefix = $"di-{Guid.NewGuid():N}"));
        using (ServiceProvider provider = services.BuildServiceProvider())
        {
            RouterChatClient router = provider.GetRequiredService<RouterChatClient>();
            await FleetCluster.Eventually(() => router.GetFleetStatus()!.State == FleetConnectionState.Connected, "connected through the application's multiplexer");
        }

        Assert.True(shared.IsConnected); // the router does not dispose what the application owns
    }

    [Fact]
    public async Task Configuration_BindsTheFleetSection()
    {
        redis.Require();
        IConfiguration configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Fleet:KeyPrefix"] = $"config-{Guid.NewGuid():N}",
                ["Fleet:ConnectionString"] = redis.ConnectionString,
                ["Fleet:PollInterval"] = "00:00:00.050",
            })
            .Build();
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r.AddEndpoint("primary", new FleetProvider("primary")).AddRedisFleet(configuration.GetSection("Fleet")));
        using ServiceProvider provider = services.BuildServiceProvider();
        RouterChatClient router = provider.GetRequiredService<RouterChatClient>();
        await FleetCluster.Eventually(() => router.GetFleetStatus()!.State == FleetConnectionState.Connected, "connected from configuration");
        Assert.StartsWith("config-", router.GetFleetStatus()!.KeyPrefix, StringComparison.Ordinal);
    }

    /// <summary>Fails the primary through instance 0 until every instance sees it open.</summary>
    internal static async Task OpenPrimaryEverywhereAsync(FleetCluster fleet)
    {
        fleet.Primary.Status = 503;
        for (int i = 0; i < FleetCluster.Threshold; i++)
        {
            Assert.Equal("backup", await fleet.SendAsync(0));
        }

        await fleet.QuietAsync();
        await FleetCluster.Eventually(() => Enumerable.Range(0, fleet.Routers.Count).All(n => fleet.PrimaryState(n) == HealthState.Open), "every instance sees primary open");
    }
}
