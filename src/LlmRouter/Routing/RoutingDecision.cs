namespace LlmRouter;

/// <summary>
/// Why the plan of a request is what it is: every candidate's score, health and rank, and why the first one leads.
/// Kept in the compact form the selector worked in; the public <see cref="CandidateScore"/> view is built on first read.
/// </summary>
internal sealed class RoutingDecision
{
    private readonly CandidateEntry[] _entries;
    private readonly string? _leader;
    private readonly string _why;
    private CandidateScore[]? _candidates;
    private string? _reason;

    public RoutingDecision(CandidateEntry[] entries, string? leader, string why)
    {
        _entries = entries;
        _leader = leader;
        _why = why;
    }

    public IReadOnlyList<CandidateScore> Candidates => _candidates ??= Build(_entries);

    public string Reason => _reason ??= _leader is null ? _why : string.Concat(_leader, ": ", _why);

    private static CandidateScore[] Build(CandidateEntry[] entries)
    {
        var candidates = new CandidateScore[entries.Length];
        for (int i = 0; i < entries.Length; i++)
        {
            ref CandidateEntry entry = ref entries[i];
            candidates[i] = new CandidateScore(entry.Endpoint.Name, entry.Health)
            {
                Score = Known(entry.Score),
                Latency = Known(entry.Latency),
                Cost = Known(entry.Cost),
                Success = Known(entry.Success),
                Custom = Known(entry.Custom),
                EstimatedCost = double.IsNaN(entry.EstimatedCost) ? null : (decimal)entry.EstimatedCost,
                Rank = entry.Rank,
            };
        }

        return candidates;
    }

    private static double? Known(double value) => double.IsNaN(value) ? null : value;
}
