using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.Failover;

/// <summary>The router-wide retry budget: the sliding window itself, and what it does to a request storm.</summary>
public sealed class RetryBudgetTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    // A start on a whole second: the budget's ten buckets (of a tenth of the window each) begin on it.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // The window itself.

    [Fact]
    public void MinimumOnly_AllowsMinPerSecondTimesWindowSeconds_ThenRefuses()
    {
        RetryBudget budget = Budget(new RetryOptions { BudgetRatio = 0, BudgetMinPerSecond = 1, BudgetWindow = TimeSpan.FromSeconds(10) });

        Assert.Equal(10, Drain(budget));
        Assert.False(budget.TryWithdraw());
    }

    [Fact]
    public void RatioOnly_AllowsTheShareOfRequests()
    {
        RetryBudget budget = Budget(new RetryOptions { BudgetRatio = 0.1, BudgetMinPerSecond = 0 });
        Assert.False(budget.TryWithdraw()); // no request, no minimum: nothing

        for (int i = 0; i < 100; i++)
        {
            budget.OnRequest();
        }

        Assert.Equal(10, Drain(budget));
        budget.OnRequest(); // 101 requests: 10.1 allowed, still 10
        Assert.False(budget.TryWithdraw());
        for (int i = 0; i < 9; i++)
        {
            budget.OnRequest();
        }

        Assert.True(budget.TryWithdraw()); // 110 requests: 11
        Assert.False(budget.TryWithdraw());
    }

    [Fact]
    public void RatioAndMinimum_Add_AndAFractionalAllowanceRoundsDown()
    {
        RetryBudget budget = Budget(new RetryOptions { BudgetRatio = 0.5, BudgetMinPerSecond = 0.05, BudgetWindow = TimeSpan.FromSeconds(10) });
        for (int i = 0; i < 4; i++)
        {
            budget.OnRequest();
        }

        Assert.Equal(2, Drain(budget)); // 0.5 × 4 + 0.05 × 10 = 2.5
    }

    [Fact]
    public void Extras_AgeOutAfterTheWindow()
    {
        RetryBudget budget = Budget(new RetryOptions { BudgetRatio = 0, BudgetMinPerSecond = 1, BudgetWindow = TimeSpan.FromSeconds(10) });
        Assert.Equal(10, Drain(budget));

        _time.Advance(TimeSpan.FromMilliseconds(9999));
        Assert.False(budget.TryWithdraw()); // still in the window
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(10, Drain(budget)); // the whole window has passed
    }

    [Fact]
    public void Extras_AgeOutBucketByBucket()
    {
        RetryBudget budget = Budget(new RetryOptions { BudgetRatio = 0, BudgetMinPerSecond = 1, BudgetWindow = TimeSpan.FromSeconds(10) });
        Assert.Equal(4, Take(budget, 4)); // at 0 s
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(6, Drain(budget)); // at 5 s: 10 in the window
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(4, Drain(budget)); // at 10 s: the 4 of 0 s aged out, the 6 of 5 s remain
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(6, Drain(budget)); // at 15 s: only the 4 of 10 s remain
    }

    [Fact]
    public void Requests_AgeOutAfterTheWindow()
    {
        RetryBudget budget = Budget(new RetryOptions { BudgetRatio = 1, BudgetMinPerSecond = 0, BudgetWindow = TimeSpan.FromSeconds(10) });
        for (int i = 0; i < 10; i++)
        {
            budget.OnRequest();
        }

        Assert.Equal(5, Take(budget, 5));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(budget.TryWithdraw()); // the requests aged out with the extras
        budget.OnRequest();
        Assert.Equal(1, Drain(budget));
    }

    [Fact]
    public void OptionsChanges_ApplyAtTheNextWithdrawal()
    {
        var options = new RetryOptions { BudgetRatio = 0.1, BudgetMinPerSecond = 0, BudgetWindow = TimeSpan.FromSeconds(10) };
        var budget = new RetryBudget(_time, () => options);
        for (int i = 0; i < 20; i++)
        {
            budget.OnRequest();
        }

        Assert.Equal(2, Drain(budget));
        options = new RetryOptions { BudgetRatio = 0.5, BudgetMinPerSecond = 0, BudgetWindow = TimeSpan.FromSeconds(10) };
        Assert.Equal(8, Drain(budget)); // 0.5 × 20 = 10, 2 spent
        options = new RetryOptions { BudgetRatio = 0.5, BudgetMinPerSecond = 1, BudgetWindow = TimeSpan.FromSeconds(10) };
        Assert.Equal(10, Drain(budget)); // + 1 × 10
        options = new RetryOptions { BudgetRatio = 0, BudgetMinPerSecond = 0, BudgetWindow = TimeSpan.FromSeconds(10) };
        Assert.False(budget.TryWithdraw());
    }

    [Fact]
    public void OptionsChange_ShorterWindow_TheBudgetRefillsWithinTheNewWindow()
    {
        var options = new RetryOptions { BudgetRatio = 0, BudgetMinPerSecond = 1, BudgetWindow = TimeSpan.FromSeconds(60) };
        var budget = new RetryBudget(_time, () => options);
        Assert.Equal(60, Drain(budget));

        options = new RetryOptions { BudgetRatio = 0, BudgetMinPerSecond = 1, BudgetWindow = TimeSpan.FromSeconds(10) };
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(10, Drain(budget));
    }

    [Fact]
    public void OptionsChange_LongerWindow_OldExtrasStillAgeOut()
    {
        // 10 s window, 1 extra/s: all 10 spent at 0 s. The options are reloaded with a 20 s window and 0.5 extra/s
        // (the same 10 extras per window). An hour later, every one of those extras is long out of any window.
        var options = new RetryOptions { BudgetRatio = 0, BudgetMinPerSecond = 1, BudgetWindow = TimeSpan.FromSeconds(10) };
        var budget = new RetryBudget(_time, () => options);
        Assert.Equal(10, Drain(budget));
        options = new RetryOptions { BudgetRatio = 0, BudgetMinPerSecond = 0.5, BudgetWindow = TimeSpan.FromSeconds(20) };

        // Pick an hour later whose 2 s slice does not land on the bucket the old extras sit in (slice 0 s mod 10).
        _time.Advance(TimeSpan.FromHours(1));
        long oldBucket = (_time.GetTimestamp() - (long)(3600 * _time.TimestampFrequency)) / _time.TimestampFrequency % 10;
        while (_time.GetTimestamp() / (2 * _time.TimestampFrequency) % 10 == oldBucket)
        {
            _time.Advance(TimeSpan.FromSeconds(2));
        }

        Assert.Equal(10, Drain(budget));
    }

    // The router under a storm.

    [Fact]
    public async Task Storm_AllEndpointsFailingForAMinute_ExtraAttemptsStayWithinTheBudgetPlusOneFreeFailoverPerRequest()
    {
        const double ratio = 0.1;
        const double minPerSecond = 1;
        TimeSpan window = TimeSpan.FromSeconds(10);
        var time = new SteppingFakeTimeProvider();
        ScriptedChatClient[] clients = [.. new[] { "a", "b", "c" }.Select(n => new ScriptedChatClient(n).Throws(RouterFactory.Http(500), always: true))];
        using RouterChatClient router = RouterFactory.Create(
            time,
            o =>
            {
                o.Strategy = RoutingStrategy.Ordered;
                o.Health.FailureThreshold = 1000; // keep the breakers closed: the budget alone must hold the storm back
                o.Retry.MaxRetriesPerEndpoint = 1;
                o.Retry.MaxAttempts = 5;
                o.Retry.BudgetRatio = ratio;
                o.Retry.BudgetMinPerSecond = minPerSecond;
                o.Retry.BudgetWindow = window;
            },
            clients);

        DateTimeOffset begin = time.GetUtcNow();
        var starts = new List<DateTimeOffset>();
        var failures = new List<AllEndpointsFailedException>();
        for (int i = 0; time.GetUtcNow() - begin < TimeSpan.FromMinutes(1); i++)
        {
            // 10 requests per virtual second, one after another (a request that takes longer delays the next).
            TimeSpan due = begin + TimeSpan.FromMilliseconds(100 * i) - time.GetUtcNow();
            if (due > TimeSpan.Zero)
            {
                time.Advance(due);
            }

            starts.Add(time.GetUtcNow());
            Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
            await time.AdvanceUntilAsync(call);
            failures.Add(await Assert.ThrowsAsync<AllEndpointsFailedException>(() => call.WaitAsync(Guard, Ct)));
        }

        int requests = failures.Count;
        int attempts = clients.Sum(c => c.Calls);
        int extra = attempts - requests;
        int exhausted = failures.Count(f => f.RetryBudgetExhausted);
        Assert.Equal(attempts, failures.Sum(f => f.Attempts.Count));

        // Withdrawals: at any withdrawal, the extras of the last 10 buckets (< 10 s) ≤ ratio × their requests + the
        // minimum. The run's windows, laid end to end, each hold at most that; a request whose budget ran out made at
        // most one free failover on top (FailoverSession.NextAsync).
        int maxRequestsPerWindow = starts.Max(s => starts.Count(t => t >= s && t - s < window));
        double windows = Math.Ceiling((time.GetUtcNow() - begin) / window) + 1;
        double withdrawals = Math.Floor((ratio * maxRequestsPerWindow) + (minPerSecond * window.TotalSeconds)) * windows;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"storm: {requests} requests, {attempts} attempts, {extra} extra, {exhausted} exhausted, bound {withdrawals} + {exhausted}");
        Assert.True(extra <= withdrawals + exhausted, $"{extra} extra attempts > {withdrawals} withdrawals + {exhausted} free failovers");
        Assert.True(attempts < 2.5 * requests, $"{attempts} attempts for {requests} requests: a storm"); // 6 per request without a budget

        // Early requests had the budget: every attempt MaxAttempts allows (a, a, b, b, c).
        Assert.Equal(["a", "a", "b", "b", "c"], failures[0].Attempts.Select(x => x.Endpoint));
        Assert.False(failures[0].RetryBudgetExhausted);

        // Once spent: the failover a spent budget still allows goes only to an endpoint that is succeeding, and in a
        // storm none is, so the request ends after its first attempt (give or take a last withdrawal); it says so.
        Assert.True(exhausted > requests / 2);
        AllEndpointsFailedException late = failures.Last(f => f.RetryBudgetExhausted);
        Assert.InRange(late.Attempts.Count, 1, 2);
        Assert.Contains("retry budget was spent", late.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("retry budget", failures[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BudgetSpent_OneFreeFailoverServesTheRequest_AndItsRoutingInfoSaysSo()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(500), always: true);
        var b = new ScriptedChatClient("b").Answers("from b", always: true);
        using RouterChatClient router = RouterFactory.Create(_time, NoBudget, a, b);

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);

        Assert.Equal("from b", response.Text);
        Assert.Equal(1, a.Calls); // no retry of a, though MaxRetriesPerEndpoint allows one
        RoutingInfo info = response.GetRoutingInfo()!;
        Assert.True(info.RetryBudgetExhausted);
        Assert.True(info.FailedOver);
        Assert.Equal(["a", "b"], info.Attempts.Select(x => x.Endpoint));
    }

    [Fact]
    public async Task BudgetSpent_SecondFailureEndsTheRequest_NoThirdEndpoint()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(500), always: true);
        var b = new ScriptedChatClient("b").Throws(RouterFactory.Http(503), always: true);
        var c = new ScriptedChatClient("c").Answers("from c", always: true);
        using RouterChatClient router = RouterFactory.Create(_time, NoBudget, a, b, c);

        AllEndpointsFailedException failure = await Assert.ThrowsAsync<AllEndpointsFailedException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct));

        Assert.Equal((1, 1, 0), (a.Calls, b.Calls, c.Calls));
        Assert.True(failure.RetryBudgetExhausted);
        Assert.Contains("retry budget was spent", failure.Message, StringComparison.Ordinal);
        Assert.Equal(["a", "b"], failure.Attempts.Select(x => x.Endpoint));
    }

    [Fact]
    public async Task BudgetAvailable_RoutingInfoDoesNotClaimItWasSpent()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(401));
        var b = new ScriptedChatClient("b").Answers("from b");
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Strategy = RoutingStrategy.Ordered, a, b);

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);

        Assert.False(response.GetRoutingInfo()!.RetryBudgetExhausted);
        Assert.True(response.GetRoutingInfo()!.FailedOver);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(422)]
    public async Task BadRequest_NoRetryAndNoFailover(int status)
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(status), always: true);
        var b = new ScriptedChatClient("b").Answers("from b", always: true);
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o =>
            {
                o.Strategy = RoutingStrategy.Ordered;
                o.Retry.MaxRetriesPerEndpoint = 10;
            },
            a,
            b);

        HttpRequestException exception = await Assert.ThrowsAsync<HttpRequestException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct));

        Assert.Equal(status, (int)exception.StatusCode!);
        Assert.Equal((1, 0), (a.Calls, b.Calls));
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    public async Task Auth_NoRetryOnTheSameEndpoint_FailsOver(int status)
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(status), always: true);
        var b = new ScriptedChatClient("b").Answers("from b", always: true);
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o =>
            {
                o.Strategy = RoutingStrategy.Ordered;
                o.Retry.MaxRetriesPerEndpoint = 10;
            },
            a,
            b);

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);

        Assert.Equal("from b", response.Text);
        Assert.Equal((1, 1), (a.Calls, b.Calls));
        Assert.Equal([("a", (FailureKind?)FailureKind.Auth), ("b", null)], response.GetRoutingInfo()!.Attempts.Select(x => (x.Endpoint, x.Failure)));
    }

    private static void NoBudget(LlmRouterOptions options)
    {
        options.Strategy = RoutingStrategy.Ordered;
        options.Retry.BudgetRatio = 0;
        options.Retry.BudgetMinPerSecond = 0;
    }

    private static int Drain(RetryBudget budget) => Take(budget, int.MaxValue);

    private static int Take(RetryBudget budget, int most)
    {
        int taken = 0;
        while (taken < most && budget.TryWithdraw())
        {
            taken++;
            Assert.True(taken < 100_000, "the budget never ran out");
        }

        return taken;
    }

    private RetryBudget Budget(RetryOptions options) => new(_time, () => options);
}
