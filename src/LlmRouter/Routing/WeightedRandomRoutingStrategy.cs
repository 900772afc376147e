namespace LlmRouter;

/// <summary><see cref="RoutingStrategy.WeightedRandom"/>: a weighted draw without replacement.</summary>
/// <remarks>
/// Each endpoint draws an exponential "arrival time" with rate equal to its weight; ordering by arrival gives the
/// first place to endpoint <c>i</c> with probability <c>wᵢ / Σw</c>, and the rest in a weighted order too. An endpoint
/// of weight 0 always comes after every weighted one.
/// </remarks>
internal sealed class WeightedRandomRoutingStrategy : IRoutingStrategy
{
    private readonly Func<double> _random;

    public WeightedRandomRoutingStrategy(Func<double> random) => _random = random;

    public string Criterion => "weighted random draw";

    public bool Explores => false;

    public SteadyRanking Steady => SteadyRanking.Never;

    public void Rank(Span<CandidateEntry> candidates, in RoutingRequest request)
    {
        foreach (ref CandidateEntry candidate in candidates)
        {
            double weight = candidate.Endpoint.Options.Weight;
            candidate.Key = weight > 0 ? -Math.Log(1.0 - _random()) / weight : double.PositiveInfinity;
        }
    }
}
