using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>Your own component of an endpoint's score under <see cref="RoutingStrategy.Score"/>.</summary>
/// <remarks>
/// Called for every candidate of every request, on the request path: keep it fast and allocation-free. It is weighted
/// by <see cref="ScoringOptions.CustomWeight"/>.
/// </remarks>
public interface IEndpointScorer
{
    /// <summary>Scores one candidate endpoint for one request.</summary>
    /// <param name="endpoint">The endpoint's latest snapshot.</param>
    /// <param name="messages">The request's messages.</param>
    /// <param name="options">The request's options, if any.</param>
    /// <returns>A score in [0, 1], 1 best; values outside are clamped.</returns>
    double Score(EndpointSnapshot endpoint, IList<ChatMessage> messages, ChatOptions? options);
}
