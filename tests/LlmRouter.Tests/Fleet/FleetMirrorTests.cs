using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace LlmRouter.Tests.Fleet;

/// <summary>The mirror without Redis: its queue, its message format, and its hold on the request path.</summary>
public sealed class FleetMirrorTests
{
    private static (RouterChatClient Router, FleetMirror Mirror, TaskCompletionSource<IConnectionMultiplexer> Connect) Build(int capacity)
    {
        var time = new FakeTimeProvider();
        RouterChatClient router = RouterFactory.Create(time, null, new ScriptedChatClient("a").Answers("ok", always: true));
        var connect = new TaskCompletionSource<IConnectionMultiplexer>();
        var options = new RedisFleetOptions { KeyPrefix = "unit", PublishQueueCapacity = capacity };
        var mirror = new FleetMirror(options, router.Endpoints, router.Runtime, NullLogger.Instance, _ => connect.Task, ownsConnection: false);
        router.AttachFleet(mirror);
        return (router, mirror, connect);
    }

    [Fact]
    public void LimitAddedByALiveOptionsChange_IsTheFleets()
    {
        var time = new FakeTimeProvider();
        using RouterChatClient router = RouterFactory.Create(time, null, new ScriptedChatClient("a").Answers("ok", always: true));
        var options = new RedisFleetOptions { KeyPrefix = "unit", FallbackShare = 0.5 };
        using var mirror = new FleetMirror(options, router.Endpoints, router.Runtime, NullLogger.Instance, _ => new TaskCompletionSource<IConnectionMultiplexer>().Task, ownsConnection: false);
        router.AttachFleet(mirror);
        EndpointLimits limits = router.Endpoints[0].Limits!;
        limits.Configure(new EndpointOptions());
        Assert.Null(limits.AtLimit(0)); // no limit yet

        // The endpoint gets a limit of 60 per minute after start-up; Redis has not answered: this instance's half.
        limits.Configure(new EndpointOptions { RequestsPerMinute = 60 });
        for (int i = 0; i < 30; i++)
        {
            Assert.NotNull(limits.TryAcquire(0));
        }

        Assert.Null(limits.TryAcquire(0));
        Assert.Equal("RequestsPerMinute (60) reached by the fleet", limits.AtLimit(0));
        Assert.Equal(60, mirror.RequestQuota(0)!.Limit);
    }

    [Fact]
    public void PublishQueue_WhenFull_DropsTheOldestAndCountsThem()
    {
        (RouterChatClient router, _, _) = Build(capacity: 16);
        using RouterChatClient disposer = router;
        EndpointCooldown cooldown = router.Endpoints[0].Cooldown;
        for (int i = 1; i <= 20; i++)
        {
            Assert.True(cooldown.ExtendTo(i * 1000)); // local news, while Redis has not answered yet
        }

        FleetStatus status = router.GetFleetStatus()!;
        Assert.Equal(FleetConnectionState.Connecting, status.State);
        Assert.Equal(16, status.QueuedEvents);
        Assert.Equal(4, status.DroppedEvents);
    }

    [Fact]
    public void RemoteNews_DoesNotEchoBackToTheFleet()
    {
        (RouterChatClient router, _, _) = Build(capacity: 16);
        using RouterChatClient disposer = router;
        RouterEndpoint endpoint = router.Endpoints[0];
        Assert.True(endpoint.Health.ApplyRemoteOpen(10_000, 0));
        Assert.True(endpoint.Cooldown.ExtendFromFleet(5_000));
        Assert.Equal(0, router.GetFleetStatus()!.QueuedEvents);
    }

    [Fact]
    public void RemoteOpen_NeverShortensALongerBreak_AndRemoteCloseSparesANewerOne()
    {
        var health = new EndpointHealth();
        Assert.True(health.ApplyRemoteOpen(10_000, 1));
        Assert.False(health.ApplyRemoteOpen(5_000, 0)); // deadlines only move later
        Assert.Equal(10_000, health.Status.OpenUntil);
        Assert.Equal(1, health.FailedProbes);

        Assert.False(health.ApplyRemoteClose(openUntil: 4_000, now: 11_000, tolerance: 100)); // a probe of an older break
        Assert.Equal(HealthState.Open, health.Status.State);
        Assert.True(health.ApplyRemoteClose(openUntil: 10_000, now: 11_000, tolerance: 100));
        Assert.Equal(HealthState.Healthy, health.Status.State);
        Assert.Equal(0, health.FailedProbes);
    }

    [Fact]
    public void FleetProbeDenied_HalfOpenEndpoint_RejectsUntilAllowed()
    {
        var health = new EndpointHealth();
        _ = health.ApplyRemoteOpen(1_000, 0);
        health.FleetProbeDenied = true;
        Assert.Equal(Admission.Rejected, health.TryAdmit(2_000));
        Assert.True(health.ProbeInFlight); // the planner keeps it out of plans

        Task changed = health.Changed;
        health.FleetProbeDenied = false;
        Assert.True(changed.IsCompleted); // requests waiting on an all-open group wake up
        Assert.Equal(Admission.Probe, health.TryAdmit(2_000));
    }

    [Theory]
    [InlineData("1|o|1700000000000|2|abc|my|endpoint", 'o', 1700000000000L, 2, "abc", "my|endpoint")]
    [InlineData("1|c|5|0|x|e", 'c', 5L, 0, "x", "e")]
    public void Message_RoundTrips_EndpointMayHoldTheSeparator(string text, char kind, long until, int probes, string instance, string endpoint)
    {
        Assert.True(FleetKeys.TryParse(text, out char k, out long u, out int p, out string i, out string e));
        Assert.Equal((kind, until, probes, instance, endpoint), (k, u, p, i, e));
        Assert.Equal(text, FleetKeys.Message(kind, until, probes, instance, endpoint));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("2|o|1|0|x|e")]
    [InlineData("1|o|notanumber|0|x|e")]
    [InlineData("1|oo|1|0|x|e")]
    [InlineData("1|o|1|0|x")]
    public void Message_Malformed_IsIgnored(string? text) =>
        Assert.False(FleetKeys.TryParse(text, out _, out _, out _, out _, out _));
}
