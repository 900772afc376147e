namespace LlmRouter;

/// <summary>
/// One endpoint's per-minute limit (requests or tokens) held for the whole fleet, admitted locally: the request path
/// takes from a local allowance (no Redis); the fleet mirror leases blocks of the minute's quota from an atomic Redis
/// counter in the background, and never more than the limit in total.
/// </summary>
/// <remarks>
/// Windows are wall-clock minutes (Unix minute on the router's clock), the same at every instance. When Redis is
/// unreachable, the allowance of each new minute is this instance's share: the limit divided by the last known fleet
/// size (or a configured share), so the fleet stays near its limit without Redis.
/// Connected, the fleet never exceeds the limit in a minute; what an instance leased but did not use is lost with
/// the minute (at most one block per instance). In the minute Redis fails, each instance may add its share on top of
/// its leases: that minute's overshoot is at most the limit.
/// </remarks>
internal sealed class FleetQuota
{
    private readonly object _gate = new();
    private long _window = -1;
    private long _allowance;
    private long _leased;
    private long _fleetUsed;
    private bool _exhausted;
    private int _wanted;
    private bool _active;

    private long _limit;

    public FleetQuota(string endpoint, string kind, long limit)
    {
        Endpoint = endpoint;
        Kind = kind;
        _limit = limit;
    }

    public string Endpoint { get; }

    /// <summary>Gets the key part naming the limit: "rpm" or "tpm".</summary>
    public string Kind { get; }

    /// <summary>Gets or sets the fleet's limit per minute; the endpoint limits set it again when the endpoint's options change.</summary>
    public long Limit
    {
        get => Volatile.Read(ref _limit);
        set => Volatile.Write(ref _limit, value);
    }

    /// <summary>Gets or sets the fleet's size at the last heartbeat (at least 1), which sizes the blocks.</summary>
    public int FleetSize { get; set; } = 1;

    /// <summary>
    /// Gets how much one lease asks for: a twentieth of the limit, or a quarter of an even split when the fleet has more
    /// than 5 instances (at least 1). What an instance leased and did not use is lost with the minute, so the blocks
    /// shrink as the fleet grows: at most a quarter of the limit is ever stranded, never the whole of it.
    /// </summary>
    public long Block => Math.Max(1, Limit / Math.Max(20, 4L * Math.Max(1, FleetSize)));

    /// <summary>Gets or sets what to call when a request found the allowance short, so that the background loop leases at once.</summary>
    public Action? Starved { get; set; }

    /// <summary>Gets a value indicating whether any request has used the quota: leasing starts with the first, so an unused quota costs Redis nothing.</summary>
    public bool Active
    {
        get
        {
            lock (_gate)
            {
                return _active;
            }
        }
    }

    /// <summary>Gets or sets a value indicating whether the allowance comes from leases (connected) or from this instance's share (disconnected).</summary>
    public bool Leasing { get; set; }

    /// <summary>Gets or sets this instance's share of the limit while Redis is unreachable, in (0, 1].</summary>
    public double FallbackShare { get; set; } = 1;

    /// <summary>Gets a value indicating whether the background loop should lease now (allowance low or a request was turned away).</summary>
    public bool WantsLease
    {
        get
        {
            lock (_gate)
            {
                return _active && Leasing && !_exhausted && (_wanted != 0 || _allowance <= Block / 2);
            }
        }
    }

    /// <summary>Gets the allowance left in the current minute, for snapshots.</summary>
    public long Allowance
    {
        get
        {
            lock (_gate)
            {
                return _allowance;
            }
        }
    }

    /// <summary>Takes <paramref name="units"/> from the local allowance; false (and a lease asked for) when it has not enough.</summary>
    /// <param name="units">1 for a request, the reservation for tokens.</param>
    /// <param name="window">The current Unix minute.</param>
    public bool TryTake(long units, long window) => Take(units, window, take: true);

    /// <summary>Whether the local allowance has <paramref name="units"/>, without taking them; when it has not, asks for a lease as <see cref="TryTake"/> does.</summary>
    public bool HasRoom(long units, long window) => Take(units, window, take: false);

    /// <summary>Charges usage reported above what was taken (a token reservation that was too low), within the same minute; the allowance may go below zero.</summary>
    public void Charge(long units, long window)
    {
        lock (_gate)
        {
            if (window == _window && units > 0)
            {
                _allowance -= units;
            }
        }
    }

    /// <summary>Moves to <paramref name="window"/> if it is a new minute, so that the background loop leases for it before requests ask.</summary>
    public void Advance(long window)
    {
        lock (_gate)
        {
            if (window > _window)
            {
                Roll(window);
            }
        }
    }

    private bool Take(long units, long window, bool take)
    {
        units = Math.Min(units, Limit); // one request larger than the limit still passes alone, as locally
        lock (_gate)
        {
            _active = true;
            Roll(window);
            if (_allowance >= units)
            {
                if (take)
                {
                    _allowance -= units;
                }

                return true;
            }

            _wanted = Leasing && !_exhausted ? 1 : 0;
        }

        if (_wanted != 0)
        {
            Starved?.Invoke();
        }

        return false;
    }

    /// <summary>Returns units taken but not used (a token reservation above the reported usage), within the same minute.</summary>
    public void Return(long units, long window)
    {
        lock (_gate)
        {
            if (window == _window && units > 0)
            {
                _allowance += units;
            }
        }
    }

    /// <summary>
    /// Gets what this instance may still admit this minute as far as it knows: its allowance, plus, while leasing, what
    /// the fleet had not leased yet at the last lease. For snapshots; admission uses the allowance alone.
    /// </summary>
    public long Left(long window)
    {
        lock (_gate)
        {
            if (window != _window)
            {
                return Leasing ? Limit : (long)Math.Ceiling(Limit * FallbackShare);
            }

            return Math.Max(0, _allowance + (Leasing ? Math.Max(0, Limit - _fleetUsed) : 0));
        }
    }

    /// <summary>Adds what a lease granted for <paramref name="window"/>; a grant of 0 means the fleet's limit is reached for the minute.</summary>
    /// <param name="window">The Unix minute leased for.</param>
    /// <param name="granted">The units granted.</param>
    /// <param name="fleetUsed">The fleet's total leased in that minute, this grant included; -1 when not known.</param>
    public void Granted(long window, long granted, long fleetUsed = -1)
    {
        lock (_gate)
        {
            Roll(window);
            if (window != _window)
            {
                return;
            }

            _wanted = 0;
            _fleetUsed = Math.Max(_fleetUsed, fleetUsed);
            _allowance += granted;
            _leased += granted;
            _exhausted |= granted < Block;
        }
    }

    private void Roll(long window)
    {
        if (window == _window)
        {
            return;
        }

        _window = window;
        _leased = 0;
        _fleetUsed = 0;
        _exhausted = false;
        _wanted = 0;
        _allowance = Leasing ? 0 : (long)Math.Ceiling(Limit * FallbackShare);
    }

    /// <summary>Switches to this instance's share for the rest of the minute: what it leased stays, up to the share.</summary>
    public void FallBack(long window)
    {
        lock (_gate)
        {
            Leasing = false;
            if (window != _window)
            {
                Roll(window); // a fresh minute: the share
                return;
            }

            long share = (long)Math.Ceiling(Limit * FallbackShare);
            long used = _leased - _allowance;
            _allowance = Math.Max(_allowance, share - used);
        }
    }
}
