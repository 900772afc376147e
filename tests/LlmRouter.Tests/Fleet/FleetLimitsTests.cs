using LlmRouter.Tests.TestSupport;

namespace LlmRouter.Tests.Fleet;

/// <summary>
/// An endpoint's requests-per-minute limit held for the whole fleet through the routers: three instances admit from
/// quotas leased in the background, the rest of the traffic goes to an endpoint without limit, nothing fails.
/// </summary>
public sealed class FleetLimitsTests(RedisServer redis, ITestOutputHelper output) : IClassFixture<RedisServer>
{
    private const int Limit = 60;

    [Fact]
    public async Task SixtyPerMinuteSharedByThree_SixtyEach_PrimaryGetsAtMostSixty_RestServedByBackup()
    {
        redis.Require();
        using var fleet = new FleetCluster(3, redis.ConnectionString, primary: e => e.RequestsPerMinute = Limit);
        await fleet.AllConnectedAsync();

        int failed = await SendRoundsAsync(fleet, Limit);

        // Tolerance: never above the limit (leases never pass it); below it by what instances leased and did not use
        // (at most one block, limit / 20 = 3, each) plus what was turned away while a lease was on its way.
        output.WriteLine($"primary {fleet.Primary.Calls}, backup {fleet.Backup.Calls}, failed {failed}");
        Assert.Equal(0, failed);
        Assert.InRange(fleet.Primary.Calls, 40, Limit); // measured: 60 in 3 of 3 runs
        Assert.Equal(3 * Limit, fleet.Primary.Calls + fleet.Backup.Calls);

        // The next minute (fake clock, the same for every instance): the fleet has a new quota.
        fleet.Time.Advance(TimeSpan.FromMinutes(1));
        int before = fleet.Primary.Calls;
        failed = await SendRoundsAsync(fleet, Limit);
        output.WriteLine($"next minute: primary {fleet.Primary.Calls - before}, failed {failed}");
        Assert.Equal(0, failed);
        Assert.InRange(fleet.Primary.Calls - before, 40, Limit);
    }

    [Fact]
    public async Task RedisDown_EachInstanceAdmitsItsShare_TheFleetStaysWithinTheLimit()
    {
        redis.Require();
        using var fleet = new FleetCluster(3, redis.ConnectionString, primary: e => e.RequestsPerMinute = Limit);
        try
        {
            await fleet.AllConnectedAsync();

            // Every instance uses the quota, then heartbeats again (5 s later on the shared clock) and learns the fleet's size.
            _ = await SendRoundsAsync(fleet, 2);
            fleet.Time.Advance(TimeSpan.FromSeconds(6));
            _ = await SendRoundsAsync(fleet, 1);
            await FleetCluster.Eventually(() => fleet.Routers.TrueForAll(r => r.Fleet!.Leaser.FleetSize == 3), "every instance knows the fleet has 3 members");

            redis.Kill();
            await FleetCluster.Eventually(() => Enumerable.Range(0, 3).All(n => fleet.Status(n).State == FleetConnectionState.Disconnected), "every instance says disconnected");

            // A new minute without Redis: each instance admits a third of the limit.
            fleet.Time.Advance(TimeSpan.FromMinutes(1));
            int before = fleet.Primary.Calls;
            int failed = await SendRoundsAsync(fleet, Limit);
            int primary = fleet.Primary.Calls - before;
            output.WriteLine($"Redis down: primary {primary}, failed {failed}");
            Assert.Equal(0, failed);
            Assert.Equal(Limit, primary); // 3 × ceil(60 / 3)
        }
        finally
        {
            await redis.StartAsync();
        }
    }

    /// <summary>Sends <paramref name="rounds"/> rounds of one request per instance, a few milliseconds apart (leases arrive in between); returns the failures.</summary>
    private static async Task<int> SendRoundsAsync(FleetCluster fleet, int rounds)
    {
        int failed = 0;
        for (int round = 0; round < rounds; round++)
        {
            for (int i = 0; i < 3; i++)
            {
                try
                {
                    _ = await fleet.SendAsync(i);
                }
                catch (LlmRouterException)
                {
                    failed++;
                }
            }

            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        return failed;
    }
}
