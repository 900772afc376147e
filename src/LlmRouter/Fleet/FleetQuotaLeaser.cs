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

        if (!any)
        {
            return 0; // no request has used a fleet limit yet: nothing to lease, no heartbeat
        }

        if (_lastHeartbeatUnixMs is not { } last || nowUnixMs - last >= heartbeatInterval.TotalMilliseconds)
        {
            _lastHeartbeatUnixMs = nowUnixMs;
            trips++;
            long size = (long)await db.ScriptEvaluateAsync(
                FleetScripts.Heartbeat,
                [_root + "members"],
                [nowUnixMs, instanceId, nowUnixMs - (long)MemberStaleAfter.TotalMilliseconds]).ConfigureAwait(false);
            FleetSize = (int)Math.Max(1, size);
        }

        long window = Window(nowUnixMs);
        double share = ConfiguredShare ?? (1.0 / FleetSize);
        foreach (FleetQuota quota in quotas)
        {
            quota.FallbackShare = share;
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
            long granted = (long)await db.ScriptEvaluateAsync(FleetScripts.Lease, [key], [quota.Block, quota.Limit, 120_000]).ConfigureAwait(false);
            quota.Granted(window, granted);
        }

        return trips;
    }

    /// <summary>Redis is unreachable: every quota falls back to this instance's share.</summary>
    public void FallBack(long nowUnixMs)
    {
        long window = Window(nowUnixMs);
        double share = ConfiguredShare ?? (1.0 / FleetSize);
        foreach (FleetQuota quota in quotas)
        {
            quota.FallbackShare = share;
            quota.FallBack(window);
        }
    }
}
