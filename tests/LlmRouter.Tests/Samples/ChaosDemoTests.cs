using LlmRouter.ChaosDemo;
using LlmRouter.Tests.TestSupport;

namespace LlmRouter.Tests.Samples;

/// <summary>The chaos demo, the README's main job: its arguments, its reproducibility, and what it measures.</summary>
[Collection(LlmRouter.Tests.Reliability.IsolatedReliabilityDefinition.Name)]
public sealed class ChaosDemoTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Theory]
    [InlineData(new[] { "--days", "0" }, "--days")]
    [InlineData(new[] { "--days", "32" }, "--days")]
    [InlineData(new[] { "--days", "2.5" }, "--days")]
    [InlineData(new[] { "--rate", "abc" }, "--rate")]
    [InlineData(new[] { "--rate", "0" }, "--rate")]
    [InlineData(new[] { "--scenario", "storms" }, "--scenario")]
    [InlineData(new[] { "--seed" }, "--seed needs a value")]
    [InlineData(new[] { "--out", "--streaming" }, "--out needs a value")]
    [InlineData(new[] { "--colour" }, "Unknown argument '--colour'")]
    [InlineData(new[] { "--fleet", "1" }, "--fleet must be a whole number between 2 and 16")]
    [InlineData(new[] { "--fleet", "17" }, "--fleet must be a whole number between 2 and 16")]
    [InlineData(new[] { "--fleet", "2.5" }, "--fleet")]
    [InlineData(new[] { "--fleet", "many" }, "--fleet")]
    [InlineData(new[] { "--fleet" }, "--fleet needs a value")]
    [InlineData(new[] { "--fleet", "--redis", "localhost" }, "--fleet needs a value")]
    [InlineData(new[] { "--fleet", "3", "--redis" }, "--redis needs a value")]
    [InlineData(new[] { "--redis", "localhost:6379" }, "--redis is used only with --fleet")]
    public void BadArguments_AreRejectedNamingTheArgument(string[] args, string named)
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => ChaosOptions.Parse(args));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Arguments_AreParsed()
    {
        ChaosOptions options = ChaosOptions.Parse(["--seed", "9", "--days", "2", "--rate", "1.5", "--scenario", "OUTAGES", "--streaming", "--out", "x.svg"]);

        Assert.Equal(new ChaosOptions { Seed = 9, Days = 2, Rate = 1.5, Scenario = Scenario.Outages, Streaming = true, ChartPath = "x.svg" }, options);
    }

    [Theory]
    [InlineData(new[] { "--fleet", "2" }, 2, null)]
    [InlineData(new[] { "--fleet", "16", "--redis", "redis.internal:6380,password=x" }, 16, "redis.internal:6380,password=x")]
    [InlineData(new[] { "--redis", "localhost", "--fleet", "3", "--seed", "8" }, 3, "localhost")]
    public void FleetArguments_AreParsed(string[] args, int instances, string? server)
    {
        ChaosOptions options = ChaosOptions.Parse(args);

        Assert.Equal(instances, options.Fleet);
        Assert.Equal(server, options.Redis);
    }

    [Fact]
    public void NoFleetArgument_KeepsTheSimulatedMonth()
    {
        ChaosOptions options = ChaosOptions.Parse([]);

        Assert.Null(options.Fleet);
        Assert.Null(options.Redis);
        Assert.Contains("--fleet N", ChaosOptions.Usage, StringComparison.Ordinal);
        Assert.Contains("--redis", ChaosOptions.Usage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fleet_SharedState_WastesFewerCallsPerOutage_AndHoldsTheRateLimitIndependentRoutersOvershoot()
    {
        redis.Require();

        // Real time, short: 4 s per mode, two outages of alpha, bravo limited to 10 requests a minute while the fleet
        // sends it several times that during the outages. Orderings and inequalities only: a loaded machine shifts counts.
        var scenario = new FleetScenario(Instances: 3, Seed: 11, Duration: TimeSpan.FromSeconds(4), Outages: 2, RatePerInstance: 20, RequestsPerMinute: 10);

        FleetResult independent = await FleetRun.RunAsync(scenario, redis: null, TestContext.Current.CancellationToken);
        FleetResult shared = await FleetRun.RunAsync(scenario, redis.ConnectionString, TestContext.Current.CancellationToken);

        Assert.Equal(independent.Requests, shared.Requests);
        Assert.True(independent.SuccessRate >= 0.99 && shared.SuccessRate >= 0.99, $"charlie stays up ({independent.SuccessRate}, {shared.SuccessRate})");
        Assert.True(shared.WastedPerOutage < independent.WastedPerOutage,
            $"the fleet opens alpha once for all instances: {shared.WastedPerOutage} calls per outage vs {independent.WastedPerOutage}");
        Assert.True(shared.ProbesPerRecovery < independent.ProbesPerRecovery,
            $"one instance probes for the fleet: {shared.ProbesPerRecovery} probes per recovery vs {independent.ProbesPerRecovery}");
        Assert.True(independent.Overshoot > 0, $"each independent instance admits the whole limit: busiest minute {independent.BusiestMinute}");
        Assert.Equal(0, shared.Overshoot);
    }

    [Fact]
    public async Task SameSeed_SameRun_AndTheRouterLosesNoRequestDirectCallsLose()
    {
        var options = new ChaosOptions { Seed = 5, Days = 2, Rate = 2, Scenario = Scenario.Outages };
        List<FaultWindow>[] faults = [.. ProviderProfile.All.Select((_, i) => FaultSchedule.For(i, options))];

        RunResult direct = await OnOwnThreadAsync(() => SimulationRun.Run(SystemKind.Direct, options, faults, _ => { }));
        RunResult router = await OnOwnThreadAsync(() => SimulationRun.Run(SystemKind.LlmRouter, options, faults, _ => { }));
        RunResult again = await OnOwnThreadAsync(() => SimulationRun.Run(SystemKind.LlmRouter, options, faults, _ => { }));

        Assert.Equal(router.Records, again.Records);
        Assert.Equal(router.UpstreamCalls, again.UpstreamCalls);
        Assert.Equal(direct.Records.Count, router.Records.Count);
        Assert.True(Report.SuccessRate(direct) < 1, "alpha's outages cost direct calls some requests");
        Assert.Equal(1, Report.SuccessRate(router));
        Assert.All(faults, f => Assert.Contains(f, w => w.Kind is FaultKind.OutageFast or FaultKind.OutageHang));
    }

    [Fact]
    public async Task CostScenario_AffinityKeepsPromptCachesWarm_AndTheBudgetHoldsItsDailyCap()
    {
        var options = new ChaosOptions { Seed = 3, Days = 1, Rate = 4, Scenario = Scenario.Cost };

        CostResult without = await OnOwnThreadAsync(() => CostRun.Run(CostSystem.ScoreWithoutAffinity, options, 0, _ => { }));
        CostResult with = await OnOwnThreadAsync(() => CostRun.Run(CostSystem.ScoreWithAffinity, options, 0, _ => { }));
        decimal cap = decimal.Round(with.Cost * 0.5m, 2);
        CostResult budget = await OnOwnThreadAsync(() => CostRun.Run(CostSystem.ScoreWithAffinityAndBudget, options, cap, _ => { }));

        Assert.Equal(without.Requests, with.Requests);
        Assert.Equal(with.Requests, with.Served);
        Assert.True(with.CachedInputTokens / (double)with.InputTokens > without.CachedInputTokens / (double)without.InputTokens,
            "affinity keeps more of the input in the providers' prompt caches");
        Assert.True(with.Cost < without.Cost, $"affinity costs less ({with.Cost} vs {without.Cost})");
        Assert.True(with.AffinityHitRate >= 0.95, $"returning turns stay on their endpoint ({with.AffinityHitRate})");
        Assert.True(budget.Cost < with.Cost, "past the soft threshold the budget run moves to cheaper endpoints");

        // The tenant's spend may pass the cap only by the turns in flight when it was reached: a few cents here.
        Assert.NotNull(budget.HighestDaySpend);
        Assert.True(budget.HighestDaySpend <= cap + 0.05m, $"spent {budget.HighestDaySpend} of a {cap} cap");
    }

    /// <summary>
    /// Runs a simulation on a thread of its own, as the demo's console does: its clock moves only when the thread pool
    /// is idle, which it never is while the driver holds a pool thread.
    /// </summary>
    private static Task<T> OnOwnThreadAsync<T>(Func<T> run)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(run());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
        };
        thread.Start();
        return done.Task.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
    }
}
