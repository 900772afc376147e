namespace LlmRouter;

/// <summary>How one request uses the response cache (set with <c>options.WithRouting(r =&gt; r.CacheMode = ...)</c>).</summary>
public enum CacheMode
{
    /// <summary>Serve from the cache when it holds the answer; otherwise ask an endpoint and store the answer.</summary>
    Default = 0,

    /// <summary>Neither read nor store: the request goes to an endpoint as if there were no cache.</summary>
    Bypass = 1,

    /// <summary>Do not read, but store the fresh answer, replacing any cached one.</summary>
    Refresh = 2,

    /// <summary>Read, but never store this request's answer (for example one that holds personal data).</summary>
    NoStore = 3,
}
