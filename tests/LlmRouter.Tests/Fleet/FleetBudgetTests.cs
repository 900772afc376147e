using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using StackExchange.Redis;

namespace LlmRouter.Tests.Fleet;

/// <summary>
/// A tenant's spending cap held for the whole fleet: each instance pushes its spending to Redis as deltas in the
/// background and counts the fleet's total; Redis down, each instance goes on from the last known total alone.
/// </summary>
public sealed class FleetBudgetTests(RedisServer redis, ITestOutputHelper output) : IClassFixture<RedisServer>
{
    private const string Tenant = "acme";
    private const int Cap = 30; // each request costs 1: one output token at 1,000,000 per million

    [Fact]
    public async Task DailyCapSharedByThree_HoldsWithinOneSyncOfTheOtherInstances()
    {
        redis.Require();
        using FleetCluster fleet = Create();
        await fleet.AllConnectedAsync();

        // Each round: one request per instance, then every instance pushes and reads back (two completed syncs, so
        // that the second began after the round). The documented bound: the cap + one sync interval's spending of the
        // other instances (+ requests in flight, none here) = 30 + 2 × 1.
        int served = 0;
        int refused = 0;
        for (int round = 0; round < 20; round++)
        {
            long[] syncs = fleet.Routers.Select(r => r.Fleet!.BudgetSyncs).ToArray();
            for (int i = 0; i < 3; i++)
            {
                if (await TrySendAsync(fleet, i))
                {
                    served++;
                }
                else
                {
                    refused++;
                }
            }

            await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(i => fleet.Routers[i].Fleet!.BudgetSyncs >= syncs[i] + 2), "every instance synced its budgets");
        }

        output.WriteLine($"served {served}, refused {refused}, fleet total {Spent(fleet, 0)}");
        Assert.InRange(served, Cap, Cap + 2);
        Assert.Equal(60 - served, refused);
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(served, Spent(fleet, i)));
        Assert.All(Enumerable.Range(0, 3), i => Assert.True(fleet.Status(i).BudgetsShared));

        // In Redis: a counter per period in millionths, under the configured tenant's name only.
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        IDatabase db = connection.GetDatabase();
        string key = fleet.Routers[0].Fleet!.Budgets.Key("tenant", BudgetPeriod.Day, BudgetAccount.IndexOf(BudgetPeriod.Day, fleet.Time.GetUtcNow()), Tenant);
        Assert.Equal(served * 1_000_000L, (long)await db.StringGetAsync(key));
        TimeSpan? ttl = await db.KeyTimeToLiveAsync(key);
        Assert.InRange(ttl!.Value, TimeSpan.FromHours(24), TimeSpan.FromHours(25)); // to an hour past the (fake) day's end
    }

    [Fact]
    public async Task FreeRunning_ThreeInstances_OvershootWithinTheOtherInstancesSpendingOfTwoSyncPeriods()
    {
        redis.Require();
        var sync = TimeSpan.FromMilliseconds(50);
        using FleetCluster fleet = Create(sync);
        await fleet.AllConnectedAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int[] served = await Task.WhenAll(Enumerable.Range(0, 3).Select(async i =>
        {
            int mine = 0;
            for (int n = 0; n < 40; n++)
            {
                if (await TrySendAsync(fleet, i))
                {
                    mine++;
                }

                await Task.Delay(2, TestContext.Current.CancellationToken);
            }

            return mine;
        }));
        double elapsedMs = clock.Elapsed.TotalMilliseconds;

        // The bound: what the two other instances send in two sync periods (one for them to push, one for this instance
        // to read back; a period is the interval plus the loop's poll), plus one request in flight per instance.
        double perInstancePerMs = 40 / elapsedMs;
        double period = sync.TotalMilliseconds + 20;
        int bound = Cap + (int)Math.Ceiling(2 * perInstancePerMs * 2 * period) + 3;
        output.WriteLine($"free running, sync {sync.TotalMilliseconds} ms, {perInstancePerMs * 1000:0} requests/s per instance: served {served.Sum()} of cap {Cap}, bound {bound}; one period of the others' spending is {2 * perInstancePerMs * period:0}");
        Assert.InRange(served.Sum(), Cap, bound);
    }

    [Fact]
    public async Task RedisDown_BudgetsLocal_EachInstanceAddsItsOwnSpendingToTheLastKnownTotal_ThenPushesOnReconnect()
    {
        redis.Require();
        using FleetCluster fleet = Create();
        try
        {
            await fleet.AllConnectedAsync();
            for (int i = 0; i < 3; i++)
            {
                Assert.True(await TrySendAsync(fleet, i));
            }

            await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(i => Spent(fleet, i) == 3), "every instance knows the fleet spent 3");

            redis.Kill();
            await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(n => !fleet.Status(n).BudgetsShared), "every instance says its budgets are local");
            Assert.True(await TrySendAsync(fleet, 0));
            Assert.True(await TrySendAsync(fleet, 0));
            Assert.True(await TrySendAsync(fleet, 1));
            Assert.Equal(5, Spent(fleet, 0));
            Assert.Equal(4, Spent(fleet, 1));
            Assert.Equal(3, Spent(fleet, 2));
            output.WriteLine(fleet.Status(0).ToString());

            await redis.StartAsync();
            await FleetCluster.Eventually(
                () => Enumerable.Range(0, 3).All(i => Spent(fleet, i) == 6 && fleet.Status(i).BudgetsShared),
                "the spending while Redis was away reaches every instance",
                onTimeout: () => $"spent {Spent(fleet, 0)} {Spent(fleet, 1)} {Spent(fleet, 2)}; {fleet.Status(0)}");
        }
        finally
        {
            if (!redis.Available)
            {
                await redis.StartAsync();
            }
        }
    }

    private FleetCluster Create(TimeSpan? sync = null) => new(
        3,
        redis.ConnectionString,
        configure: o => o.BudgetSyncInterval = sync ?? TimeSpan.FromMilliseconds(10),
        primary: e => e.OutputCostPerMillionTokens = 1_000_000,
        backup: e => e.OutputCostPerMillionTokens = 1_000_000, // as dear: past the soft threshold, routing would favour a cheaper one
        router: o => o.Constraints.Tenants[Tenant] = new TenantOptions { Budget = new BudgetOptions { PerDay = Cap } })
    {
        Primary = { Usage = new UsageDetails { InputTokenCount = 0, OutputTokenCount = 1, TotalTokenCount = 1 } },
        Backup = { Usage = new UsageDetails { InputTokenCount = 0, OutputTokenCount = 1, TotalTokenCount = 1 } },
    };

    private static decimal Spent(FleetCluster fleet, int instance) =>
        fleet.Routers[instance].GetBudgets().Single(s => s.Scope == "tenant").Spent;

    private static async Task<bool> TrySendAsync(FleetCluster fleet, int instance)
    {
        try
        {
            _ = await fleet.Routers[instance].GetResponseAsync(
                RouterFactory.Hello(), new ChatOptions().WithRouting(r => r.Tenant = Tenant), TestContext.Current.CancellationToken);
            return true;
        }
        catch (BudgetExceededException)
        {
            return false;
        }
    }
}
