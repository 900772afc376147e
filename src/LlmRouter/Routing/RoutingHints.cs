namespace LlmRouter;

/// <summary>Per-request routing hints, set with <c>ChatOptions.WithRouting(...)</c>.</summary>
public sealed class RoutingHints
{
    /// <summary>Gets or sets the group whose endpoints may serve the request.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: any endpoint. Takes precedence over a group named by
    /// <see cref="Microsoft.Extensions.AI.ChatOptions.ModelId"/>.
    /// </remarks>
    public string? Group { get; set; }

    /// <summary>Gets or sets the tenant the request belongs to: its partition of the response cache.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: the shared partition. Cached responses are only ever served within the partition
    /// that stored them, so two tenants never read each other's entries, whatever their prompts.
    /// </remarks>
    public string? Tenant { get; set; }

    /// <summary>Gets or sets how this request uses the response cache.</summary>
    /// <remarks>Default <see cref="LlmRouter.CacheMode.Default"/>: read and store, when <see cref="CacheOptions.Enabled"/>.</remarks>
    public CacheMode CacheMode { get; set; }

    /// <summary>Gets or sets how long this request's response stays cached, overriding <see cref="CacheOptions.TimeToLive"/>.</summary>
    /// <remarks>Default <see langword="null"/>: the router's value. Must be positive.</remarks>
    public TimeSpan? CacheTimeToLive { get; set; }
}
