namespace LlmRouter;

/// <summary>
/// The selector's latest decisions, one per leading endpoint, each handed out again while nothing it says changes.
/// </summary>
/// <remarks>
/// One per leader rather than a single latest one: exploration puts another candidate first now and then, and the
/// decision it makes would otherwise replace the steady one, so that both the explored plan and the next ordinary one
/// were built anew. Kept apart, each is built once while the scores hold. At most one decision per endpoint is kept.
/// </remarks>
internal sealed class RecentDecisions
{
    private readonly RoutingDecision?[] _byLeader;

    /// <param name="endpoints">How many endpoints the selector has.</param>
    public RecentDecisions(int endpoints) => _byLeader = new RoutingDecision?[Math.Max(1, endpoints)];

    /// <summary>The latest decision led by the plan's first endpoint (or with an empty plan), if any.</summary>
    /// <param name="plan">The plan, as indices into <paramref name="candidates"/>.</param>
    /// <param name="candidates">The candidates.</param>
    public RoutingDecision? Latest(ReadOnlySpan<int> plan, RouterEndpoint[] candidates) =>
        Volatile.Read(ref _byLeader[Slot(plan, candidates)]);

    /// <summary>Keeps <paramref name="decision"/> as the latest one led by the plan's first endpoint.</summary>
    public void Remember(ReadOnlySpan<int> plan, RouterEndpoint[] candidates, RoutingDecision decision) =>
        Volatile.Write(ref _byLeader[Slot(plan, candidates)], decision);

    private int Slot(ReadOnlySpan<int> plan, RouterEndpoint[] candidates) =>
        plan.IsEmpty ? 0 : candidates[plan[0]].Index % _byLeader.Length;
}
