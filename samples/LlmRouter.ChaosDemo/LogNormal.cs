namespace LlmRouter.ChaosDemo;

/// <summary>Draws the simulated providers' latencies: log-normal, exp(mu + sigma * z), with the median at exp(mu).</summary>
internal static class LogNormal
{
    /// <summary>One latency, in milliseconds, around <paramref name="medianMs"/>; the larger <paramref name="sigma"/>, the heavier the tail.</summary>
    public static double Sample(Random random, double medianMs, double sigma)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        double z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
        return medianMs * Math.Exp(sigma * z);
    }
}
