using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>Sets per-request routing hints on <see cref="ChatOptions"/>.</summary>
public static class ChatOptionsRoutingExtensions
{
    internal const string PropertyKey = "LlmRouter.RoutingHints";

    /// <summary>Sets routing hints for the requests made with these options.</summary>
    /// <param name="options">The chat options to annotate.</param>
    /// <param name="configure">Sets the hints, for example <c>r =&gt; r.Group = "smart"</c>.</param>
    /// <returns>The same <paramref name="options"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    /// <remarks>The router removes the hints before it passes the options to an endpoint.</remarks>
    public static ChatOptions WithRouting(this ChatOptions options, Action<RoutingHints> configure)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configure);

        RoutingHints hints = GetRoutingHints(options) ?? new RoutingHints();
        configure(hints);
        (options.AdditionalProperties ??= [])[PropertyKey] = hints;
        return options;
    }

    /// <summary>Gets the routing hints set on these options.</summary>
    /// <param name="options">The chat options.</param>
    /// <returns>The hints, or <see langword="null"/> when none were set.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    public static RoutingHints? GetRoutingHints(this ChatOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.AdditionalProperties is { } properties && properties.TryGetValue(PropertyKey, out object? value)
            ? value as RoutingHints
            : null;
    }
}
