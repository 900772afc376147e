using LlmRouter.Simulation;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Fleet;

/// <summary>
/// An endpoint's MaxConcurrency held for the whole fleet: each instance holds at most its share of the slots (one
/// over the fleet's size, from the heartbeats, or the configured share), so the endpoint never sees more than the
/// limit at once; the rest of the traffic goes to the endpoint without limit, nothing fails.
/// </summary>
public sealed class FleetConcurrencyTests(RedisServer redis, ITestOutputHelper output) : IClassFixture<RedisServer>
{
    private const int Limit = 6;
    private const int PerInstance = 6;

    [Fact]
    public async Task SixSlotsSharedByThree_SixEach_PrimaryHoldsAtMostSix_RestServedByBackup()
    {
        redis.Require();
        using var fleet = new FleetCluster(3, redis.ConnectionString, primary: e => e.MaxConcurrency = Limit);
        await fleet.AllConnectedAsync();

        // Each instance heartbeats at once (seeing 1, 2, 3 members as they join), then every 5 s of the shared clock.
        fleet.Time.Advance(TimeSpan.FromSeconds(6));
        await FleetCluster.Eventually(() => fleet.Routers.TrueForAll(r => r.Fleet!.Leaser.FleetSize == 3), "every instance knows the fleet has 3 members");
        await FleetCluster.Eventually(() => fleet.Routers.TrueForAll(r => r.GetSnapshot()[0].ConcurrencyLeft == Limit / 3), "every instance holds a third of the slots");

        (int primary, int backup, int failed) = await SendHeldAsync(fleet);
        output.WriteLine($"fleet: primary held {primary} at once, backup {backup}, failed {failed}");
        Assert.Equal(0, failed);
        Assert.Equal(Limit, primary); // 3 × ⌊6 / 3⌋
        Assert.Equal((3 * PerInstance) - Limit, backup);
    }

    [Fact]
    public async Task WithoutFleetMode_EachInstanceHoldsTheWholeLimit()
    {
        using var fleet = new FleetCluster(3, connectionString: null, fleet: false, primary: e => e.MaxConcurrency = Limit);

        (int primary, int backup, int failed) = await SendHeldAsync(fleet);
        output.WriteLine($"no fleet: primary held {primary} at once, backup {backup}, failed {failed}");
        Assert.Equal(0, failed);
        Assert.Equal(3 * Limit, primary); // the overshoot fleet mode removes
        Assert.Equal(0, backup);
    }

    [Fact]
    public async Task RedisUnreachable_ConfiguredShare_HoldsFromTheFirstRequest()
    {
        // Nothing listens on this port: the instances never connect, and still hold their configured share.
        using var fleet = new FleetCluster(
            3,
            $"127.0.0.1:{LoopbackRedis.FreePort()},connectTimeout=200,abortConnect=false",
            configure: o => o.FallbackShare = 0.5,
            primary: e => e.MaxConcurrency = Limit);

        (int primary, int backup, int failed) = await SendHeldAsync(fleet);
        output.WriteLine($"Redis unreachable, share 0.5: primary held {primary} at once, backup {backup}, failed {failed}");
        Assert.Equal(0, failed);
        Assert.Equal(3 * (Limit / 2), primary);
        Assert.Equal(3 * (PerInstance - (Limit / 2)), backup);
        Assert.All(Enumerable.Range(0, 3), n => Assert.NotEqual(FleetConnectionState.Connected, fleet.Status(n).State));
    }

    [Fact]
    public async Task FleetModeOff_AfterDispose_TheWholeLimitIsLocalAgain()
    {
        redis.Require();
        using var fleet = new FleetCluster(1, redis.ConnectionString, configure: o => o.FallbackShare = 0.5, primary: e => e.MaxConcurrency = Limit);
        Assert.Equal(Limit / 2, fleet.Routers[0].GetSnapshot()[0].ConcurrencyLeft);

        fleet.Routers[0].Fleet!.Dispose();
        Assert.Equal(Limit, fleet.Routers[0].GetSnapshot()[0].ConcurrencyLeft);
    }

    /// <summary>Starts <see cref="PerInstance"/> requests at every instance while the primary holds its calls, then lets them all finish.</summary>
    private static async Task<(int Primary, int Backup, int Failed)> SendHeldAsync(FleetCluster fleet)
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fleet.Primary.Hold = hold.Task;
        var calls = new List<Task<ChatResponse>>();
        for (int i = 0; i < 3; i++)
        {
            for (int n = 0; n < PerInstance; n++)
            {
                calls.Add(fleet.Routers[i].GetResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken));
            }
        }

        // The backup answers at once; what remains is held at the primary.
        int expectedBackup = 0;
        await FleetCluster.Eventually(
            () =>
            {
                expectedBackup = calls.Count(c => c.IsCompleted);
                return fleet.Primary.InFlight + expectedBackup == calls.Count;
            },
            "every request is either held at the primary or answered by the backup");
        int primary = fleet.Primary.InFlight;
        int backup = fleet.Backup.Calls;
        hold.SetResult();

        int failed = 0;
        foreach (Task<ChatResponse> call in calls)
        {
            try
            {
                _ = await call.WaitAsync(FleetCluster.RealTimeLimit, TestContext.Current.CancellationToken);
            }
            catch (LlmRouterException)
            {
                failed++;
            }
        }

        return (primary, backup, failed);
    }
}
