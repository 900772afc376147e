namespace LlmRouter;

/// <summary>How the router served a response: the endpoint that answered, every attempt before it, and why.</summary>
/// <remarks>Read it with <c>response.GetRoutingInfo()</c>, on a response or on the updates of a stream.</remarks>
public sealed class RoutingInfo
{
    private readonly RoutingDecision? _decision;
    private List<string>? _continuedBy;

    internal RoutingInfo(string endpoint, IReadOnlyList<RoutingAttempt> attempts, RoutingDecision? decision = null, bool retryBudgetExhausted = false)
    {
        Endpoint = endpoint;
        Attempts = attempts;
        _decision = decision;
        RetryBudgetExhausted = retryBudgetExhausted;
    }

    /// <summary>Gets the name of the endpoint that served the response.</summary>
    public string Endpoint { get; }

    /// <summary>Gets every attempt made for the request, in order; the last one served it.</summary>
    public IReadOnlyList<RoutingAttempt> Attempts { get; }

    /// <summary>Gets every candidate the router considered, with its health, its place in the plan and, when scored, its score components.</summary>
    public IReadOnlyList<CandidateScore> Candidates => _decision?.Candidates ?? [];

    /// <summary>Gets the endpoints left out of the plan and why: the request's constraints (region, endpoint lists, data policy, capability, price, limit, budget), then health.</summary>
    /// <remarks>Empty for a cache hit. An endpoint excluded by a constraint was not called for the request in any way.</remarks>
    public IReadOnlyList<EndpointExclusion> Excluded => _decision?.Excluded ?? [];

    /// <summary>Gets why the first endpoint of the plan led it (for example the highest score, exploration, or a half-open probe).</summary>
    public string Reason => _decision?.Reason ?? (Cache == CacheResult.Hit ? "answered from the response cache" : string.Empty);

    /// <summary>Gets a value indicating whether an attempt on another endpoint failed before this one served the response.</summary>
    /// <remarks>An attempt that lost a hedge race (<see cref="RoutingAttempt.CanceledByHedge"/>) is not a failure.</remarks>
    public bool FailedOver
    {
        get
        {
            foreach (RoutingAttempt attempt in Attempts)
            {
                if (attempt.Failure is not null && !attempt.CanceledByHedge && !string.Equals(attempt.Endpoint, Endpoint, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Gets a value indicating whether a hedge was started for the request (see <see cref="HedgingOptions"/>).</summary>
    public bool Hedged
    {
        get
        {
            foreach (RoutingAttempt attempt in Attempts)
            {
                if (attempt.IsHedge)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Gets a value indicating whether the retry budget was spent while serving the request, so that the router held back
    /// retries and hedges and made at most one failover (see <see cref="RetryOptions.BudgetRatio"/>).
    /// </summary>
    public bool RetryBudgetExhausted { get; internal set; }

    /// <summary>
    /// Gets the endpoints that continued the stream after <see cref="Endpoint"/>'s output was cut off, in order
    /// (<see cref="MidStreamPolicy.Continue"/>); empty when the stream was not continued.
    /// </summary>
    public IReadOnlyList<string> ContinuedBy => (IReadOnlyList<string>?)_continuedBy ?? [];

    /// <summary>Gets what the response cache did for the request: a hit or a coalesced answer called no endpoint of its own.</summary>
    /// <remarks>On a <see cref="CacheResult.Hit"/>, <see cref="Endpoint"/> is the endpoint that served the cached answer and <see cref="Attempts"/> is empty.</remarks>
    public CacheResult Cache { get; internal set; }

    internal void AddContinuation(string endpoint) => (_continuedBy ??= []).Add(endpoint);

    /// <summary>The same routing facts, as seen by a request that shared this one's answer or found it cached.</summary>
    internal RoutingInfo As(CacheResult cache) =>
        new(Endpoint, cache == CacheResult.Hit ? [] : Attempts, cache == CacheResult.Hit ? null : _decision, RetryBudgetExhausted) { Cache = cache, _continuedBy = _continuedBy };

    /// <inheritdoc />
    public override string ToString() => $"served by {Endpoint} after {Attempts.Count} attempt(s)";
}
