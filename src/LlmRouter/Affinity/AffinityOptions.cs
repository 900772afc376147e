namespace LlmRouter;

/// <summary>Settings of conversation affinity: the turns of one conversation stay on the endpoint that served the previous one.</summary>
/// <remarks>
/// Bound from configuration under <c>LlmRouter:Affinity</c>. A provider's prompt cache pays off only when the next turn,
/// which repeats the conversation so far, reaches the same provider; affinity keeps it there while that endpoint is
/// healthy, not rate-limited and within its limits and budget, and moves the conversation (and sticks to the new
/// endpoint) when it is not. A conversation is recognised by <see cref="RoutingHints.ConversationKey"/>, or else by its
/// leading messages (the system messages and the first user message).
/// </remarks>
public sealed class AffinityOptions
{
    /// <summary>Gets or sets a value indicating whether conversations stick to an endpoint.</summary>
    /// <remarks>Default <see langword="true"/>.</remarks>
    public bool Enabled { get; set; } = true;

    /// <summary>Gets or sets the most conversations remembered; past it, the ones unused longest are forgotten first.</summary>
    /// <remarks>Default 10,000. Between 1 and 10,000,000. Each costs about 100 bytes.</remarks>
    public int MaxConversations { get; set; } = 10_000;

    /// <summary>Gets or sets how long a conversation is remembered after its latest turn.</summary>
    /// <remarks>
    /// Default 30 minutes (providers keep prompt caches for minutes to an hour). Between 1 second and 30 days. Ids of
    /// provider-held conversations (<see cref="Microsoft.Extensions.AI.ChatOptions.ConversationId"/>) are remembered
    /// for <see cref="ProviderStateTimeToLive"/> instead.
    /// </remarks>
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Gets or sets how long the router remembers which endpoint issued a conversation id or a continuation token.</summary>
    /// <remarks>Default 7 days. Between 1 second and 365 days. The bound on the number remembered is <see cref="MaxConversations"/>.</remarks>
    public TimeSpan ProviderStateTimeToLive { get; set; } = TimeSpan.FromDays(7);
}
