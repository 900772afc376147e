using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>A request after the candidate filter and the strategy: the ordered plan, why, and the options endpoints receive.</summary>
internal readonly struct RoutedRequest
{
    public RoutedRequest(RouterEndpoint[] candidates, ChatOptions? options, RoutingDecision decision)
    {
        Candidates = candidates;
        Options = options;
        Decision = decision;
    }

    /// <summary>Gets the candidates in order: the first serves, the rest are the failover order.</summary>
    public RouterEndpoint[] Candidates { get; }

    /// <summary>Gets the options to pass to endpoints: the caller's, less the router's own hints.</summary>
    public ChatOptions? Options { get; }

    /// <summary>Gets every candidate's score and health, and why the first one leads.</summary>
    public RoutingDecision Decision { get; }
}
