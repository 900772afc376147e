namespace LlmRouter.Tests.TestSupport;

/// <summary>Seeded sources for <see cref="LlmRouterOptions.Randomizer"/>, so that a run is reproducible.</summary>
public static class SeededRandom
{
    /// <summary>A seeded uniform source in [0, 1) that may be called from many threads at once (<see cref="Random"/> alone may not).</summary>
    public static Func<double> Create(int seed)
    {
        var random = new Random(seed);
        var gate = new object();
        return () =>
        {
            lock (gate)
            {
                return random.NextDouble();
            }
        };
    }
}
