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
}
