using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// The part of a streamed answer one endpoint serves: the first endpoint's, or a continuation's after an interruption.
/// </summary>
internal sealed class Segment
{
    public Segment(
        PlanEntry entry,
        IAsyncEnumerator<ChatResponseUpdate> stream,
        AttemptScope scope,
        List<ChatResponseUpdate> held,
        bool open,
        long start,
        TimeSpan timeToFirstToken,
        RoutingInfo info)
    {
        Entry = entry;
        Stream = stream;
        Scope = scope;
        Held = held;
        Open = open;
        Start = start;
        TimeToFirstToken = timeToFirstToken;
        Info = info;
    }

    public PlanEntry Entry { get; }

    public IAsyncEnumerator<ChatResponseUpdate> Stream { get; }

    public AttemptScope Scope { get; }

    /// <summary>Gets the updates read before the gate opened; the caller gets them first.</summary>
    public List<ChatResponseUpdate> Held { get; }

    public bool Open { get; }

    public long Start { get; }

    public TimeSpan TimeToFirstToken { get; }

    /// <summary>Gets the routing information the session produced when this segment's attempt succeeded.</summary>
    public RoutingInfo Info { get; }

    /// <summary>Gets or sets how the segment failed after its output began, once it did (the exception as classified).</summary>
    public Exception? Failure { get; set; }

    public FailureKind FailureKind { get; set; }
}
