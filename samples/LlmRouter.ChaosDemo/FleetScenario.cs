namespace LlmRouter.ChaosDemo;

/// <summary>
/// The fleet comparison, scaled down to run on real time: several router instances over alpha (outages), bravo (a
/// requests-per-minute limit) and charlie (always up), with breaks short enough that every outage opens and recovers.
/// </summary>
/// <param name="Instances">Router instances of the fleet.</param>
/// <param name="Seed">Draws the outages and every instance's arrivals: the same seed gives both modes the same schedule.</param>
/// <param name="Duration">How long requests arrive, per mode.</param>
/// <param name="Outages">How many outages alpha has in that time, one per equal slot.</param>
/// <param name="RatePerInstance">Mean arrivals per second at each instance (Poisson).</param>
/// <param name="RequestsPerMinute">Bravo's limit, configured as its endpoint's <see cref="EndpointOptions.RequestsPerMinute"/>.</param>
internal sealed record FleetScenario(int Instances, int Seed, TimeSpan Duration, int Outages, double RatePerInstance, int RequestsPerMinute)
{
    /// <summary>Hard failures in a row that open an endpoint (<see cref="HealthOptions.FailureThreshold"/>).</summary>
    public const int FailureThreshold = 3;

    /// <summary>The demo's comparison: 24 s per mode, four outages of alpha, 20 requests per second per instance, bravo at 60 a minute.</summary>
    public static FleetScenario For(int instances, int seed) =>
        new(instances, seed, TimeSpan.FromSeconds(24), Outages: 4, RatePerInstance: 20, RequestsPerMinute: 60);

    /// <summary>Gets the stretch of the run holding one outage and the recovery after it.</summary>
    public TimeSpan Slot => Duration / Outages;

    /// <summary>Gets the first break of an opened endpoint: a sixth of a slot, so that an outage sees a failed probe or two before it ends.</summary>
    public TimeSpan BreakDuration => Slot / 6;

    /// <summary>Draws alpha's outages: in each slot, one fast-failing outage from 20–30% of the slot, lasting 35–50% of it.</summary>
    public List<FaultWindow> AlphaOutages()
    {
        var random = new Random(unchecked((Seed * 7919) + 0xf1ee7));
        var outages = new List<FaultWindow>(Outages);
        for (int k = 0; k < Outages; k++)
        {
            TimeSpan start = (Slot * k) + (Slot * (0.2 + (0.1 * random.NextDouble())));
            TimeSpan length = Slot * (0.35 + (0.15 * random.NextDouble()));
            outages.Add(new FaultWindow(FaultKind.OutageFast, start, start + length));
        }

        return outages;
    }
}
