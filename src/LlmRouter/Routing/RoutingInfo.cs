namespace LlmRouter;

/// <summary>How the router served a response: the endpoint that answered, every attempt before it, and why.</summary>
/// <remarks>Read it with <c>response.GetRoutingInfo()</c>, on a response or on the updates of a stream.</remarks>
public sealed class RoutingInfo
{
    private readonly RoutingDecision? _decision;

    internal RoutingInfo(string endpoint, IReadOnlyList<RoutingAttempt> attempts, RoutingDecision? decision = null)
    {
        Endpoint = endpoint;
        Attempts = attempts;
        _decision = decision;
    }

    /// <summary>Gets the name of the endpoint that served the response.</summary>
    public string Endpoint { get; }

    /// <summary>Gets every attempt made for the request, in order; the last one served it.</summary>
    public IReadOnlyList<RoutingAttempt> Attempts { get; }

    /// <summary>Gets every candidate the router considered, with its health, its place in the plan and, when scored, its score components.</summary>
    public IReadOnlyList<CandidateScore> Candidates => _decision?.Candidates ?? [];

    /// <summary>Gets why the first endpoint of the plan led it (for example the highest score, exploration, or a half-open probe).</summary>
    public string Reason => _decision?.Reason ?? string.Empty;

    /// <summary>Gets a value indicating whether an endpoint other than the first one tried served the response.</summary>
    public bool FailedOver => Attempts.Count > 0 && !string.Equals(Attempts[0].Endpoint, Endpoint, StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => $"served by {Endpoint} after {Attempts.Count} attempt(s)";
}
