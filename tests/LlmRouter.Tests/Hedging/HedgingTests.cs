using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Hedging;

/// <summary>Hedged non-streaming requests, in virtual time: when a hedge starts, who wins, and what the loser costs.</summary>
public sealed class HedgingTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10); // a hang guard in real time, never a wait
    private readonly SteppingFakeTimeProvider _time = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PrimarySlowerThanHedgeDelay_HedgeAnswersFirst_WinsAndThePrimaryIsCancelledWithoutHealthEffect()
    {
        var a = new DelayedChatClient("a", _time, 1000);
        var b = new DelayedChatClient("b", _time, 100);
        using RouterChatClient router = Create(o => o.Hedging.Delay = TimeSpan.FromMilliseconds(200), a, b);
        DateTimeOffset t0 = _time.GetUtcNow();

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        Assert.Equal(1, a.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.Equal(0, b.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        DelayedChatClient.CallRecord hedge = await b.WhenCalled(1).WaitAsync(Guard, Ct);
        Assert.Equal(t0 + TimeSpan.FromMilliseconds(200), hedge.StartedAt);
        Assert.False(call.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        ChatResponse response = await call.WaitAsync(Guard, Ct);

        Assert.Equal("b", response.Text);
        DelayedChatClient.CallRecord primary = a.Call(1);
        Assert.True(primary.Token.IsCancellationRequested);
        Assert.Equal(DelayedChatClient.CallOutcome.Canceled, await primary.Ended.Task.WaitAsync(Guard, Ct));
        Assert.Equal(t0 + TimeSpan.FromMilliseconds(300), primary.EndedAt);
        Assert.False(hedge.Token.IsCancellationRequested);

        RoutingInfo info = Assert.IsType<RoutingInfo>(response.GetRoutingInfo());
        Assert.Equal("b", info.Endpoint);
        Assert.True(info.Hedged);
        Assert.False(info.FailedOver);
        Assert.False(info.RetryBudgetExhausted);
        Assert.Collection(
            info.Attempts,
            loser =>
            {
                Assert.Equal("a", loser.Endpoint);
                Assert.Equal(FailureKind.Canceled, loser.Failure);
                Assert.True(loser.CanceledByHedge);
                Assert.False(loser.IsHedge);
                Assert.Null(loser.Exception);
                Assert.Equal(TimeSpan.FromMilliseconds(300), loser.Duration);
            },
            winner =>
            {
                Assert.Equal("b", winner.Endpoint);
                Assert.Null(winner.Failure);
                Assert.True(winner.IsHedge);
                Assert.False(winner.CanceledByHedge);
                Assert.Equal(TimeSpan.FromMilliseconds(100), winner.Duration);
            });

        router.RefreshSnapshots();
        EndpointSnapshot snapshot = RouterDriver.Snapshot(router, "a");
        Assert.Equal(HealthState.Healthy, snapshot.Health);
        Assert.Equal(0, snapshot.FailureCount(FailureKind.Transient));
        Assert.Equal(0, snapshot.FailureCount(FailureKind.Timeout));
        Assert.Equal(0, snapshot.FailureCount(FailureKind.Auth));
        Assert.Null(snapshot.SuccessRate); // a lost race says nothing about the endpoint's success
        Assert.Equal(0, snapshot.InFlight);
        Assert.Equal(1.0, RouterDriver.Snapshot(router, "b").SuccessRate);
    }

    [Fact]
    public async Task PrimaryAnswersBeforeTheHedgeDelay_NoHedgeStarts()
    {
        var a = new DelayedChatClient("a", _time, 150);
        var b = new DelayedChatClient("b", _time, 10);
        using RouterChatClient router = Create(o => o.Hedging.Delay = TimeSpan.FromMilliseconds(200), a, b);

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        Assert.Contains(_time.TimersCreated, t => t.DueTime == TimeSpan.FromMilliseconds(200)); // the hedge was armed
        _time.Advance(TimeSpan.FromMilliseconds(150));
        ChatResponse response = await call.WaitAsync(Guard, Ct);
        _time.Advance(TimeSpan.FromSeconds(5)); // the hedge timer was stopped: nothing fires later

        Assert.Equal("a", response.Text);
        Assert.Equal(0, b.Calls);
        RoutingInfo info = response.GetRoutingInfo()!;
        Assert.False(info.Hedged);
        Assert.Equal("a", Assert.Single(info.Attempts).Endpoint);
    }

    [Fact]
    public async Task PrimaryAnswersFirstAfterTheHedgeStarted_TheHedgeIsCancelled()
    {
        var a = new DelayedChatClient("a", _time, 300);
        var b = new DelayedChatClient("b", _time, 500);
        using RouterChatClient router = Create(o => o.Hedging.Delay = TimeSpan.FromMilliseconds(200), a, b);

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        DelayedChatClient.CallRecord hedge = await b.WhenCalled(1).WaitAsync(Guard, Ct);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        ChatResponse response = await call.WaitAsync(Guard, Ct);

        Assert.Equal("a", response.Text);
        Assert.True(hedge.Token.IsCancellationRequested);
        Assert.Equal(DelayedChatClient.CallOutcome.Canceled, await hedge.Ended.Task.WaitAsync(Guard, Ct));
        RoutingInfo info = response.GetRoutingInfo()!;
        Assert.Equal("a", info.Endpoint);
        Assert.True(info.Hedged);
        Assert.False(info.FailedOver);
        RoutingAttempt lost = Assert.Single(info.Attempts, x => x.Endpoint == "b");
        Assert.True(lost.IsHedge);
        Assert.True(lost.CanceledByHedge);
        Assert.Equal(FailureKind.Canceled, lost.Failure);
        Assert.Equal(TimeSpan.FromMilliseconds(100), lost.Duration);
        RoutingAttempt won = info.Attempts[^1];
        Assert.Equal(("a", (FailureKind?)null, false), (won.Endpoint, won.Failure, won.IsHedge));

        router.RefreshSnapshots();
        Assert.Equal(HealthState.Healthy, RouterDriver.Snapshot(router, "b").Health);
        Assert.Null(RouterDriver.Snapshot(router, "b").SuccessRate);
    }

    [Fact]
    public async Task MaxHedgesTwo_StartsTwoHedgesOneDelayApart_NeverAThird()
    {
        var a = new DelayedChatClient("a", _time, 1000);
        var b = new DelayedChatClient("b", _time, 1000);
        var c = new DelayedChatClient("c", _time, 1000);
        var d = new DelayedChatClient("d", _time, 1);
        using RouterChatClient router = Create(
            o =>
            {
                o.Hedging.MaxHedges = 2;
                o.Hedging.Delay = TimeSpan.FromMilliseconds(200);
            },
            a,
            b,
            c,
            d);
        DateTimeOffset t0 = _time.GetUtcNow();

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        DelayedChatClient.CallRecord first = await b.WhenCalled(1).WaitAsync(Guard, Ct);
        _time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.Equal(0, c.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        DelayedChatClient.CallRecord second = await c.WhenCalled(1).WaitAsync(Guard, Ct);
        _time.Advance(TimeSpan.FromMilliseconds(599)); // up to 999 ms: three attempts run, no fourth
        Assert.Equal(0, d.Calls);
        Assert.False(call.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        ChatResponse response = await call.WaitAsync(Guard, Ct);

        Assert.Equal("a", response.Text);
        Assert.Equal(t0 + TimeSpan.FromMilliseconds(200), first.StartedAt);
        Assert.Equal(t0 + TimeSpan.FromMilliseconds(400), second.StartedAt);
        Assert.Equal(0, d.Calls);
        Assert.Equal((1, 1, 1), (a.Calls, b.Calls, c.Calls));
        Assert.True(first.Token.IsCancellationRequested);
        Assert.True(second.Token.IsCancellationRequested);
        RoutingInfo info = response.GetRoutingInfo()!;
        Assert.Equal(2, info.Attempts.Count(x => x.IsHedge));
        Assert.Equal(2, info.Attempts.Count(x => x.CanceledByHedge));
        Assert.Equal(["b", "c"], info.Attempts.Where(x => x.CanceledByHedge).Select(x => x.Endpoint).Order());
        Assert.False(info.FailedOver);
    }

    [Fact]
    public async Task PrimaryFailsWhileTheHedgeRuns_TheHedgeAnswersAndThePrimaryFailureIsRecorded()
    {
        var a = new DelayedChatClient("a", _time, 300) { Failure = _ => RouterFactory.Http(500) };
        var b = new DelayedChatClient("b", _time, 500);
        using RouterChatClient router = Create(o => o.Hedging.Delay = TimeSpan.FromMilliseconds(200), a, b);
        DateTimeOffset t0 = _time.GetUtcNow();

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        DelayedChatClient.CallRecord hedge = await b.WhenCalled(1).WaitAsync(Guard, Ct);
        _time.Advance(TimeSpan.FromMilliseconds(100)); // a fails at 300 ms
        Assert.Equal(DelayedChatClient.CallOutcome.Failed, await a.Call(1).Ended.Task.WaitAsync(Guard, Ct));
        Assert.False(call.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(400)); // b answers at 700 ms
        ChatResponse response = await call.WaitAsync(Guard, Ct);

        Assert.Equal("b", response.Text);
        Assert.Equal(t0 + TimeSpan.FromMilliseconds(700), hedge.EndedAt);
        Assert.False(hedge.Token.IsCancellationRequested);
        Assert.Equal(1, a.Calls); // its retry was still waiting in the plan when the hedge answered
        RoutingInfo info = response.GetRoutingInfo()!;
        Assert.True(info.Hedged);
        Assert.True(info.FailedOver); // a real failure, not a lost race
        Assert.Collection(
            info.Attempts,
            x => Assert.Equal(("a", (FailureKind?)FailureKind.Transient, false, false), (x.Endpoint, x.Failure, x.IsHedge, x.CanceledByHedge)),
            x => Assert.Equal(("b", (FailureKind?)null, true, false), (x.Endpoint, x.Failure, x.IsHedge, x.CanceledByHedge)));
        Assert.IsType<HttpRequestException>(info.Attempts[0].Exception);

        router.RefreshSnapshots();
        Assert.Equal(1, RouterDriver.Snapshot(router, "a").FailureCount(FailureKind.Transient));
    }

    [Fact]
    public async Task BothFail_AllEndpointsFailedListsThePrimaryAndTheHedge()
    {
        var a = new DelayedChatClient("a", _time, 300) { Failure = _ => RouterFactory.Http(401) };
        var b = new DelayedChatClient("b", _time, 200) { Failure = _ => RouterFactory.Http(403) };
        using RouterChatClient router = Create(o => o.Hedging.Delay = TimeSpan.FromMilliseconds(200), a, b);

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        _ = await b.WhenCalled(1).WaitAsync(Guard, Ct);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        _ = await a.Call(1).Ended.Task.WaitAsync(Guard, Ct);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        AllEndpointsFailedException failure = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => call.WaitAsync(Guard, Ct));

        Assert.Equal(
            [("a", FailureKind.Auth, false), ("b", FailureKind.Auth, true)],
            failure.Attempts.Select(x => (x.Endpoint, x.Failure!.Value, x.IsHedge)));
        Assert.DoesNotContain(failure.Attempts, x => x.CanceledByHedge);
        Assert.False(failure.RetryBudgetExhausted);
    }

    [Fact]
    public async Task HedgingDisabledByDefault_NeverRunsTwoAttemptsAtOnce()
    {
        Assert.False(new LlmRouterOptions().Hedging.Enabled);
        var a = new DelayedChatClient("a", _time, 5000);
        var b = new DelayedChatClient("b", _time, 1);
        using RouterChatClient router = RouterFactory.Create(
            _time, o => o.Strategy = RoutingStrategy.Ordered, null, ("a", a, null), ("b", b, null));

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        Assert.DoesNotContain(_time.TimersCreated, t => t.DueTime < TimeSpan.FromSeconds(5)); // no hedge timer
        for (int i = 0; i < 49; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            Assert.Equal(0, b.Calls);
        }

        _time.Advance(TimeSpan.FromMilliseconds(100));
        ChatResponse response = await call.WaitAsync(Guard, Ct);

        Assert.Equal("a", response.Text);
        Assert.Equal(0, b.Calls);
        Assert.False(response.GetRoutingInfo()!.Hedged);
    }

    [Fact]
    public async Task AdaptiveDelay_Unmeasured_WaitsMaxDelay()
    {
        var a = new DelayedChatClient("a", _time, 5000);
        var b = new DelayedChatClient("b", _time, 100);
        using RouterChatClient router = Create(
            o =>
            {
                o.Hedging.MinDelay = TimeSpan.FromMilliseconds(50);
                o.Hedging.MaxDelay = TimeSpan.FromSeconds(2);
            },
            a,
            b);
        DateTimeOffset t0 = _time.GetUtcNow();

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        _time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.Equal(0, b.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        DelayedChatClient.CallRecord hedge = await b.WhenCalled(1).WaitAsync(Guard, Ct);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        ChatResponse response = await call.WaitAsync(Guard, Ct);

        Assert.Equal(t0 + TimeSpan.FromSeconds(2), hedge.StartedAt);
        Assert.Equal("b", response.Text);
    }

    [Theory]
    [InlineData(50, 2000, 300)] // the measured p95
    [InlineData(50, 250, 250)] // kept at MaxDelay
    [InlineData(400, 2000, 400)] // kept at MinDelay
    public async Task AdaptiveDelay_AfterWarmUp_HedgesAtTheMeasuredP95KeptWithinMinAndMax(int minMs, int maxMs, int expectedMs)
    {
        // Warm-up: 20 answers; 19 of 20 (95%) take at most 300 ms, so the nearest-rank p95 is 300 ms.
        var a = new DelayedChatClient("a", _time, n => TimeSpan.FromMilliseconds(n switch
        {
            <= 18 => 100 + (n * 10), // 110 … 280 ms
            19 => 300,
            20 => 320,
            _ => 5000,
        }));
        var b = new DelayedChatClient("b", _time, 100);
        using RouterChatClient router = Create(
            o =>
            {
                o.Hedging.MinDelay = TimeSpan.FromMilliseconds(minMs);
                o.Hedging.MaxDelay = TimeSpan.FromMilliseconds(maxMs);
                o.Health.DegradedAfterSlowRequests = 1000; // the rising warm-up latencies must not demote a
                o.Retry.BudgetMinPerSecond = 100; // the warm-up's lost hedges must not spend the budget
            },
            a,
            b);
        for (int i = 0; i < 20; i++)
        {
            Task<ChatResponse> warmUp = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
            int served = i + 1;
            await _time.AdvanceUntilAsync(warmUp, () => a.Successes + b.Successes >= served);

            Assert.Equal("a", (await warmUp.WaitAsync(Guard, Ct)).Text);
        }

        Assert.Equal(0, b.Successes); // hedges started during the warm-up (as the p95 grew) all lost to a
        int hedgesBefore = b.Calls;
        router.RefreshSnapshots();
        Assert.Equal(TimeSpan.FromMilliseconds(300), RouterDriver.Snapshot(router, "a").LatencyP95);
        DateTimeOffset t0 = _time.GetUtcNow();

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        _time.Advance(TimeSpan.FromMilliseconds(expectedMs - 1));
        Assert.Equal(hedgesBefore, b.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        DelayedChatClient.CallRecord hedge = await b.WhenCalled(hedgesBefore + 1).WaitAsync(Guard, Ct);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        ChatResponse response = await call.WaitAsync(Guard, Ct);

        Assert.Equal(t0 + TimeSpan.FromMilliseconds(expectedMs), hedge.StartedAt);
        Assert.Equal("b", response.Text);
    }

    [Fact]
    public async Task RetryBudgetSpent_NoHedgeStarts_AndTheRequestSaysSo()
    {
        var a = new DelayedChatClient("a", _time, 1000);
        var b = new DelayedChatClient("b", _time, 100);
        using RouterChatClient router = Create(
            o =>
            {
                o.Hedging.Delay = TimeSpan.FromMilliseconds(200);
                o.Retry.BudgetRatio = 0;
                o.Retry.BudgetMinPerSecond = 0;
            },
            a,
            b);

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        _time.Advance(TimeSpan.FromMilliseconds(799));
        Assert.Equal(0, b.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        ChatResponse response = await call.WaitAsync(Guard, Ct);

        Assert.Equal("a", response.Text);
        Assert.Equal(0, b.Calls);
        RoutingInfo info = response.GetRoutingInfo()!;
        Assert.False(info.Hedged);
        Assert.True(info.RetryBudgetExhausted);
    }

    private RouterChatClient Create(Action<LlmRouterOptions> configure, params DelayedChatClient[] clients) =>
        RouterFactory.Create(
            _time,
            o =>
            {
                o.Strategy = RoutingStrategy.Ordered;
                o.Hedging.Enabled = true;
                configure(o);
            },
            null,
            [.. clients.Select(c => (c.Name, (IChatClient)c, (Action<EndpointOptions>?)null))]);
}
