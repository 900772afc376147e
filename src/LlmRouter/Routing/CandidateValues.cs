namespace LlmRouter;

/// <summary>
/// A candidate's strategy values, in the order <see cref="RoutingDecision"/> keeps them (<see cref="RoutingDecision.ValuesPerCandidate"/>):
/// score, latency, cost, success, custom, estimated cost. NaN when unknown.
/// </summary>
/// <remarks>
/// Doubles only, so laid out one after another: a decision compares a candidate's values with the ones it keeps as
/// one block of bytes.
/// </remarks>
internal struct CandidateValues
{
    public double Score;

    public double Latency;

    public double Cost;

    public double Success;

    public double Custom;

    public double EstimatedCost;
}
