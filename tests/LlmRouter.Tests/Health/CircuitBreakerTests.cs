using System.ClientModel;
using System.Globalization;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Health;

/// <summary>Healthy → Open → HalfOpen → Healthy, with exact timings (BreakJitter 0), through the router.</summary>
public sealed class CircuitBreakerTests
{
    private static readonly TimeSpan Break = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan OneMs = TimeSpan.FromMilliseconds(1);
    private readonly ObservableFakeTimeProvider _time = new();
    private LlmRouterOptions? _options;

    [Fact]
    public async Task Breaker_FailureThresholdInARow_OpensOnlyAtTheThresholdAndStaysOpenUntilBreakDuration()
    {
        var a = new LatencyChatClient("a", _time, 0) { Failure = call => call <= 5 ? RouterFactory.Http(500) : null };
        var b = new LatencyChatClient("b", _time, 0);
        using RouterChatClient router = Create(a, b);

        for (int i = 1; i <= 4; i++)
        {
            RoutingInfo failedOver = await RouterDriver.SendAsync(router);
            Assert.Equal([("a", (FailureKind?)FailureKind.Transient), ("b", null)], failedOver.Attempts.Select(x => (x.Endpoint, x.Failure)));
        }

        Assert.Equal(HealthState.Healthy, RouterDriver.Snapshot(router, "a").Health); // N − 1 failures in a row

        _ = await RouterDriver.SendAsync(router);
        DateTimeOffset openedAt = _time.GetUtcNow();
        EndpointSnapshot open = RouterDriver.Snapshot(router, "a");
        Assert.Equal(HealthState.Open, open.Health);
        Assert.Equal(openedAt + Break, open.RecoversAt);

        // One millisecond before the break ends: still open, no request reaches it, b serves alone.
        _time.Advance(Break - OneMs);
        Assert.Equal(HealthState.Open, RouterDriver.Snapshot(router, "a").Health);
        RoutingInfo whileOpen = await RouterDriver.SendAsync(router);
        Assert.Equal("b", Assert.Single(whileOpen.Attempts).Endpoint);
        Assert.Equal(5, a.Calls);
        CandidateScore skipped = whileOpen.Candidates.Single(c => c.Endpoint == "a");
        Assert.Equal((HealthState.Open, -1), (skipped.Health, skipped.Rank));

        // At the break's end: half-open, and exactly one probe reaches it.
        _time.Advance(OneMs);
        Assert.Equal(HealthState.HalfOpen, RouterDriver.Snapshot(router, "a").Health);
        Assert.Null(RouterDriver.Snapshot(router, "a").RecoversAt);
        RoutingInfo probe = await RouterDriver.SendAsync(router);
        Assert.Equal(6, a.Calls);
        Assert.Equal("a", Assert.Single(probe.Attempts).Endpoint);
        Assert.Equal("a: probe of half-open endpoint", probe.Reason);
        CandidateScore probed = probe.Candidates.Single(c => c.Endpoint == "a");
        Assert.Equal((HealthState.HalfOpen, 0), (probed.Health, probed.Rank));
        Assert.Equal(HealthState.Healthy, RouterDriver.Snapshot(router, "a").Health);
    }

    [Fact]
    public async Task Breaker_SuccessBetweenFailures_RestartsTheCount()
    {
        int[] failing = [1, 2, 3, 4, 6, 7, 8, 9];
        var a = new LatencyChatClient("a", _time, 0) { Failure = call => failing.Contains(call) ? RouterFactory.Http(503) : null };
        var b = new LatencyChatClient("b", _time, 0);
        using RouterChatClient router = Create(a, b);

        _ = await RouterDriver.SendManyAsync(router, 9); // 4 failures, a success, 4 failures

        Assert.Equal(HealthState.Healthy, RouterDriver.Snapshot(router, "a").Health);
        Assert.Equal(9, a.Calls);
    }

