namespace LlmRouter;

/// <summary><see cref="RoutingStrategy.Ordered"/>: by priority, then registration order.</summary>
internal sealed class OrderedRoutingStrategy : IRoutingStrategy
{
    public static OrderedRoutingStrategy Instance { get; } = new();

    public void Order(Span<RouterEndpoint> candidates) => candidates.Sort(static (a, b) =>
    {
        int byPriority = a.Options.Priority.CompareTo(b.Options.Priority);
        return byPriority != 0 ? byPriority : a.Index.CompareTo(b.Index);
    });
}
