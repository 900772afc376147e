namespace LlmRouter;

/// <summary>Why an endpoint was left out of a request's plan.</summary>
public enum ExclusionReason
{
    /// <summary>The request or its tenant named other endpoints only, or ignored this one.</summary>
    Endpoint,

    /// <summary>The endpoint's region is not one the request may be processed in, or it has none.</summary>
    Region,

    /// <summary>The endpoint's data policy (zero data retention, no training) falls short of the request's.</summary>
    DataPolicy,

    /// <summary>The endpoint lacks a capability the request needs: tools, images, JSON schema, or room in its context window or output cap.</summary>
    Capability,

    /// <summary>The endpoint's prices, or the request's estimated cost there, exceed the request's caps.</summary>
    Price,

    /// <summary>The endpoint is at one of its rate or concurrency limits.</summary>
    Limit,

    /// <summary>The endpoint spent its budget for the period.</summary>
    Budget,

    /// <summary>The endpoint is open (failing), or half-open with a probe in flight.</summary>
    Health,

    /// <summary>
    /// The request continues state held by another endpoint (<see cref="Microsoft.Extensions.AI.ChatOptions.ConversationId"/>,
    /// <see cref="Microsoft.Extensions.AI.ChatOptions.ContinuationToken"/>): only the endpoint that issued it may serve it.
    /// </summary>
    ProviderState,
}