    [Fact]
    public async Task Breaker_ProbeSucceeds_RampsFirstChoicesFromCanaryShareToAllOverSlowStartDuration()
    {
        var a = new LatencyChatClient("a", _time, 0) { Failure = call => call <= 5 ? RouterFactory.Http(500) : null };
        var b = new LatencyChatClient("b", _time, 0);
        using RouterChatClient router = Create(a, b, o => o.Health.SlowStartDuration = TimeSpan.FromSeconds(40));
        EndpointHealth health = router.Endpoints[0].Health;
        _ = await RouterDriver.SendManyAsync(router, 5);
        _time.Advance(Break);
        Assert.Equal("a: probe of half-open endpoint", (await RouterDriver.SendAsync(router)).Reason);

        // The ramp starts at the probe's success: 5 % (Health:CanaryShare), half-way 52.5 %, then 100 %.
        Assert.Equal(0.05, Share(), 9);
        Assert.InRange(await FirstChoiceShareOfAAsync(router, 2_000), 0.03, 0.07);

        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(0.525, Share(), 9);
        Assert.InRange(await FirstChoiceShareOfAAsync(router, 2_000), 0.48, 0.57);

        _time.Advance(TimeSpan.FromSeconds(20) - OneMs);
        Assert.True(Share() < 1);
        _time.Advance(OneMs);
        Assert.Equal(1.0, Share());
        Assert.Equal(1.0, await FirstChoiceShareOfAAsync(router, 200));

        double Share() => health.FirstChoiceShare(_time.GetTimestamp(), _options!.Health, _time.TimestampFrequency);
    }

    [Fact]
    public async Task Breaker_FailedProbes_ReopenForDoubleTheBreakCappedByMaxBreakDuration()
    {
        var a = new LatencyChatClient("a", _time, 0) { Failure = call => call <= 7 || (call >= 9 && call <= 13) ? RouterFactory.Http(500) : null };
        var b = new LatencyChatClient("b", _time, 0);
        using RouterChatClient router = Create(a, b, o => o.Health.MaxBreakDuration = TimeSpan.FromSeconds(100));
        _ = await RouterDriver.SendManyAsync(router, 5);

        // First failed probe (call 6): open for 2 × 30 s.
        _time.Advance(Break);
        await AssertProbeFailsAndReopensForAsync(TimeSpan.FromSeconds(60));

        // Second failed probe (call 7): 4 × 30 s = 120 s, capped at 100 s.
        await AssertProbeFailsAndReopensForAsync(TimeSpan.FromSeconds(100));

        // The probe (call 8) succeeds: healthy, and the doubling starts over: five new failures open it for 30 s again.
        _time.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal("a", (await RouterDriver.SendAsync(router)).Endpoint);
        Assert.Equal(HealthState.Healthy, RouterDriver.Snapshot(router, "a").Health);
        _time.Advance(TimeSpan.FromMinutes(1)); // past the slow-start ramp, so that a goes first again
        _ = await RouterDriver.SendManyAsync(router, 5);
        Assert.Equal(13, a.Calls);
        Assert.Equal(_time.GetUtcNow() + Break, RouterDriver.Snapshot(router, "a").RecoversAt);

        async Task AssertProbeFailsAndReopensForAsync(TimeSpan expected)
        {
            int calls = a.Calls;
            RoutingInfo probe = await RouterDriver.SendAsync(router);
            Assert.Equal(calls + 1, a.Calls);
            Assert.Equal([("a", (FailureKind?)FailureKind.Transient), ("b", null)], probe.Attempts.Select(x => (x.Endpoint, x.Failure)));
            DateTimeOffset failedAt = _time.GetUtcNow();
            Assert.Equal(failedAt + expected, RouterDriver.Snapshot(router, "a").RecoversAt);

            _time.Advance(expected - OneMs);
            Assert.Equal(HealthState.Open, RouterDriver.Snapshot(router, "a").Health);
            Assert.Equal("b", Assert.Single((await RouterDriver.SendAsync(router)).Attempts).Endpoint);
            _time.Advance(OneMs);
            Assert.Equal(HealthState.HalfOpen, RouterDriver.Snapshot(router, "a").Health);
        }
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    public async Task Breaker_AuthFailure_OpensAtOnceForAuthFailureCooldown(int status)
    {
        var a = new LatencyChatClient("a", _time, 0) { Failure = call => call == 1 ? RouterFactory.Http(status) : null };
        var b = new LatencyChatClient("b", _time, 0);
        using RouterChatClient router = Create(a, b, o => o.Health.AuthFailureCooldown = TimeSpan.FromMinutes(7));

        RoutingInfo first = await RouterDriver.SendAsync(router);

        Assert.Equal(FailureKind.Auth, first.Attempts[0].Failure);
        EndpointSnapshot open = RouterDriver.Snapshot(router, "a");
        Assert.Equal(HealthState.Open, open.Health);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(7), open.RecoversAt);
        _time.Advance(TimeSpan.FromMinutes(7) - OneMs);
        Assert.Equal("b", Assert.Single((await RouterDriver.SendAsync(router)).Attempts).Endpoint);
        _time.Advance(OneMs);
        Assert.Equal("a: probe of half-open endpoint", (await RouterDriver.SendAsync(router)).Reason);
        Assert.Equal(2, a.Calls);
    }

