using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>A request after the candidate filter and the strategy: the ordered plan, why, and the options endpoints receive.</summary>
internal readonly struct RoutedRequest
{
    public RoutedRequest(
        RouterEndpoint[] candidates, ChatOptions? options, RoutingDecision decision, ulong conversation = LlmRouter.ConversationKey.None, bool returning = false,
        bool probesEarly = false, bool remembersConversation = false)
    {
        RemembersConversation = remembersConversation;
        ProbesEarly = probesEarly;
        Conversation = conversation;
        Returning = returning;
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

    /// <summary>Gets a value indicating whether every candidate is open and the plan probes them before their breaks end.</summary>
    public bool ProbesEarly { get; }

    /// <summary>Gets the key of the request's conversation, for affinity; <see cref="ConversationKey.None"/> when none.</summary>
    public ulong Conversation { get; }

    /// <summary>Gets a value indicating whether the serving endpoint is remembered for the conversation's next turn (affinity is on, nothing pinned).</summary>
    public bool RemembersConversation { get; }

    /// <summary>Gets a value indicating whether the request continues a conversation (an earlier turn may have been served).</summary>
    public bool Returning { get; }
}
