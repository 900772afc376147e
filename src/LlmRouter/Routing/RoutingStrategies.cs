namespace LlmRouter;

/// <summary>The named strategies of one router, created once; the current options pick one per request.</summary>
internal sealed class RoutingStrategies
{
    private readonly IRoutingStrategy _score;
    private readonly IRoutingStrategy _ordered = new OrderedRoutingStrategy();
    private readonly IRoutingStrategy _weightedRandom;
    private readonly IRoutingStrategy _lowestLatency;
    private readonly IRoutingStrategy _lowestCost;
    private readonly IRoutingStrategy _leastBusy = new LeastBusyRoutingStrategy();

    public RoutingStrategies(RouterRuntime runtime, IEndpointScorer? scorer)
    {
        _score = new ScoreRoutingStrategy(runtime, scorer);
        _weightedRandom = new WeightedRandomRoutingStrategy(runtime.Random);
        _lowestLatency = new LowestLatencyRoutingStrategy(runtime);
        _lowestCost = new LowestCostRoutingStrategy(runtime);
    }

    public IRoutingStrategy For(RoutingStrategy strategy) => strategy switch
    {
        RoutingStrategy.Ordered => _ordered,
        RoutingStrategy.WeightedRandom => _weightedRandom,
        RoutingStrategy.LowestLatency => _lowestLatency,
        RoutingStrategy.LowestCost => _lowestCost,
        RoutingStrategy.LeastBusy => _leastBusy,
        _ => _score,
    };
}