    [Fact]
    public async Task Breaker_LaterShorterBreak_NeverShortensAnOpenEndpointsDeadline()
    {
        // Two attempts are in flight on a when the first one's 401 opens it for 5 minutes; the second one's 401
        // arrives after the cool-down was shortened to 1 minute: the deadline stays where it was.
        var a = new GatedChatClient("a");
        var b = new LatencyChatClient("b", _time, 0);
        using RouterChatClient router = RouterFactory.Create(
            _time, o => { Configure(o); o.Health.AuthFailureCooldown = TimeSpan.FromMinutes(5); }, null, ("a", a, null), ("b", b, null));
        Task<ChatResponse> first = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        Task<ChatResponse> second = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(2, a.HeldCount);

        a.Release(1, RouterFactory.Http(401));
        Assert.Equal("b", (await first).GetRoutingInfo()!.Endpoint);
        DateTimeOffset deadline = _time.GetUtcNow() + TimeSpan.FromMinutes(5);
        _options!.Health.AuthFailureCooldown = TimeSpan.FromMinutes(1);
        _time.Advance(TimeSpan.FromSeconds(10));
        a.Release(2, RouterFactory.Http(401));
        Assert.Equal("b", (await second).GetRoutingInfo()!.Endpoint);

        Assert.Equal(deadline, RouterDriver.Snapshot(router, "a").RecoversAt);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(HealthState.Open, RouterDriver.Snapshot(router, "a").Health);
        Assert.Equal(2, a.Calls);
    }

    [Fact]
    public async Task Breaker_RateLimitedWithRetryAfter_CoolsDownAndGoesLastInThePlanUntilThen()
    {
        var a = new LatencyChatClient("a", _time, 0) { Failure = call => call == 1 ? RateLimited(TimeSpan.FromSeconds(20)) : null };
        var b = new LatencyChatClient("b", _time, 0);
        var c = new LatencyChatClient("c", _time, 0);
        using RouterChatClient router = Create([a, b, c]);

        RoutingInfo limited = await RouterDriver.SendAsync(router);
        Assert.Equal([("a", (FailureKind?)FailureKind.RateLimited), ("b", null)], limited.Attempts.Select(x => (x.Endpoint, x.Failure)));
        Assert.Equal(TimeSpan.FromSeconds(20), limited.Attempts[0].RetryAfter);
        EndpointSnapshot cooling = RouterDriver.Snapshot(router, "a");
        Assert.Equal(HealthState.Healthy, cooling.Health); // a rate limit cools down; it does not open
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(20), cooling.RecoversAt);

