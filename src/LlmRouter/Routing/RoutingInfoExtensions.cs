using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>Reads how the router served a response.</summary>
public static class RoutingInfoExtensions
{
    /// <summary>The key under which the router stores its <see cref="RoutingInfo"/> in <c>AdditionalProperties</c>.</summary>
    internal const string PropertyKey = "LlmRouter.RoutingInfo";

    /// <summary>Gets how the router served this response.</summary>
    /// <param name="response">A response returned by the router, or built from its streamed updates.</param>
    /// <returns>The routing information, or <see langword="null"/> when the response did not come through the router.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="response"/> is <see langword="null"/>.</exception>
    public static RoutingInfo? GetRoutingInfo(this ChatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return Find(response.AdditionalProperties);
    }

    /// <summary>Gets how the router served the stream this update belongs to.</summary>
    /// <param name="update">An update streamed by the router; the first update of a stream carries the information.</param>
    /// <returns>The routing information, or <see langword="null"/> when this update does not carry it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="update"/> is <see langword="null"/>.</exception>
    public static RoutingInfo? GetRoutingInfo(this ChatResponseUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        return Find(update.AdditionalProperties);
    }

    internal static void Attach(ChatResponse response, RoutingInfo info) =>
        (response.AdditionalProperties ??= [])[PropertyKey] = info;

    internal static void Attach(ChatResponseUpdate update, RoutingInfo info) =>
        (update.AdditionalProperties ??= [])[PropertyKey] = info;

    private static RoutingInfo? Find(AdditionalPropertiesDictionary? properties) =>
        properties is not null && properties.TryGetValue(PropertyKey, out object? value) ? value as RoutingInfo : null;
}
