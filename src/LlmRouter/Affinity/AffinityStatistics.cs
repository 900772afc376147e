namespace LlmRouter;

/// <summary>How conversation affinity fares: conversations remembered, and returning turns that stayed or moved.</summary>
public sealed class AffinityStatistics
{
    internal AffinityStatistics(int conversations, long stayed, long moved, long evicted, int providerState)
    {
        Conversations = conversations;
        Stayed = stayed;
        Moved = moved;
        Evicted = evicted;
        ProviderStateIds = providerState;
    }

    /// <summary>Gets the number of conversations remembered now.</summary>
    public int Conversations { get; }

    /// <summary>Gets how many returning turns were served by the endpoint that served the conversation's previous turn.</summary>
    public long Stayed { get; }

    /// <summary>Gets how many returning turns were served elsewhere (the previous endpoint was unfit, failed, or the strategy chose anew).</summary>
    public long Moved { get; }

    /// <summary>Gets the share of returning turns that stayed; <see langword="null"/> before the first returning turn.</summary>
    public double? HitRate => Stayed + Moved == 0 ? null : Stayed / (double)(Stayed + Moved);

    /// <summary>Gets how many conversations were forgotten before they expired, to keep within <see cref="AffinityOptions.MaxConversations"/>.</summary>
    public long Evicted { get; }

    /// <summary>Gets the number of provider-issued conversation ids and continuation tokens remembered, each pinned to its endpoint.</summary>
    public int ProviderStateIds { get; }
}
