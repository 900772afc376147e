using System.Runtime.CompilerServices;
using System.Threading.RateLimiting;

namespace LlmRouter;

/// <summary>
/// An endpoint's proactive limits: requests per minute and concurrency on System.Threading.RateLimiting, tokens per
/// minute as a reservation counter, all on the router's clock.
/// </summary>
/// <remarks>
/// The library's limiters replenish on their own timers; ours are created with auto-replenishment off and rolled over
/// by the router's <see cref="TimeProvider"/>, so virtual time in tests moves them. Tokens per minute are counted here
/// rather than with a token bucket because a lease cannot be corrected once taken: an attempt reserves its estimate,
/// and the reservation is corrected to the reported usage (or released) when the attempt ends.
/// <para>
/// Every request asks every candidate's limits whether they have room, far more often than attempts take from them.
/// Only an acquire (or new limits) can take room away: releases and a new minute only add to it. So once the limiters
/// were seen to have room, the answer holds until the next acquire, and <see cref="AtLimit"/> skips the clock and the
/// limiters until then; the token count, which depends on the request, is still checked every time.
/// </para>
/// <para>
/// In fleet mode (<see cref="AttachFleet"/>) the requests and tokens per minute are also taken from the fleet's quotas,
/// leased from Redis in the background: admission stays local. A quota's room, too, is taken away only by an acquire,
/// with one exception: a new wall-clock minute starts with no allowance until its first lease arrives. A "room" kept
/// across that moment is corrected by the acquire, which fails (the attempt goes to the next endpoint) and bumps the
/// version; it never admits past a quota.
/// </para>
/// </remarks>
internal sealed class EndpointLimits : IDisposable
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly long _window;
    private EndpointOptions? _configuredFrom;
    private FixedWindowRateLimiter? _requests;
    private ConcurrencyLimiter? _concurrency;
    private int _requestLimit;
    private int _tokenLimit;
    private int _concurrencyLimit;
    private long _windowStart;
    private long _windowNumber;
    private long _tokensUsed;
    private TaskCompletionSource? _released;
    private string _requestsReached = string.Empty;
    private string _tokensReached = string.Empty;
    private string _concurrencyReached = string.Empty;
    private string _fleetRequestsReached = string.Empty;
    private string _fleetTokensReached = string.Empty;
    private string _fleetConcurrencyReached = string.Empty;
    private FleetQuota? _fleetRequests;
    private FleetQuota? _fleetTokens;

    /// <summary>Fleet mode: this instance's share of <see cref="EndpointOptions.MaxConcurrency"/>; 0 when it is not shared.</summary>
    private double _concurrencyShare;

    /// <summary>The slots this instance may hold under its share; 0 when the limit is not shared.</summary>
    private int _fleetConcurrencyCap;

    /// <summary>Slots held (taken from the concurrency limiter and not yet given back), counted for the fleet's share.</summary>
    private int _inFlight;

    /// <summary>Counts acquires and reconfigurations: each may take room away.</summary>
    private long _version;

    /// <summary>The <see cref="_version"/> at which the rate and concurrency limiters were last seen to have room; -1 when not known.</summary>
    private long _roomVersion = -1;

    public EndpointLimits(TimeProvider time)
    {
        _time = time;
        _window = time.TimestampFrequency * 60;
        _windowStart = time.GetTimestamp();
    }

    /// <summary>Gets a value indicating whether the endpoint has any limit.</summary>
    public bool Any { get; private set; }

    public bool HasTokenLimit => _tokenLimit > 0;

    /// <summary>
    /// Fleet mode: the requests and tokens per minute are also held for the whole fleet, by quotas the fleet mirror
    /// leases in the background. The endpoint is at its limit when its local limiter or its fleet quota has no room;
    /// both are admitted locally, the request path never waits for Redis. Null detaches them.
    /// </summary>
    public void AttachFleet(FleetQuota? requests, FleetQuota? tokens)
    {
        lock (_gate)
        {
            _fleetRequests = requests;
            _fleetTokens = tokens;
            SyncFleetLimits();
            _ = Interlocked.Increment(ref _version); // the quotas may have no room
        }
    }

    /// <summary>
    /// Fleet mode: <see cref="EndpointOptions.MaxConcurrency"/> is the fleet's, and this instance holds at most
    /// max(1, ⌊MaxConcurrency × <paramref name="share"/>⌋) slots at once; null stops sharing it. Slots already held
    /// stay held: a smaller share turns new attempts away until enough of them ended.
    /// </summary>
    public void SetFleetConcurrencyShare(double? share)
    {
        lock (_gate)
        {
            _concurrencyShare = share ?? 0;
            SyncFleetLimits();
            _ = Interlocked.Increment(ref _version); // a smaller share may leave no room
        }
    }

    /// <summary>Re-reads the limits when the endpoint's options object changed.</summary>
    public void Configure(EndpointOptions options)
    {
        // Called for every candidate of every request: the unchanged case stays small enough to inline.
        if (!ReferenceEquals(Volatile.Read(ref _configuredFrom), options))
        {
            Reconfigure(options);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Reconfigure(EndpointOptions options)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_configuredFrom, options))
            {
                return;
            }

            // The previous limiters are dropped, not disposed: attempts running may still hold and return their leases.
            _requestLimit = options.RequestsPerMinute ?? 0;
            _tokenLimit = options.TokensPerMinute ?? 0;
            _concurrencyLimit = options.MaxConcurrency ?? 0;
            _requestsReached = $"RequestsPerMinute ({_requestLimit}) reached";
            _tokensReached = $"TokensPerMinute ({_tokenLimit}) reached";
            _concurrencyReached = $"MaxConcurrency ({_concurrencyLimit}) reached";
            SyncFleetLimits();
            _requests = NewRequestWindow();
            _concurrency = options.MaxConcurrency is { } max
                ? new ConcurrencyLimiter(new() { PermitLimit = max, QueueLimit = 0 })
                : null;
            Any = _requests is not null || _concurrency is not null || _tokenLimit > 0;
            _ = Interlocked.Increment(ref _version); // lower limits may leave no room
            Volatile.Write(ref _configuredFrom, options);
        }
    }

    /// <summary>The limit the endpoint is at for a request of <paramref name="tokens"/> tokens, or null when it has room.</summary>
    public string? AtLimit(long tokens)
    {
        // A window that had room when last seen, with nothing acquired since, still has it (a token count that does not
        // fit may fit in a new minute: that one takes the full check).
        if (Volatile.Read(ref _roomVersion) == Volatile.Read(ref _version) && (_tokenLimit <= 0 || TokensFit(tokens)))
        {
            return null;
        }

        return CheckLimits(tokens);
    }

    /// <summary>Takes one request, the token estimate and a concurrency slot; null (and nothing taken) when any limit is reached.</summary>
    public LimitLease? TryAcquire(long tokens)
    {
        LimitLease? lease = Acquire(tokens);

        // After the limiters were touched: a check that saw them before or during this acquire does not keep its "room".
        _ = Interlocked.Increment(ref _version);
        return lease;
    }

    private LimitLease? Acquire(long tokens)
    {
        Roll();
        RateLimitLease? concurrency = null;
        if (_concurrency is { } limiter)
        {
            concurrency = limiter.AttemptAcquire(1);
            if (!concurrency.IsAcquired)
            {
                concurrency.Dispose();
                return null;
            }

            int cap = Volatile.Read(ref _fleetConcurrencyCap);
            if (Interlocked.Increment(ref _inFlight) > cap && cap > 0)
            {
                ReleaseSlot(concurrency);
                return null;
            }
        }

        long window;
        long fleetWindow = 0;
        FleetQuota? fleetTokens = null;
        lock (_gate)
        {
            if (_tokenLimit > 0 && !TokensFit(tokens))
            {
                ReleaseSlot(concurrency);
                return null;
            }

            // The fleet's quotas first: units taken from them can be given back, a local request permit cannot.
            FleetQuota? fleetRequests = _requestLimit > 0 ? _fleetRequests : null;
            fleetTokens = _tokenLimit > 0 ? _fleetTokens : null;
            if (fleetRequests is not null || fleetTokens is not null)
            {
                fleetWindow = FleetWindow();
                if (fleetRequests is not null && !fleetRequests.TryTake(1, fleetWindow))
                {
                    ReleaseSlot(concurrency);
                    return null;
                }

                if (fleetTokens is not null && !fleetTokens.TryTake(tokens, fleetWindow))
                {
                    fleetRequests?.Return(1, fleetWindow);
                    ReleaseSlot(concurrency);
                    return null;
                }

                if (_requests is { } local && !IsAcquired(local.AttemptAcquire(1)))
                {
                    fleetRequests?.Return(1, fleetWindow);
                    fleetTokens?.Return(tokens, fleetWindow);
                    ReleaseSlot(concurrency);
                    return null;
                }
            }
            else if (_requests is { } requests && !IsAcquired(requests.AttemptAcquire(1)))
            {
                ReleaseSlot(concurrency);
                return null;
            }

            if (_tokenLimit > 0)
            {
                _tokensUsed += tokens;
            }

            window = _windowNumber;
        }

        return new LimitLease(this, concurrency, _tokenLimit > 0 ? tokens : 0, window, fleetTokens, fleetWindow);
    }

    /// <summary>Gets the requests left in the current minute; null without that limit.</summary>
    /// <remarks>In fleet mode, no more than the fleet's quota leaves this instance, as far as it knows (<see cref="FleetQuota.Left"/>).</remarks>
    public int? RequestsLeft
    {
        get
        {
            Roll();
            if (Volatile.Read(ref _requests)?.GetStatistics()?.CurrentAvailablePermits is not { } left)
            {
                return null;
            }

            return Volatile.Read(ref _fleetRequests) is { } fleet ? (int)Math.Min(left, fleet.Left(FleetWindow())) : (int)left;
        }
    }

    /// <summary>Gets the tokens left in the current minute; null without that limit.</summary>
    public long? TokensLeft
    {
        get
        {
            Roll();
            if (_tokenLimit <= 0)
            {
                return null;
            }

            long left = Math.Max(0, _tokenLimit - Volatile.Read(ref _tokensUsed));
            return Volatile.Read(ref _fleetTokens) is { } fleet ? Math.Min(left, fleet.Left(FleetWindow())) : left;
        }
    }

    /// <summary>Gets the free concurrency slots; null without that limit.</summary>
    /// <remarks>In fleet mode, the slots left under this instance's share of the limit.</remarks>
    public int? ConcurrencyLeft
    {
        get
        {
            if (_concurrency?.GetStatistics()?.CurrentAvailablePermits is not { } left)
            {
                return null;
            }

            int cap = Volatile.Read(ref _fleetConcurrencyCap);
            return cap > 0 ? (int)Math.Min(left, Math.Max(0, cap - Volatile.Read(ref _inFlight))) : (int)left;
        }
    }

    /// <summary>Gets when (a timestamp) the current minute ends.</summary>
    public long WindowEndsAt => Volatile.Read(ref _windowStart) + _window;

    /// <summary>A task that completes when a slot or a reservation is given back.</summary>
    public Task Released
    {
        get
        {
            lock (_gate)
            {
                return (_released ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
        }
    }

    public void Dispose()
    {
        _requests?.Dispose();
        _concurrency?.Dispose();
        _ = Interlocked.Increment(ref _version);
    }

    /// <summary>Gives back a concurrency slot and corrects the token reservation to what was used, if still in the same minute (the fleet's quota as well).</summary>
    internal void Return(RateLimitLease? concurrency, long reserved, long used, long window, FleetQuota? fleetTokens, long fleetWindow)
    {
        ReleaseSlot(concurrency);
        if (fleetTokens is not null && reserved > 0)
        {
            if (used < reserved)
            {
                fleetTokens.Return(reserved - used, fleetWindow);
            }
            else
            {
                fleetTokens.Charge(used - reserved, fleetWindow);
            }
        }

        TaskCompletionSource? released;
        lock (_gate)
        {
            if (reserved > 0 && window == _windowNumber)
            {
                _tokensUsed = Math.Max(0, _tokensUsed - reserved + used);
            }

            released = _released;
            _released = null;
        }

        released?.TrySetResult();
    }

    /// <summary>The full check, on the router's clock; remembers when the rate and concurrency limiters have room.</summary>
    private string? CheckLimits(long tokens)
    {
        // Read before the limiters: an acquire that lands meanwhile bumps the version past it, and the room is not kept.
        long version = Volatile.Read(ref _version);
        Roll();
        if (Volatile.Read(ref _requests) is { } requests && !IsAcquired(requests.AttemptAcquire(0)))
        {
            return _requestsReached;
        }

        if (_tokenLimit > 0 && !TokensFit(tokens))
        {
            return _tokensReached;
        }

        FleetQuota? fleetRequests = _requestLimit > 0 ? Volatile.Read(ref _fleetRequests) : null;
        FleetQuota? fleetTokens = _tokenLimit > 0 ? Volatile.Read(ref _fleetTokens) : null;
        if (fleetRequests is not null || fleetTokens is not null)
        {
            long fleetWindow = FleetWindow();
            if (fleetRequests is not null && !fleetRequests.HasRoom(1, fleetWindow))
            {
                return _fleetRequestsReached;
            }

            if (fleetTokens is not null && !fleetTokens.HasRoom(tokens, fleetWindow))
            {
                return _fleetTokensReached;
            }
        }

        if (_concurrency is { } concurrency && !IsAcquired(concurrency.AttemptAcquire(0)))
        {
            return _concurrencyReached;
        }

        if (Volatile.Read(ref _fleetConcurrencyCap) is > 0 and int cap && Volatile.Read(ref _inFlight) >= cap && _concurrency is not null)
        {
            return _fleetConcurrencyReached;
        }

        Volatile.Write(ref _roomVersion, version);
        return null;
    }

    private bool TokensFit(long tokens)
    {
        long used = Volatile.Read(ref _tokensUsed);
        return used == 0 || used + tokens <= _tokenLimit; // one request larger than the limit still passes alone
    }

    private void Roll()
    {
        long now = _time.GetTimestamp();
        if (now - Volatile.Read(ref _windowStart) < _window)
        {
            return;
        }

        lock (_gate)
        {
            long elapsed = now - _windowStart;
            if (elapsed < _window)
            {
                return;
            }

            _windowStart += elapsed / _window * _window;
            _windowNumber++;
            _tokensUsed = 0;

            // A fresh window rather than TryReplenish, which measures the window on the real clock. Without
            // auto-replenishment the old limiter holds no timer; a reader that still has it sees a full window at worst.
            Volatile.Write(ref _requests, NewRequestWindow());
        }
    }

    /// <summary>The fleet's windows are wall-clock Unix minutes, the same at every instance (the local ones start with the router).</summary>
    private long FleetWindow() => FleetQuotaLeaser.Window(_time.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>Keeps the fleet quotas' limits equal to the endpoint's; under <see cref="_gate"/>.</summary>
    private void SyncFleetLimits()
    {
        if (_fleetRequests is { } requests && _requestLimit > 0)
        {
            requests.Limit = _requestLimit;
        }

        if (_fleetTokens is { } tokens && _tokenLimit > 0)
        {
            tokens.Limit = _tokenLimit;
        }

        int cap = _concurrencyShare > 0 && _concurrencyLimit > 0 ? Math.Max(1, (int)Math.Floor(_concurrencyLimit * _concurrencyShare)) : 0;
        Volatile.Write(ref _fleetConcurrencyCap, cap);
        _fleetConcurrencyReached = $"MaxConcurrency ({_concurrencyLimit}) reached: this instance's share of the fleet's limit is {cap}";
        _fleetRequestsReached = $"RequestsPerMinute ({_requestLimit}) reached by the fleet";
        _fleetTokensReached = $"TokensPerMinute ({_tokenLimit}) reached by the fleet";
    }

    private FixedWindowRateLimiter? NewRequestWindow() => _requestLimit > 0
        ? new FixedWindowRateLimiter(new() { PermitLimit = _requestLimit, Window = TimeSpan.FromMinutes(1), AutoReplenishment = false, QueueLimit = 0 })
        : null;

    /// <summary>Gives back a slot taken from the concurrency limiter (and counted in <see cref="_inFlight"/>).</summary>
    private void ReleaseSlot(RateLimitLease? concurrency)
    {
        if (concurrency is not null)
        {
            concurrency.Dispose();
            _ = Interlocked.Decrement(ref _inFlight);
        }
    }

    private static bool IsAcquired(RateLimitLease lease)
    {
        bool acquired = lease.IsAcquired;
        lease.Dispose();
        return acquired;
    }
}
