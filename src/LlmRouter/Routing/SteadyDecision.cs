namespace LlmRouter;

/// <summary>
/// A decision made while every candidate was healthy (not degraded, ramping, open or cooling down), with what it was
/// made from: handed out again, without ranking, to requests that find exactly the same.
/// </summary>
/// <remarks>
/// Immutable. Health states, snapshots and options are immutable objects replaced on every change, so comparing their
/// references tells whether anything the decision was made from changed. A healthy, non-ramping state does not change
/// with time alone, and a cool-down only starts through a change; only its end is read on the clock.
/// </remarks>
internal sealed class SteadyDecision
{
    private readonly RouterEndpoint[] _candidates;
    private readonly HealthStatus[] _statuses;
    private readonly EndpointSnapshot[] _snapshots;
    private readonly LlmRouterOptions _options;
    private readonly IRoutingStrategy _strategy;
    private readonly bool _streaming;
    private readonly int _promptTokens;
    private readonly double _outputCap;
    private readonly int _leader;

    public SteadyDecision(
        RouterEndpoint[] candidates,
        HealthStatus[] statuses,
        EndpointSnapshot[] snapshots,
        LlmRouterOptions options,
        IRoutingStrategy strategy,
        bool streaming,
        int promptTokens,
        double outputCap,
        RoutingDecision decision)
    {
        _candidates = candidates;
        _statuses = statuses;
        _snapshots = snapshots;
        _options = options;
        _strategy = strategy;
        _streaming = streaming;
        _promptTokens = promptTokens;
        _outputCap = outputCap;
        Decision = decision;
        _leader = Array.IndexOf(candidates, decision.Plan[0]);
    }

    public RoutingDecision Decision { get; }

    /// <summary>The snapshot of the plan's first endpoint when the decision was made (exploration asks whether it has enough samples).</summary>
    public EndpointSnapshot LeaderSnapshot => _snapshots[_leader];

    /// <summary>Whether the decision still holds for a request with these inputs at <paramref name="now"/>.</summary>
    public bool Holds(RouterEndpoint[] candidates, LlmRouterOptions options, IRoutingStrategy strategy, bool streaming, int promptTokens, double outputCap, long now)
    {
        if (!ReferenceEquals(candidates, _candidates) || !ReferenceEquals(options, _options) || !ReferenceEquals(strategy, _strategy) ||
            streaming != _streaming || promptTokens != _promptTokens || !outputCap.Equals(_outputCap))
        {
            return false;
        }

        HealthStatus[] statuses = _statuses;
        EndpointSnapshot[] snapshots = _snapshots;
        for (int i = 0; i < candidates.Length && i < statuses.Length && i < snapshots.Length; i++)
        {
            RouterEndpoint endpoint = candidates[i];
            if (!ReferenceEquals(endpoint.Health.Status, statuses[i]) || !ReferenceEquals(endpoint.Metrics.Snapshot, snapshots[i]) || endpoint.Cooldown.IsCoolingDown(now))
            {
                return false;
            }
        }

        return true;
    }
}
