namespace LlmRouter;

/// <summary><see cref="RoutingStrategy.WeightedRandom"/>: a weighted draw without replacement.</summary>
/// <remarks>
/// Each endpoint draws an exponential "arrival time" with rate equal to its weight; ordering by arrival gives the
/// first place to endpoint <c>i</c> with probability <c>wᵢ / Σw</c>, and the rest in a weighted order too. An endpoint
/// of weight 0 always comes after every weighted one.
/// </remarks>
internal sealed class WeightedRandomRoutingStrategy : IRoutingStrategy
{
    private const int StackLimit = 64;
    private readonly Func<double> _random;

    public WeightedRandomRoutingStrategy(Func<double> random) => _random = random;

    public void Order(Span<RouterEndpoint> candidates)
    {
        if (candidates.Length < 2)
        {
            return;
        }

        Span<double> keys = candidates.Length <= StackLimit ? stackalloc double[candidates.Length] : new double[candidates.Length];
        for (int i = 0; i < candidates.Length; i++)
        {
            double weight = candidates[i].Options.Weight;
            keys[i] = weight > 0
                ? -Math.Log(1.0 - _random()) / weight
                : double.PositiveInfinity;
        }

        keys.Sort(candidates);
    }
}
