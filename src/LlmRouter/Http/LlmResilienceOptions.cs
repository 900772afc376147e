namespace LlmRouter;

/// <summary>Settings of the HTTP resilience handler added by <c>AddLlmResilienceHandler()</c> to a provider's <see cref="HttpClient"/>.</summary>
/// <remarks>
/// The handler deals with the connection only: a request that never reached the provider is tried again, briefly; an
/// HTTP attempt that takes far longer than any LLM answer is cut. Everything the provider answered (429, 5xx, 529) and
/// every slow answer is left to the router, which fails over instead of retrying in place.
/// </remarks>
public sealed class LlmResilienceOptions
{
    /// <summary>
    /// Gets or sets how long one HTTP attempt may take until its response headers (for a stream, until it starts).
    /// Default 10 minutes: a backstop sized for long non-streamed generations; the router's own
    /// <see cref="LlmRouterOptions.AttemptTimeout"/> and streaming timeouts decide first.
    /// </summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Gets or sets how many times a request that failed to connect (connection refused, name resolution) is tried
    /// again on the same provider. Default 1; 0 turns it off; at most 5. Nothing was sent, so nothing is billed twice.
    /// </summary>
    public int ConnectionRetries { get; set; } = 1;

    /// <summary>Gets or sets the base delay before a connection retry (exponential, with jitter). Default 100 ms.</summary>
    public TimeSpan ConnectionRetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Gets or sets a value indicating whether to log a warning when a request shows that the SDK above retried on its
    /// own (the Anthropic SDK's <c>x-stainless-retry-count</c> header). Default <see langword="true"/>.
    /// </summary>
    public bool WarnOnSdkRetries { get; set; } = true;
}