        _time.Advance(TimeSpan.FromSeconds(20) - OneMs);
        RoutingInfo during = await RouterDriver.SendAsync(router);
        Assert.Equal("b", during.Endpoint);
        Assert.Equal([("a", 2), ("b", 0), ("c", 1)], during.Candidates.OrderBy(x => x.Endpoint, StringComparer.Ordinal).Select(x => (x.Endpoint, x.Rank)));
        Assert.Equal(1, a.Calls);

        // Still in the plan, last: when b and c fail, a serves.
        b.Failure = _ => RouterFactory.Http(503);
        c.Failure = _ => RouterFactory.Http(503);
        Assert.Equal(["b", "c", "a"], (await RouterDriver.SendAsync(router)).Attempts.Select(x => x.Endpoint));
        b.Failure = _ => null;
        c.Failure = _ => null;

        _time.Advance(OneMs);
        RoutingInfo after = await RouterDriver.SendAsync(router);
        Assert.Equal("a", after.Endpoint);
        Assert.Equal([("a", 0), ("b", 1), ("c", 2)], after.Candidates.OrderBy(x => x.Endpoint, StringComparer.Ordinal).Select(x => (x.Endpoint, x.Rank)));
    }

    /// <remarks>
    /// The probe's verdict is given at its first output (it closes the endpoint); a failure after that is an ordinary
    /// failure towards FailureThreshold, not a second, failed probe that would re-open it for 2 × BreakDuration.
    /// </remarks>
    [Fact]
    public async Task Breaker_ProbeStreamBreaksAfterItsFirstOutput_CountsAsOneFailureNotAFailedProbe()
    {
        var a = new ScriptedChatClient("a");
        for (int i = 0; i < 5; i++)
        {
            _ = a.Throws(RouterFactory.Http(500));
        }

        _ = a.Then(ScriptedChatClient.ScriptStep.StreamFailingAfter(1, RouterFactory.Http(503), "partial", "rest"));
        var b = new ScriptedChatClient("b").Answers("b", always: true);
        using RouterChatClient router = RouterFactory.Create(_time, Configure, null, ("a", a, null), ("b", b, null));
        _ = await RouterDriver.SendManyAsync(router, 5);
        _time.Advance(Break);

        var text = new System.Text.StringBuilder();
        _ = await Assert.ThrowsAsync<StreamInterruptedException>(async () =>
        {
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken))
            {
                _ = text.Append(update.Text);
            }
        });

        Assert.Equal("partial", text.ToString()); // the probe answered: a was closed by it
        Assert.Equal(HealthState.Healthy, RouterDriver.Snapshot(router, "a").Health);
    }

    private RouterChatClient Create(LatencyChatClient a, LatencyChatClient b, Action<LlmRouterOptions>? configure = null) =>
        RouterFactory.Create(_time, o => { Configure(o); configure?.Invoke(o); }, null, ("a", a, null), ("b", b, null));

    private RouterChatClient Create(LatencyChatClient[] clients) =>
        RouterFactory.Create(_time, Configure, null, [.. clients.Select(c => (c.Name, (IChatClient)c, (Action<EndpointOptions>?)null))]);

    private void Configure(LlmRouterOptions options)
    {
        _options = options;
        options.Strategy = RoutingStrategy.Ordered;
        options.Randomizer = SeededRandom.Create(11);
        options.Retry.MaxRetriesPerEndpoint = 0;
        options.Health.BreakJitter = 0;
        options.Health.BreakDuration = Break;
    }

    private static async Task<double> FirstChoiceShareOfAAsync(RouterChatClient router, int requests) =>
        RouterDriver.FirstChoices(await RouterDriver.SendManyAsync(router, requests), "a") / (double)requests;

    private static ClientResultException RateLimited(TimeSpan retryAfter) =>
        new(new FakePipelineResponse(429, "{}", ("retry-after-ms", retryAfter.TotalMilliseconds.ToString(CultureInfo.InvariantCulture))));
}
