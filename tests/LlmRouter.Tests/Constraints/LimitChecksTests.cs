using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.Constraints;

/// <summary>
/// An endpoint's limit check (<see cref="EndpointLimits.AtLimit"/>) remembers that the limiters have room until the
/// next acquire: every acquire, release and new minute is still seen by the next check.
/// </summary>
public sealed class LimitChecksTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void AtLimit_LastRequestOfTheMinuteTaken_ReportsTheLimit_AndRoomAgainNextMinute()
    {
        using EndpointLimits limits = Create(new EndpointOptions { RequestsPerMinute = 2 });

        Assert.Null(limits.AtLimit(0));
        Assert.Null(limits.AtLimit(0));
        Assert.NotNull(limits.TryAcquire(0));
        Assert.Null(limits.AtLimit(0));
        Assert.NotNull(limits.TryAcquire(0));
        Assert.Equal("RequestsPerMinute (2) reached", limits.AtLimit(0));
        Assert.Equal("RequestsPerMinute (2) reached", limits.AtLimit(0));

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(limits.AtLimit(0));
    }

    [Fact]
    public void AtLimit_LastConcurrencySlotTaken_ReportsTheLimit_AndRoomAgainWhenReturned()
    {
        using EndpointLimits limits = Create(new EndpointOptions { MaxConcurrency = 1 });
        Assert.Null(limits.AtLimit(0));

        LimitLease lease = limits.TryAcquire(0)!;
        Assert.Equal("MaxConcurrency (1) reached", limits.AtLimit(0));

        lease.Return(null);
        Assert.Null(limits.AtLimit(0));
        Assert.Null(limits.AtLimit(0));
    }

    [Fact]
    public void AtLimit_WithRoomRemembered_StillChecksEachRequestsTokens()
    {
        using EndpointLimits limits = Create(new EndpointOptions { TokensPerMinute = 1_000, RequestsPerMinute = 100 });
        _ = limits.TryAcquire(600);
        Assert.Null(limits.AtLimit(300));

        Assert.Equal("TokensPerMinute (1000) reached", limits.AtLimit(500));
        Assert.Null(limits.AtLimit(400));

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(limits.AtLimit(900));
    }

    [Fact]
    public void AtLimit_Reconfigured_ChecksTheNewLimits()
    {
        using EndpointLimits limits = Create(new EndpointOptions { RequestsPerMinute = 10 });
        Assert.Null(limits.AtLimit(0));

        limits.Configure(new EndpointOptions { RequestsPerMinute = 1 });
        Assert.NotNull(limits.TryAcquire(0));

        Assert.Equal("RequestsPerMinute (1) reached", limits.AtLimit(0));
    }

    [Fact]
    public void AtLimit_FleetQuota_TheEndpointIsAtItsLimitWhenTheQuotaHasNoRoom_EvenWithLocalRoom()
    {
        using EndpointLimits limits = Create(new EndpointOptions { RequestsPerMinute = 60, TokensPerMinute = 1_000 });
        var requests = new FleetQuota("e", "rpm", 60) { FallbackShare = 1.0 / 30 }; // disconnected: a share of 2
        var tokens = new FleetQuota("e", "tpm", 1_000) { FallbackShare = 0.5 };     // 500
        limits.AttachFleet(requests, tokens);

        Assert.Null(limits.AtLimit(100));
        LimitLease first = limits.TryAcquire(300)!;
        Assert.Equal("TokensPerMinute (1000) reached by the fleet", limits.AtLimit(300));
        first.Return(new Microsoft.Extensions.AI.UsageDetails { TotalTokenCount = 100 }); // 200 back to the quota
        Assert.Null(limits.AtLimit(300));
        Assert.NotNull(limits.TryAcquire(300));
        Assert.Equal("RequestsPerMinute (60) reached by the fleet", limits.AtLimit(0));
        Assert.Null(limits.TryAcquire(0));

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(limits.AtLimit(0));
        limits.AttachFleet(null, null);
        Assert.Null(limits.AtLimit(0));
    }

    [Fact]
    public void Snapshot_FleetQuota_LeftIsWhatThisInstanceMayStillAdmit_NotItsLocalLimiter()
    {
        using EndpointLimits limits = Create(new EndpointOptions { RequestsPerMinute = 60 });
        var requests = new FleetQuota("e", "rpm", 60) { FleetSize = 3 };
        limits.AttachFleet(requests, null);
        long window = _time.GetUtcNow().ToUnixTimeMilliseconds() / 60_000;

        // Disconnected: a third of the limit.
        requests.FallbackShare = 1.0 / 3;
        requests.FallBack(window);
        Assert.Equal(20, limits.RequestsLeft);
        Assert.NotNull(limits.TryAcquire(0));
        Assert.Equal(19, limits.RequestsLeft);

        // Connected, next minute: a block of 3 granted, the fleet has leased 57 of 60 in all.
        _time.Advance(TimeSpan.FromMinutes(1));
        requests.Leasing = true;
        requests.Granted(window + 1, 3, fleetUsed: 57);
        Assert.Equal(6, limits.RequestsLeft); // its 3, and the 3 nobody leased yet
        Assert.NotNull(limits.TryAcquire(0));
        Assert.Equal(5, limits.RequestsLeft);

        // The fleet's limit reached: only what it holds.
        requests.Granted(window + 1, 0, fleetUsed: 60);
        Assert.Equal(2, limits.RequestsLeft);
    }

    [Fact]
    public void FleetConcurrencyShare_HoldsAtMostItsShare_AndNeverTakesASlotBack()
    {
        using EndpointLimits limits = Create(new EndpointOptions { MaxConcurrency = 10 });
        limits.SetFleetConcurrencyShare(0.25); // ⌊2.5⌋
        Assert.Equal(2, limits.ConcurrencyLeft);
        LimitLease a = limits.TryAcquire(0)!;
        LimitLease b = limits.TryAcquire(0)!;
        Assert.Null(limits.TryAcquire(0));
        Assert.Equal("MaxConcurrency (10) reached: this instance's share of the fleet's limit is 2", limits.AtLimit(0));

        limits.SetFleetConcurrencyShare(0.01); // at least 1: the two running stay, nothing new starts
        Assert.Equal(0, limits.ConcurrencyLeft);
        a.Return(null);
        Assert.Null(limits.TryAcquire(0));
        b.Return(null);
        Assert.Equal(1, limits.ConcurrencyLeft);
        Assert.NotNull(limits.TryAcquire(0));

        limits.SetFleetConcurrencyShare(null); // fleet mode off: the whole limit, minus the one running
        Assert.Equal(9, limits.ConcurrencyLeft);
    }

    private EndpointLimits Create(EndpointOptions options)
    {
        var limits = new EndpointLimits(_time);
        limits.Configure(options);
        return limits;
    }
}
