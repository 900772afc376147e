namespace LlmRouter;

/// <summary>What kind of failure an attempt met; it decides retry, failover and the endpoint's health.</summary>
public enum FailureKind
{
    /// <summary>The provider asked to slow down (HTTP 429). Retried after Retry-After (capped); fails over; cools the endpoint down.</summary>
    RateLimited = 0,

    /// <summary>A failure likely to pass (5xx, 529 overloaded, a dropped connection). Retried with backoff; fails over.</summary>
    Transient = 1,

    /// <summary>The attempt took too long (the attempt timeout, HTTP 408, a client-side timeout). Fails over; not retried on the same endpoint.</summary>
    Timeout = 2,

    /// <summary>The provider refused the content. Fails over only to endpoints marked as content-filter fallbacks.</summary>
    ContentFilter = 3,

    /// <summary>The request exceeds the model's context window. Fails over only to endpoints with a larger window.</summary>
    ContextLength = 4,

    /// <summary>A bad key, a forbidden call or an unknown model (401, 403, 404). Fails over; cools the endpoint down for long.</summary>
    Auth = 5,

    /// <summary>The request itself is invalid (other 4xx). Neither retried nor failed over: it would fail everywhere and cost money.</summary>
    BadRequest = 6,

    /// <summary>The caller cancelled. Stops at once; no failover, no effect on health.</summary>
    Canceled = 7,
}
