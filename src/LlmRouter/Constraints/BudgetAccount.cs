namespace LlmRouter;

/// <summary>
/// The spending of one tenant or endpoint in the current UTC hour, day and month. Each period starts again from zero
/// when the clock enters a new one; reads and writes take a lock private to the account, never held across I/O.
/// </summary>
/// <remarks>
/// In fleet mode the mirror pushes what was spent here since its last push (<see cref="TakeDelta"/>) to a Redis counter
/// per period, and keeps the fleet's total it gets back (<see cref="ApplyFleetTotal"/>): what was spent is then the
/// fleet's total as last known plus what was spent here and not pushed yet. Without Redis (never connected) it is what
/// was spent here; Redis lost, it is the last known fleet total plus what was spent here since.
/// </remarks>
internal sealed class BudgetAccount
{
    private const int Periods = 3;
    private const decimal Micro = 1_000_000m;
    private readonly object _gate = new();
    private readonly long[] _periodIndex = [long.MinValue, long.MinValue, long.MinValue];
    private readonly decimal[] _spent = new decimal[Periods];
    private readonly decimal[] _unpushed = new decimal[Periods];
    private readonly decimal[] _fleetTotal = new decimal[Periods];
    private readonly bool[] _fleetKnown = new bool[Periods];

    public BudgetAccount(string scope, string name)
    {
        Scope = scope;
        Name = name;
    }

    /// <summary>Gets <c>"tenant"</c> or <c>"endpoint"</c>.</summary>
    public string Scope { get; }

    public string Name { get; }

    /// <summary>Adds <paramref name="cost"/> to every period that contains <paramref name="utcNow"/>.</summary>
    public void Add(decimal cost, DateTimeOffset utcNow)
    {
        if (cost <= 0)
        {
            return;
        }

        lock (_gate)
        {
            for (int p = 0; p < Periods; p++)
            {
                Roll(p, IndexOf((BudgetPeriod)p, utcNow));
                _spent[p] += cost;
                _unpushed[p] += cost;
            }
        }
    }

    /// <summary>Fleet mode: what to push for the period of kind <paramref name="period"/> containing <paramref name="utcNow"/>, in millionths, and that period's index.</summary>
    /// <remarks>The delta stays counted here until <see cref="ApplyFleetTotal"/> confirms it; a remainder below a millionth waits for the next push.</remarks>
    /// <param name="period">The period.</param>
    /// <param name="utcNow">The time.</param>
    /// <param name="index">The period's index.</param>
    /// <param name="floor">The fleet's total as last known, in millionths (0 when not known): a Redis that lost the counter (restarted) starts again from it.</param>
    public long TakeDelta(BudgetPeriod period, DateTimeOffset utcNow, out long index, out long floor)
    {
        int p = (int)period;
        index = IndexOf(period, utcNow);
        lock (_gate)
        {
            Roll(p, index);
            floor = _fleetKnown[p] ? (long)decimal.Truncate(_fleetTotal[p] * Micro) : 0;
            return (long)decimal.Truncate(_unpushed[p] * Micro);
        }
    }

    /// <summary>Fleet mode: <paramref name="pushed"/> millionths reached Redis, whose total for the period is now <paramref name="total"/> millionths.</summary>
    public void ApplyFleetTotal(BudgetPeriod period, long index, long pushed, long total)
    {
        int p = (int)period;
        lock (_gate)
        {
            if (_periodIndex[p] != index)
            {
                return; // the period ended meanwhile: its count is moot
            }

            _unpushed[p] -= pushed / Micro;
            _fleetTotal[p] = total / Micro;
            _fleetKnown[p] = true;
        }
    }

    /// <summary>What was spent in the period of kind <paramref name="period"/> that contains <paramref name="utcNow"/>.</summary>
    public decimal Spent(BudgetPeriod period, DateTimeOffset utcNow)
    {
        long index = IndexOf(period, utcNow);
        lock (_gate)
        {
            int p = (int)period;
            return _periodIndex[p] != index ? 0 : _fleetKnown[p] ? _fleetTotal[p] + _unpushed[p] : _spent[p];
        }
    }

    /// <summary>The first cap of <paramref name="caps"/> that is spent, if any; and whether any passed <paramref name="softThreshold"/>.</summary>
    public BudgetPeriod? FirstExceeded(BudgetOptions caps, DateTimeOffset utcNow, double softThreshold, out bool pastSoft)
    {
        pastSoft = false;
        for (int p = 0; p < Periods; p++)
        {
            var period = (BudgetPeriod)p;
            if (caps.CapOf(period) is not { } cap)
            {
                continue;
            }

            decimal spent = Spent(period, utcNow);
            if (spent >= cap)
            {
                pastSoft = true;
                return period;
            }

            pastSoft |= spent >= cap * (decimal)softThreshold;
        }

        return null;
    }

    /// <summary>The status of every cap set in <paramref name="caps"/>.</summary>
    public IEnumerable<BudgetStatus> Statuses(BudgetOptions caps, DateTimeOffset utcNow, double softThreshold)
    {
        for (int p = 0; p < Periods; p++)
        {
            var period = (BudgetPeriod)p;
            if (caps.CapOf(period) is { } cap)
            {
                yield return Status(period, cap, utcNow, softThreshold);
            }
        }
    }

    public BudgetStatus Status(BudgetPeriod period, decimal cap, DateTimeOffset utcNow, double softThreshold)
    {
        decimal spent = Spent(period, utcNow);
        (DateTimeOffset start, DateTimeOffset end) = Bounds(period, utcNow);
        return new BudgetStatus(Scope, Name, period, start, end, spent, cap, spent >= cap * (decimal)softThreshold);
    }

    /// <summary>The UTC start and end of the period of kind <paramref name="period"/> that contains <paramref name="utcNow"/>.</summary>
    public static (DateTimeOffset Start, DateTimeOffset End) Bounds(BudgetPeriod period, DateTimeOffset utcNow)
    {
        DateTime utc = utcNow.UtcDateTime;
        DateTime start = period switch
        {
            BudgetPeriod.Hour => new DateTime(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, DateTimeKind.Utc),
            BudgetPeriod.Day => utc.Date,
            _ => new DateTime(utc.Year, utc.Month, 1, 0, 0, 0, DateTimeKind.Utc),
        };
        DateTime end = period switch
        {
            BudgetPeriod.Hour => start.AddHours(1),
            BudgetPeriod.Day => start.AddDays(1),
            _ => start.AddMonths(1),
        };
        return (new DateTimeOffset(start), new DateTimeOffset(end));
    }

    /// <summary>Moves period <paramref name="p"/> to <paramref name="index"/> if it is a new one; under <see cref="_gate"/>.</summary>
    private void Roll(int p, long index)
    {
        if (_periodIndex[p] != index)
        {
            _periodIndex[p] = index;
            _spent[p] = 0;
            _unpushed[p] = 0;
            _fleetTotal[p] = 0;
            _fleetKnown[p] = false;
        }
    }

    internal static long IndexOf(BudgetPeriod period, DateTimeOffset utcNow)
    {
        DateTime utc = utcNow.UtcDateTime;
        return period switch
        {
            BudgetPeriod.Hour => utc.Ticks / TimeSpan.TicksPerHour,
            BudgetPeriod.Day => utc.Ticks / TimeSpan.TicksPerDay,
            _ => (utc.Year * 12L) + utc.Month - 1,
        };
    }
}
