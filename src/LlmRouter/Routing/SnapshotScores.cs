namespace LlmRouter;

/// <summary>
/// The latency and success components of <see cref="RoutingStrategy.Score"/> for one set of candidate snapshots:
/// they depend on nothing else (the options aside), so they are worked out once per set of snapshots, which are rebuilt
/// every few milliseconds, rather than once per request. Immutable.
/// </summary>
internal sealed class SnapshotScores
{
    private const double Neutral = 0.5;
    private readonly EndpointSnapshot[] _snapshots;

    /// <summary>Latency then success, two per candidate.</summary>
    private readonly double[] _components;
    private readonly bool _streaming;
    private readonly int _minSamples;
    private readonly double _sensitivity;

    private SnapshotScores(EndpointSnapshot[] snapshots, double[] components, bool streaming, int minSamples, double sensitivity)
    {
        _snapshots = snapshots;
        _components = components;
        _streaming = streaming;
        _minSamples = minSamples;
        _sensitivity = sensitivity;
    }

    /// <summary>Gets the snapshots the components were worked out from, in the candidates' order.</summary>
    public ReadOnlySpan<EndpointSnapshot> Snapshots => _snapshots;

    public double Latency(int candidate) => _components[2 * candidate];

    public double Success(int candidate) => _components[(2 * candidate) + 1];

    /// <summary>Whether these components hold for the candidates' current snapshots, the kind of request and the options.</summary>
    public bool Matches(ReadOnlySpan<CandidateEntry> candidates, bool streaming, int minSamples, double sensitivity)
    {
        EndpointSnapshot[] snapshots = _snapshots;
        if (snapshots.Length != candidates.Length || _streaming != streaming || _minSamples != minSamples ||
            BitConverter.DoubleToInt64Bits(_sensitivity) != BitConverter.DoubleToInt64Bits(sensitivity))
        {
            return false;
        }

        for (int i = 0; i < snapshots.Length; i++)
        {
            if (!ReferenceEquals(snapshots[i], candidates[i].Endpoint.Metrics.Snapshot))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Works out the latency and success components from the candidates' current snapshots.</summary>
    public static SnapshotScores Compute(ReadOnlySpan<CandidateEntry> candidates, bool streaming, int minSamples, double sensitivity)
    {
        // One read of each snapshot: the components, and the best latency they are relative to, come from the same set.
        var snapshots = new EndpointSnapshot[candidates.Length];
        double bestLatency = double.PositiveInfinity;
        for (int i = 0; i < snapshots.Length; i++)
        {
            EndpointSnapshot snapshot = candidates[i].Endpoint.Metrics.Snapshot;
            snapshots[i] = snapshot;
            double latency = ScoreRoutingStrategy.RecentLatency(snapshot, streaming);
            if (snapshot.SampleCount >= minSamples && latency < bestLatency)
            {
                bestLatency = latency;
            }
        }

        // exp(-s × 0) is exactly 1 for any finite s: the best candidate, and one no slower than its baseline, skip the call.
        bool finiteSensitivity = double.IsFinite(sensitivity);
        bool bestKnown = bestLatency > 0 && !double.IsInfinity(bestLatency);
        double[] components = new double[2 * snapshots.Length];
        for (int i = 0; i < snapshots.Length; i++)
        {
            EndpointSnapshot snapshot = snapshots[i];
            bool trusted = snapshot.SampleCount >= minSamples;
            double latencyScore = Neutral;
            double latency = ScoreRoutingStrategy.RecentLatency(snapshot, streaming);
            if (trusted && !double.IsNaN(latency) && bestKnown)
            {
                // Relative to the best candidate, and to the endpoint's own baseline: a fast endpoint that just got
                // slower than its usual p95 loses ground before its percentiles catch up.
                double baseline = streaming && !double.IsNaN(snapshot.TtftP95Ms) ? snapshot.TtftP95Ms : snapshot.P95Ms;
                double behindBest = (latency / bestLatency) - 1;
                double relative = behindBest == 0 && finiteSensitivity ? 1 : Math.Exp(-sensitivity * behindBest);
                double deviation = 1;
                if (baseline > 0)
                {
                    double overBaseline = Math.Max(0, (latency / baseline) - 1);
                    deviation = overBaseline == 0 && finiteSensitivity ? 1 : Math.Exp(-sensitivity * overBaseline);
                }

                latencyScore = relative * deviation;
            }
            else if (trusted && double.IsNaN(latency))
            {
                latencyScore = 0; // attempts, but none succeeded
            }

            components[2 * i] = latencyScore;
            components[(2 * i) + 1] = trusted && !double.IsNaN(snapshot.DecayedSuccess) ? snapshot.DecayedSuccess : Neutral;
        }

        return new SnapshotScores(snapshots, components, streaming, minSamples, sensitivity);
    }
}
