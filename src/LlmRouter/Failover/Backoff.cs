namespace LlmRouter;

/// <summary>Exponential backoff with full jitter.</summary>
internal static class Backoff
{
    /// <summary>Retry <paramref name="retry"/> (from 0) waits <c>random × min(maxDelay, baseDelay × 2^retry)</c>.</summary>
    /// <param name="retry">How many retries came before this one.</param>
    /// <param name="baseDelay">The base delay.</param>
    /// <param name="maxDelay">The cap.</param>
    /// <param name="random">A uniform number in [0, 1).</param>
    public static TimeSpan FullJitter(int retry, TimeSpan baseDelay, TimeSpan maxDelay, double random)
    {
        double ceiling = Math.Min(maxDelay.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(retry, 30)));
        return TimeSpan.FromMilliseconds(ceiling * Math.Clamp(random, 0, 1));
    }
}
