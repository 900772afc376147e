namespace LlmRouter;

/// <summary>
/// The spending of one tenant or endpoint in the current UTC hour, day and month. Each period starts again from zero
/// when the clock enters a new one; reads and writes take a lock private to the account, never held across I/O.
/// </summary>
internal sealed class BudgetAccount
{
    private const int Periods = 3;
    private readonly object _gate = new();
    private readonly long[] _periodIndex = [long.MinValue, long.MinValue, long.MinValue];
    private readonly decimal[] _spent = new decimal[Periods];

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
                long index = IndexOf((BudgetPeriod)p, utcNow);
                if (_periodIndex[p] != index)
                {
                    _periodIndex[p] = index;
                    _spent[p] = 0;
                }

                _spent[p] += cost;
            }
        }
    }

    /// <summary>What was spent in the period of kind <paramref name="period"/> that contains <paramref name="utcNow"/>.</summary>
    public decimal Spent(BudgetPeriod period, DateTimeOffset utcNow)
    {
        long index = IndexOf(period, utcNow);
        lock (_gate)
        {
            return _periodIndex[(int)period] == index ? _spent[(int)period] : 0;
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

    private static long IndexOf(BudgetPeriod period, DateTimeOffset utcNow)
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
