namespace LlmRouter;

/// <summary>Why the plan of a request is what it is: every candidate's score and health, and why the first one leads.</summary>
internal sealed class RoutingDecision
{
    public RoutingDecision(CandidateScore[] candidates) => Candidates = candidates;

    public CandidateScore[] Candidates { get; }

    public string Reason { get; set; } = string.Empty;
}
