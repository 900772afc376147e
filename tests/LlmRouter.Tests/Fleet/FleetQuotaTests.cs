using LlmRouter.Tests.TestSupport;
using StackExchange.Redis;

namespace LlmRouter.Tests.Fleet;

/// <summary>
/// A per-minute limit held for the whole fleet (not yet wired to the endpoint limits): three instances, each with its
/// own connection, lease blocks of one minute's quota from an atomic Redis counter and admit locally.
/// </summary>
public sealed class FleetQuotaTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const long Minute = 29_000_000; // a fixed Unix minute, so that the test never straddles two
    private const long Now = Minute * 60_000;

    [Fact]
    public async Task SixtyPerMinute_ThreeInstancesAskingSixtyEach_AtMostSixtyAdmitted()
    {
        redis.Require();
        string prefix = $"quota-{Guid.NewGuid():N}";
        var connections = new List<ConnectionMultiplexer>();
        var leasers = new List<FleetQuotaLeaser>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                connections.Add(await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString));
                leasers.Add(new FleetQuotaLeaser(prefix, $"i{i}", [new FleetQuota("primary", "rpm", 60)], TimeSpan.FromSeconds(5)));
            }

            // Connected from the start: the mirror's first step (before any request) switches to leases; a quota
            // leases once a request has used it.
            int trips = 0;
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(0, await leasers[i].RunOnceAsync(connections[i].GetDatabase(), Now));
            }

            int admitted = 0;
            int refused = 0;
            for (int request = 0; request < 60; request++)
            {
                for (int i = 0; i < 3; i++)
                {
                    FleetQuota quota = leasers[i].Quotas[0];
                    bool taken = quota.TryTake(1, Minute);
                    if (!taken)
                    {
                        // What the mirror's loop does between requests when an allowance runs low.
                        trips += await leasers[i].RunOnceAsync(connections[i].GetDatabase(), Now);
                        taken = quota.TryTake(1, Minute);
                    }

                    if (taken)
                    {
                        admitted++;
                    }
                    else
                    {
                        refused++; // the router would serve it elsewhere
                    }
                }
            }

            // Exactly the limit when every instance keeps asking; the tolerance is the blocks left unused at the minute's end.
            long leftover = leasers.Sum(l => l.Quotas[0].Allowance);
            Assert.InRange(admitted, 60 - (3 * leasers[0].Quotas[0].Block), 60);
            Assert.Equal(60, admitted + leftover);
            Assert.Equal(180 - admitted, refused);
            Assert.True(trips < 60, $"{trips} Redis round trips for 180 requests: leases are blocks, not one per request");
            Assert.Equal(3, leasers[2].FleetSize);
        }
        finally
        {
            foreach (ConnectionMultiplexer connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task RedisUnreachable_EachInstanceFallsBackToItsShareOfTheLastKnownFleet()
    {
        redis.Require();
        string prefix = $"quota-{Guid.NewGuid():N}";
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var leasers = Enumerable.Range(0, 3)
            .Select(i => new FleetQuotaLeaser(prefix, $"i{i}", [new FleetQuota("primary", "rpm", 60)], TimeSpan.FromSeconds(5)))
            .ToList();
        foreach (FleetQuotaLeaser leaser in leasers)
        {
            _ = await leaser.RunOnceAsync(connection.GetDatabase(), Now);
            Assert.False(leaser.Quotas[0].TryTake(1, Minute)); // the first request finds no lease yet: it goes elsewhere
            _ = await leaser.RunOnceAsync(connection.GetDatabase(), Now);
        }

        Assert.Equal(3, leasers[2].FleetSize);

        // Next minute, Redis gone: instance 2 admits its third of the limit and no more.
        leasers[2].FallBack(Now + 60_000);
        FleetQuota quota = leasers[2].Quotas[0];
        int admitted = 0;
        while (quota.TryTake(1, Minute + 1))
        {
            admitted++;
        }

        Assert.Equal(20, admitted);
    }
}
