namespace LlmRouter;

/// <summary>The response cache: identical requests answered from memory, and optionally from a distributed cache shared by a fleet.</summary>
/// <remarks>
/// Off by default: a cache changes what callers get (the same answer for the same request, whatever the temperature).
/// Errors, content-filtered answers, streams that did not complete and requests that depend on provider-held state are
/// never cached; answers with tool calls only when <see cref="CacheToolCalls"/> is set.
/// </remarks>
public sealed class CacheOptions
{
    /// <summary>Gets or sets a value indicating whether responses are cached.</summary>
    /// <remarks>Default <see langword="false"/>.</remarks>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets how long an answer stays cached, unless the request says otherwise.</summary>
    /// <remarks>Default 1 hour. Positive and at most 30 days.</remarks>
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Gets or sets the in-memory cache's size limit, in estimated bytes of the cached answers.</summary>
    /// <remarks>Default 64 MiB. Between 1 KiB and 64 GiB; read when the router is built. Past it, the least recently used answers are evicted.</remarks>
    public long SizeLimitBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Gets or sets a value indicating whether answers that call tools may be cached.</summary>
    /// <remarks>Default <see langword="false"/>: a tool call usually acts on the world, and the world changes.</remarks>
    public bool CacheToolCalls { get; set; }

    /// <summary>Gets or sets a value indicating whether the <c>IDistributedCache</c> registered in the service provider (Redis, for example) is used as a shared second level.</summary>
    /// <remarks>
    /// Default <see langword="false"/>. Answers are written to it after the caller has them and read from it on a
    /// memory miss. When it fails or is slower than <see cref="DistributedTimeout"/>, the router logs a warning, serves
    /// from memory or an endpoint, and leaves it alone for <see cref="DistributedRetryInterval"/>: the cache never fails
    /// a request.
    /// </remarks>
    public bool UseDistributedCache { get; set; }

    /// <summary>Gets or sets the longest wait for the distributed cache on a read.</summary>
    /// <remarks>Default 250 ms. Positive and at most 1 minute.</remarks>
    public TimeSpan DistributedTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Gets or sets how long the distributed cache is left alone after it failed.</summary>
    /// <remarks>Default 10 s. At least 0 and at most 1 hour.</remarks>
    public TimeSpan DistributedRetryInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets the prefix of the router's keys in the distributed cache: one per application sharing it.</summary>
    /// <remarks>Default <c>llmrouter:</c>. Must not be empty.</remarks>
    public string KeyPrefix { get; set; } = "llmrouter:";
}
