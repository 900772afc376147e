using System.Globalization;
using StackExchange.Redis;

namespace LlmRouter;

/// <summary>
/// Leases blocks of the fleet's per-minute quotas in the background, and keeps the fleet's size for the fallback
/// shares. Never called on the request path: requests take from <see cref="FleetQuota"/> allowances.
/// </summary>
/// <remarks>
/// Key layout: <c>{prefix}:llmrouter:{rpm|tpm}:{endpoint}:{unixMinute}</c> (an integer, expiring after two minutes) and
/// <c>{prefix}:llmrouter:members</c> (a sorted set of instance ids scored by their last heartbeat).
/// The fleet mirror runs it; <c>EndpointLimits</c> takes from the quotas beside its local limiters.
/// </remarks>
internal sealed class FleetQuotaLeaser(string prefix, string instanceId, IReadOnlyList<FleetQuota> quotas, TimeSpan heartbeatInterval)
{
    private static readonly TimeSpan MemberStaleAfter = TimeSpan.FromSeconds(30);
    private readonly string _root = prefix + ":llmrouter:";
    private long? _lastHeartbeatUnixMs;

    /// <summary>Gets the fleet's size at the last heartbeat (at least 1).</summary>
    public int FleetSize { get; private set; } = 1;

    /// <summary>Gets or sets a share to use while disconnected instead of 1 / fleet size; null for the latter.</summary>
    public double? ConfiguredShare { get; set; }

    /// <summary>Gets this instance's share of a fleet-wide limit it cannot ask the fleet about: the configured share, or 1 / fleet size.</summary>
    public double Share => ConfiguredShare ?? (1.0 / FleetSize);

    /// <summary>Gets or sets what says whether the fleet's size is needed even with no quota in use (an endpoint has a concurrency limit).</summary>
    public Func<bool>? SizeWanted { get; set; }

    /// <summary>Gets or sets what to call after a heartbeat changed the fleet's size, with the new <see cref="Share"/>.</summary>
    public Action<double>? ShareChanged { get; set; }

    public IReadOnlyList<FleetQuota> Quotas => quotas;

    public static long Window(long unixMs) => unixMs / 60_000;

    /// <summary>One background step while connected: heartbeat when due, then a lease for each quota that wants one.</summary>
    /// <returns>The number of Redis round trips made.</returns>
    public async Task<int> RunOnceAsync(IDatabase db, long nowUnixMs)
    {
        int trips = 0;
        bool any = false;
        foreach (FleetQuota quota in quotas)
        {
            quota.Leasing = true; // connected: allowances come from leases only, never from a share
            any |= quota.Active;
        }

        if (!any && SizeWanted?.Invoke() != true)
        {
            return 0; // no request has used a fleet limit yet and none is held by share: nothing to lease, no heartbeat
        }

        if (_lastHeartbeatUnixMs is not { } last || nowUnixMs - last >= heartbeatInterval.TotalMilliseconds)
        {
            _lastHeartbeatUnixMs = nowUnixMs;
            trips++;
            long size = (long)await db.ScriptEvaluateAsync(
                FleetScripts.Heartbeat,
                [_root + "members"],
                [nowUnixMs, instanceId, nowUnixMs - (long)MemberStaleAfter.TotalMilliseconds]).ConfigureAwait(false);
            int previous = FleetSize;
            FleetSize = (int)Math.Max(1, size);
            if (FleetSize != previous)
            {
                ShareChanged?.Invoke(Share);
            }
        }

        long window = Window(nowUnixMs);
        double share = Share;
        foreach (FleetQuota quota in quotas)
        {
            quota.FallbackShare = share;
            quota.FleetSize = FleetSize;
            quota.Leasing = true;
            if (quota.Active)
            {
                quota.Advance(window); // a new minute is leased for before its first request, not by it
            }

            if (!quota.WantsLease)
            {
                continue;
            }

            trips++;
            string key = string.Create(CultureInfo.InvariantCulture, $"{_root}{quota.Kind}:{quota.Endpoint.ToLowerInvariant()}:{window}");
            var reply = (RedisResult[])(await db.ScriptEvaluateAsync(FleetScripts.Lease, [key], [quota.Block, quota.Limit, 120_000]).ConfigureAwait(false))!;
            quota.Granted(window, (long)reply[0], fleetUsed: (long)reply[1]);
        }

        return trips;
    }

    /// <summary>Redis is unreachable: every quota falls back to this instance's share.</summary>
    public void FallBack(long nowUnixMs)
    {
        long window = Window(nowUnixMs);
        double share = Share;
        foreach (FleetQuota quota in quotas)
        {
            quota.FallbackShare = share;
            quota.FallBack(window);
        }
    }
}
