namespace LlmRouter;

/// <summary>What a strategy's ranking depends on, besides the router's options: when the selector may hand out a ranking again without working it out.</summary>
internal enum SteadyRanking
{
    /// <summary>Something that changes from request to request (live counters, randomness, a custom scorer): rank every request.</summary>
    Never,

    /// <summary>The candidates' snapshots and whether the request streams.</summary>
    Snapshots,

    /// <summary>The candidates' snapshots, whether the request streams, its estimated prompt tokens and its output cap.</summary>
    SnapshotsAndRequestSize,
}
