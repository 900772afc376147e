namespace LlmRouter.ChaosDemo;

/// <summary>A simulated provider's 429, with the Retry-After it asks for (as an SDK would surface it).</summary>
internal sealed class RateLimitedException : Exception
{
    public RateLimitedException()
    {
    }

    public RateLimitedException(string message)
        : base(message)
    {
    }

    public RateLimitedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RateLimitedException(TimeSpan retryAfter)
        : base($"429 Too Many Requests; retry after {retryAfter.TotalSeconds:0} s.") => RetryAfter = retryAfter;

    public TimeSpan RetryAfter { get; }
}
