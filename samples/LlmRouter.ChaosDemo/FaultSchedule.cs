namespace LlmRouter.ChaosDemo;

/// <summary>Draws each provider's fault windows for a run: the same seed gives the same month of trouble.</summary>
internal static class FaultSchedule
{
    /// <summary>The share of the month a provider is down in the outage scenarios: about 1%, as the industry table assumes.</summary>
    public const double OutageShare = 0.01;

    public static List<FaultWindow> For(int providerIndex, ChaosOptions options)
    {
        var random = new Random(unchecked((options.Seed * 7919) + (providerIndex * 104729) + 0x5eed));
        TimeSpan total = TimeSpan.FromDays(options.Days);
        var windows = new List<FaultWindow>();
        bool mixed = options.Scenario == Scenario.Mixed;

        if (mixed || options.Scenario == Scenario.Outages)
        {
            // About eight outages a month, of random lengths adding up to 1% of the time.
            int count = Math.Max(1, (int)Math.Round(options.Days * 8 / 30.0));
            double[] weights = [.. Enumerable.Range(0, count).Select(_ => 0.2 + random.NextDouble())];
            double budgetMinutes = total.TotalMinutes * OutageShare;
            foreach (double weight in weights)
            {
                TimeSpan length = TimeSpan.FromMinutes(budgetMinutes * weight / weights.Sum());
                TimeSpan start = TimeSpan.FromMinutes(random.NextDouble() * (total - length).TotalMinutes);
                windows.Add(new FaultWindow(random.NextDouble() < 0.6 ? FaultKind.OutageFast : FaultKind.OutageHang, start, start + length));
            }
        }

        if (mixed || options.Scenario == Scenario.Brownouts)
        {
            // About two brownouts a week: latency ×5–10 for 10–40 minutes.
            int count = Math.Max(1, (int)Math.Round(options.Days * 2 / 7.0));
            for (int i = 0; i < count; i++)
            {
                TimeSpan length = TimeSpan.FromMinutes(10 + (30 * random.NextDouble()));
                TimeSpan start = TimeSpan.FromMinutes(random.NextDouble() * (total - length).TotalMinutes);
                windows.Add(new FaultWindow(FaultKind.Brownout, start, start + length, 5 + (5 * random.NextDouble())));
            }
        }

        if (mixed || options.Scenario == Scenario.RateLimits)
        {
            // Two bursts a day: 70% of calls refused with 429 for 1–5 minutes.
            int count = Math.Max(1, options.Days * 2);
            for (int i = 0; i < count; i++)
            {
                TimeSpan length = TimeSpan.FromMinutes(1 + (4 * random.NextDouble()));
                TimeSpan start = TimeSpan.FromMinutes(random.NextDouble() * (total - length).TotalMinutes);
                windows.Add(new FaultWindow(FaultKind.RateLimit, start, start + length, 0.7));
            }
        }

        windows.Sort(static (a, b) => a.Start.CompareTo(b.Start));
        return windows;
    }
}
