using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Hedging;

/// <summary>
/// The tail-latency simulation: a primary that answers in 100 ms 95% of the time and in 5 s otherwise, a healthy
/// secondary (100–150 ms), 2,000 sequential requests in virtual time, without and with hedging.
/// </summary>
[Collection(LlmRouter.Tests.Reliability.IsolatedReliabilityDefinition.Name)]
public sealed class HedgingSimulationTests
{
    private const int Requests = 2000;
    private const double Ratio = 0.1;
    private const double MinPerSecond = 1;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("fixed")]
    [InlineData("adaptive")]
    public async Task Hedging_CutsP99ByAtLeast70Percent_WithinTheRetryBudget(string delay)
    {
        (int[] primary, int[] secondary) = Latencies(seed: 20260101);
        Run baseline = await SimulateAsync(primary, secondary, hedging: null);
        Run hedged = await SimulateAsync(primary, secondary, hedging: o =>
        {
            o.Enabled = true;
            if (delay == "fixed")
            {
                o.Delay = TimeSpan.FromMilliseconds(200);
            }
            else
            {
                o.Delay = null; // the primary's p95 (100 ms: its slow answers are cancelled, never measured), kept ≥ 150 ms
                o.MinDelay = TimeSpan.FromMilliseconds(150);
                o.MaxDelay = TimeSpan.FromSeconds(1);
            }
        });

        int slow = primary.Count(ms => ms > 1000);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"[{delay}] slow primaries: {slow}/{Requests}\n" +
            $"without hedging: P50 {baseline.P(0.50)} ms, P95 {baseline.P(0.95)} ms, P99 {baseline.P(0.99)} ms, upstream calls {baseline.Calls}, extra {baseline.Calls - Requests}, virtual {baseline.Elapsed.TotalSeconds:0.0} s\n" +
            $"with hedging:    P50 {hedged.P(0.50)} ms, P95 {hedged.P(0.95)} ms, P99 {hedged.P(0.99)} ms, upstream calls {hedged.Calls}, extra {hedged.Calls - Requests} (hedges {hedged.Hedges}), virtual {hedged.Elapsed.TotalSeconds:0.0} s, " +
            $"budget exhausted in {hedged.BudgetExhausted} request(s)");

        // Without hedging: one call per request, and the slow 5% sets the tail.
        Assert.Equal(Requests, baseline.Calls);
        Assert.Equal(0, baseline.Hedges);
        Assert.Equal(5000, baseline.P(0.99));

        // With hedging: the tail drops by at least 70%.
        Assert.True(hedged.P(0.99) <= 0.3 * baseline.P(0.99), $"P99 {hedged.P(0.99)} ms with hedging vs {baseline.P(0.99)} ms without");
        Assert.True(hedged.P(0.50) <= baseline.P(0.50));

        // Every extra upstream call is a hedge, paid from the budget, and the budget allows them all.
        int extra = hedged.Calls - Requests;
        Assert.Equal(hedged.Hedges, extra);
        double allowed = (Ratio * Requests) + (MinPerSecond * (hedged.Elapsed + Window).TotalSeconds);
        Assert.True(extra <= allowed, $"{extra} extra attempts, budget allows {allowed:0.#}");
        Assert.Equal(0, hedged.BudgetExhausted);

        // Only slow primaries were hedged (a fast one answers before the delay), and each at most once.
        Assert.InRange(hedged.Hedges, slow, slow + 5); // + the few unmeasured requests hedged at MaxDelay (adaptive)
        Assert.Equal(0, hedged.FailedOver);
    }

    [Fact]
    public async Task Hedging_TightRetryBudget_CapsTheHedges()
    {
        (int[] primary, int[] secondary) = Latencies(seed: 7);
        const double ratio = 0.01;
        const double minPerSecond = 0.05;
        Run hedged = await SimulateAsync(
            primary,
            secondary,
            hedging: o =>
            {
                o.Enabled = true;
                o.Delay = TimeSpan.FromMilliseconds(200);
            },
            ratio,
            minPerSecond);

        int slow = primary.Count(ms => ms > 1000);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"tight budget: slow primaries {slow}, hedges {hedged.Hedges}, budget exhausted in {hedged.BudgetExhausted}, P99 {hedged.P(0.99)} ms, virtual {hedged.Elapsed.TotalSeconds:0.0} s");

        // Over each budget window, hedges ≤ ratio × requests of the (sliding) window + minimum; summed over the run's
        // windows, a sliding window's requests are counted at most twice.
        double windows = Math.Ceiling(hedged.Elapsed / Window) + 1;
        double bound = (2 * ratio * Requests) + (minPerSecond * Window.TotalSeconds * windows);
        Assert.True(hedged.Hedges <= bound, $"{hedged.Hedges} hedges, bound {bound:0.#}");
        Assert.True(hedged.Hedges < slow, "the budget held some hedges back");
        Assert.True(hedged.BudgetExhausted > 0);
        Assert.Equal(hedged.Calls - Requests, hedged.Hedges);
    }

    private static (int[] Primary, int[] Secondary) Latencies(int seed)
    {
        var random = new Random(seed);
        int[] primary = new int[Requests + 1];
        int[] secondary = new int[Requests + 1];
        for (int i = 1; i <= Requests; i++)
        {
            primary[i] = random.NextDouble() < 0.95 ? 100 : 5000;
            secondary[i] = 100 + random.Next(0, 51);
        }

        return (primary, secondary);
    }

    private static async Task<Run> SimulateAsync(int[] primaryMs, int[] secondaryMs, Action<HedgingOptions>? hedging, double ratio = Ratio, double minPerSecond = MinPerSecond)
    {
        var time = new SteppingFakeTimeProvider();
        var a = new DelayedChatClient("primary", time, n => TimeSpan.FromMilliseconds(primaryMs[n]));
        var b = new DelayedChatClient("secondary", time, n => TimeSpan.FromMilliseconds(secondaryMs[n]));
        using RouterChatClient router = RouterFactory.Create(
            time,
            o =>
            {
                o.Strategy = RoutingStrategy.Ordered; // the primary is always tried first
                o.AttemptTimeout = TimeSpan.FromSeconds(30);
                o.Health.DegradedAfterSlowRequests = 1000; // the slow 5% must not demote the primary
                o.Retry.BudgetRatio = ratio;
                o.Retry.BudgetMinPerSecond = minPerSecond;
                o.Retry.BudgetWindow = Window;
                o.Randomizer = SeededRandom.Create(1);
                hedging?.Invoke(o.Hedging);
            },
            null,
            ("primary", a, null),
            ("secondary", b, null));

        var latencies = new List<double>(Requests);
        int hedges = 0;
        int exhausted = 0;
        int failedOver = 0;
        DateTimeOffset begin = time.GetUtcNow();
        for (int i = 1; i <= Requests; i++)
        {
            DateTimeOffset t0 = time.GetUtcNow();
            int servedBefore = a.Successes + b.Successes;
            int hedgesBefore = b.Calls;
            Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);

            // Jump from timer to timer until an endpoint answered; then no more virtual time passes for this request.
            await time.AdvanceUntilAsync(call, () => a.Successes + b.Successes > servedBefore);
            ChatResponse response = await call.WaitAsync(Guard, Ct);
            double latency = (time.GetUtcNow() - t0).TotalMilliseconds;
            latencies.Add(latency);

            RoutingInfo info = response.GetRoutingInfo()!;
            hedges += info.Attempts.Count(x => x.IsHedge);
            exhausted += info.RetryBudgetExhausted ? 1 : 0;
            failedOver += info.FailedOver ? 1 : 0;

            // The harness checks itself: the latency is the winner's, measured from the request's start.
            if (b.Calls > hedgesBefore)
            {
                DelayedChatClient.CallRecord hedge = b.Call(b.Calls);
                double hedgeAt = (hedge.StartedAt - t0).TotalMilliseconds;
                double expected = Math.Min(primaryMs[i], hedgeAt + secondaryMs[b.Calls]);
                Assert.Equal(expected, latency);
            }
            else
            {
                Assert.Equal(primaryMs[i], latency);
            }
        }

        return new Run(latencies, a.Calls + b.Calls, hedges, exhausted, failedOver, time.GetUtcNow() - begin);
    }

    private sealed record Run(List<double> Latencies, int Calls, int Hedges, int BudgetExhausted, int FailedOver, TimeSpan Elapsed)
    {
        /// <summary>Nearest-rank percentile, in milliseconds.</summary>
        public double P(double percentile)
        {
            double[] sorted = [.. Latencies.Order()];
            int rank = (int)Math.Ceiling(percentile * sorted.Length);
            return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
        }
    }
}
