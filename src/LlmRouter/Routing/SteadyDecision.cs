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
    // What Capture read, per thread. Only strategies that call no user code take the steady path, so no plan made on
    // this thread can start between a capture and its release.
    [ThreadStatic]
    private static HealthStatus[]? t_statuses;

    [ThreadStatic]
    private static EndpointSnapshot[]? t_snapshots;

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

    /// <summary>
    /// Reads what a steady decision would be made from, before deciding: every candidate's health state and snapshot,
    /// into this thread's buffers; <see langword="false"/> (nothing kept) when a candidate is degraded, ramping, open or
    /// cooling down at <paramref name="now"/>. Call <see cref="ReleaseCapture"/> after deciding.
    /// </summary>
    public static bool Capture(RouterEndpoint[] candidates, long now)
    {
        if (t_statuses is not { } statuses || statuses.Length < candidates.Length || t_snapshots is not { } snapshots)
        {
            t_statuses = statuses = new HealthStatus[Math.Max(candidates.Length, 8)];
            t_snapshots = snapshots = new EndpointSnapshot[statuses.Length];
        }

        for (int i = 0; i < candidates.Length; i++)
        {
            RouterEndpoint endpoint = candidates[i];
            HealthStatus status = endpoint.Health.Status;
            if (status.State != HealthState.Healthy || status.RampStart != 0 || endpoint.Cooldown.IsCoolingDown(now))
            {
                ReleaseCapture(i);
                return false;
            }

            statuses[i] = status;
            snapshots[i] = endpoint.Metrics.Snapshot;
        }

        return true;
    }

    /// <summary>A steady decision made from what <see cref="Capture"/> read for <paramref name="candidates"/>.</summary>
    public static SteadyDecision FromCapture(
        RouterEndpoint[] candidates, LlmRouterOptions options, IRoutingStrategy strategy, bool streaming, int promptTokens, double outputCap, RoutingDecision decision) =>
        new(
            candidates,
            t_statuses.AsSpan(0, candidates.Length).ToArray(),
            t_snapshots.AsSpan(0, candidates.Length).ToArray(),
            options,
            strategy,
            streaming,
            promptTokens,
            outputCap,
            decision);

    /// <summary>Drops what <see cref="Capture"/> read, so that the buffers keep no snapshot alive.</summary>
    public static void ReleaseCapture(int count)
    {
        t_statuses.AsSpan(0, count).Clear();
        t_snapshots.AsSpan(0, count).Clear();
    }

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
