namespace LlmRouter;

/// <summary>Ranks a request's candidates: writes each one's sort key (lower goes first) and, when it scores, the score's components.</summary>
/// <remarks>
/// Strategies are small and stateless (one instance serves every request) and must not allocate. Ties are broken by
/// priority, then registration order; health, exploration and cool-downs are applied after, by the selector.
/// </remarks>
internal interface IRoutingStrategy
{
    /// <summary>Gets the words that explain a plan led by the best-ranked candidate.</summary>
    string Criterion { get; }

    /// <summary>Gets a value indicating whether the selector may explore (put a candidate other than the best first, now and then).</summary>
    bool Explores { get; }

    /// <summary>Gets what the ranking depends on, so that the selector may hand out a steady decision again without ranking.</summary>
    SteadyRanking Steady { get; }

    void Rank(Span<CandidateEntry> candidates, in RoutingRequest request);
}
