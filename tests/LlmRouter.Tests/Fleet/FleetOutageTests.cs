using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace LlmRouter.Tests.Fleet;

/// <summary>
/// Redis killed, restarted, slow or never there: no request fails or waits, the coordination state says so, one
/// warning per outage, and a reconnect resynchronises the fleet.
/// </summary>
public sealed class FleetOutageTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const int LostEventId = 100;

    [Fact]
    public async Task RedisKilledMidRun_NoRequestFails_StateDisconnected_ThenRestartResynchronises()
    {
        redis.Require();
        using var fleet = new FleetCluster(3, redis.ConnectionString);
        await fleet.AllConnectedAsync();
        int failed = 0;
        async Task SendAll(int rounds)
        {
            for (int i = 0; i < rounds; i++)
            {
                try
                {
                    _ = await fleet.SendAsync(i % 3);
                }
                catch (LlmRouterException)
                {
                    failed++;
                }
            }
        }

        await SendAll(30);
        redis.Kill();
        await SendAll(30);
        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(n => fleet.Status(n).State == FleetConnectionState.Disconnected), "every instance says disconnected");

        // While Redis is away, instance 0 learns alone that primary died; the others cannot hear of it.
        fleet.Primary.Status = 503;
        for (int i = 0; i < FleetCluster.Threshold; i++)
        {
            Assert.Equal("backup", await fleet.SendAsync(0));
        }

        Assert.Equal(HealthState.Open, fleet.PrimaryState(0));
        Assert.Equal(HealthState.Healthy, fleet.PrimaryState(1));
        Assert.Equal(0, failed);

        // One warning per instance for the whole outage, however many requests ran through it.
        Assert.Equal(3, fleet.Logs.GetSnapshot().Count(r => r.Id.Id == LostEventId));

        await redis.StartAsync();
        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(n => fleet.Status(n).State == FleetConnectionState.Connected), "every instance reconnected");
        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(n => fleet.PrimaryState(n) == HealthState.Open), "instance 0's news reaches the others by resync");
        Assert.All(Enumerable.Range(0, 3), n => Assert.True(fleet.Status(n).Resyncs >= 2));
        Assert.All(Enumerable.Range(0, 3), n => Assert.Equal(1, fleet.Status(n).Outages));
        Assert.Equal(3, fleet.Logs.GetSnapshot().Count(r => r.Id.Id == LostEventId));

        // Back in step: one probe lock for the fleet again, and the probe's news travels by pub/sub.
        fleet.Primary.Status = 200;
        fleet.Time.Advance(FleetCluster.Break + TimeSpan.FromSeconds(1));
        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).Sum(n => fleet.Status(n).ProbeLocksHeld.Count) == 1, "one instance holds the probe lock");
        int holder = Enumerable.Range(0, 3).Single(n => fleet.Status(n).ProbeLocksHeld.Contains("primary"));
        int calls = fleet.Primary.Calls;
        Assert.Equal("backup", await fleet.SendAsync((holder + 1) % 3));
        Assert.Equal("primary", await fleet.SendAsync(holder));
        Assert.Equal(calls + 1, fleet.Primary.Calls);
        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(n => fleet.PrimaryState(n) == HealthState.Healthy), "the probe's success reaches every instance");
    }

    [Fact]
    public async Task RedisFlapping_NoRequestFails_OneWarningPerOutage()
    {
        redis.Require();
        using var fleet = new FleetCluster(2, redis.ConnectionString);
        await fleet.AllConnectedAsync();
        int served = 0;
        for (int outage = 1; outage <= 3; outage++)
        {
            redis.Kill();
            await FleetCluster.Eventually(() => Enumerable.Range(0, 2).All(n => fleet.Status(n).State == FleetConnectionState.Disconnected), "disconnected");
            for (int i = 0; i < 20; i++)
            {
                Assert.Equal("primary", await fleet.SendAsync(i % 2)); // throws if a request failed
                served++;
            }

            await redis.StartAsync();
            await FleetCluster.Eventually(() => Enumerable.Range(0, 2).All(n => fleet.Status(n).State == FleetConnectionState.Connected), "reconnected");
            Assert.All(Enumerable.Range(0, 2), n => Assert.Equal(outage, fleet.Status(n).Outages));
        }

        Assert.Equal(60, served);
        Assert.Equal(2 * 3, fleet.Logs.GetSnapshot().Count(r => r.Id.Id == LostEventId));
    }

    [Fact]
    public async Task SlowRedis_RequestsSendNothingToRedisAndNeverWaitForIt()
    {
        redis.Require();
        using var proxy = new DelayingTcpProxy(redis.Port, TimeSpan.Zero);
        string viaProxy = $"127.0.0.1:{proxy.Port},abortConnect=false,connectTimeout=10000,syncTimeout=10000,asyncTimeout=10000";
        using var fleet = new FleetCluster(3, viaProxy);
        await fleet.AllConnectedAsync();
        proxy.Delay = TimeSpan.FromSeconds(1);

        // Healthy traffic: not one byte to Redis, not one command from the mirror.
        long bytes = proxy.BytesToServer;
        long[] commands = [.. fleet.Routers.Select(r => r.Fleet!.CommandsSent)];
        for (int i = 0; i < 600; i++)
        {
            Assert.Equal("primary", await fleet.SendAsync(i % 3));
        }

        Assert.Equal(bytes, proxy.BytesToServer);
        Assert.Equal(commands, fleet.Routers.Select(r => r.Fleet!.CommandsSent));

        // Failures that open the endpoint: news to publish, through a Redis a second away each way. No request waits
        // for it (a wait would take 2 s; the bound is generous so that a loaded machine cannot fail it).
        fleet.Primary.Status = 503;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 3 * FleetCluster.Threshold; i++)
        {
            clock.Restart();
            Assert.Equal("backup", await fleet.SendAsync(i % 3));
            Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(900), $"request {i} took {clock.Elapsed.TotalMilliseconds:0} ms");
        }

        // The news still gets through, a slow round trip later.
        await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(n => fleet.PrimaryState(n) == HealthState.Open), "the slow news arrives");
        Assert.All(Enumerable.Range(0, 3), n => Assert.Equal(FleetConnectionState.Connected, fleet.Status(n).State));
    }

    [Fact]
    public async Task RedisUnreachableFromTheStart_AppStartsAndServes_OneWarning()
    {
        int deadPort = FreePort(); // nothing listens there
        var logs = new FakeLogCollector();
        var primary = new FleetProvider("primary");
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        _ = builder.Logging.AddProvider(new FakeLoggerProvider(logs));
        _ = builder.Services.AddLlmRouter(r => r
            .AddEndpoint("primary", primary)
            .AddRedisFleet(o =>
            {
                o.KeyPrefix = "unreachable";
                o.ConnectionString = $"127.0.0.1:{deadPort},connectTimeout=500";
                o.PollInterval = TimeSpan.FromMilliseconds(20);
            }));

        var clock = Stopwatch.StartNew();
        using IHost host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        RouterChatClient router = host.Services.GetRequiredService<RouterChatClient>();
        for (int i = 0; i < 50; i++)
        {
            _ = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"start-up and 50 requests took {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(50, primary.Calls);
        await FleetCluster.Eventually(() => router.GetFleetStatus()!.State == FleetConnectionState.Disconnected, "the instance says disconnected");
        HealthCheckResult check = await new FleetHealthCheck(router).CheckHealthAsync(new HealthCheckContext(), TestContext.Current.CancellationToken);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, check.Status);
        await Task.Delay(300, TestContext.Current.CancellationToken); // several reconnect polls: still one warning
        Assert.Equal(1, logs.GetSnapshot().Count(r => r.Id.Id == LostEventId));
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public void Options_Invalid_FailAtStartUpNamingTheField()
    {
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r
            .AddEndpoint("primary", new FleetProvider("primary"))
            .AddRedisFleet(o => o.KeyPrefix = "has space"));
        using ServiceProvider provider = services.BuildServiceProvider();
        OptionsValidationException e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<RouterChatClient>());
        Assert.Contains("KeyPrefix", e.Message, StringComparison.Ordinal);
        Assert.Contains("ConnectionString", e.Message, StringComparison.Ordinal); // none set, and no IConnectionMultiplexer registered
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Options_FallbackShareOutOfRange_FailsAtStartUpNamingIt(double share)
    {
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r
            .AddEndpoint("primary", new FleetProvider("primary"))
            .AddRedisFleet(o =>
            {
                o.KeyPrefix = "app";
                o.ConnectionString = "127.0.0.1:1";
                o.FallbackShare = share;
            }));
        using ServiceProvider provider = services.BuildServiceProvider();
        OptionsValidationException e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<RouterChatClient>());
        Assert.Contains("Fleet FallbackShare", e.Message, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
