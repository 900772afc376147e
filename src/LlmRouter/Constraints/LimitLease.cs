using System.Threading.RateLimiting;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>What one attempt took from its endpoint's limits, given back once when the attempt ends.</summary>
internal sealed class LimitLease
{
    private readonly EndpointLimits _limits;
    private readonly RateLimitLease? _concurrency;
    private readonly long _reserved;
    private readonly long _window;
    private readonly FleetQuota? _fleetTokens;
    private readonly long _fleetWindow;
    private int _returned;

    public LimitLease(EndpointLimits limits, RateLimitLease? concurrency, long reserved, long window, FleetQuota? fleetTokens = null, long fleetWindow = 0)
    {
        _fleetTokens = fleetTokens;
        _fleetWindow = fleetWindow;
        _limits = limits;
        _concurrency = concurrency;
        _reserved = reserved;
        _window = window;
    }

    /// <summary>Gives back the slot; the token reservation becomes the reported usage, or nothing when none was reported.</summary>
    public void Return(UsageDetails? usage)
    {
        if (Interlocked.Exchange(ref _returned, 1) != 0)
        {
            return;
        }

        long used = usage is null ? 0 : usage.TotalTokenCount ?? ((usage.InputTokenCount ?? 0) + (usage.OutputTokenCount ?? 0));
        _limits.Return(_concurrency, _reserved, used, _window, _fleetTokens, _fleetWindow);
    }
}
