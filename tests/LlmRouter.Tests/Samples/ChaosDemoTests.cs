using LlmRouter.ChaosDemo;

namespace LlmRouter.Tests.Samples;

/// <summary>The chaos demo, the README's main job: its arguments, its reproducibility, and what it measures.</summary>
[Collection(LlmRouter.Tests.Reliability.IsolatedReliabilityDefinition.Name)]
public sealed class ChaosDemoTests
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
