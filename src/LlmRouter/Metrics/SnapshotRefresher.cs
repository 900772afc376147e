namespace LlmRouter;

/// <summary>
/// Rebuilds every endpoint's snapshot off the request path: shortly after new attempts are recorded, and when the oldest
/// attempt of a window leaves it (at most once a second), so that old attempts age out even when traffic stops.
/// </summary>
internal sealed class SnapshotRefresher : IDisposable
{
    private static readonly TimeSpan AgeOutInterval = TimeSpan.FromSeconds(1);

    private readonly RouterEndpoint[] _endpoints;
    private readonly RouterRuntime _runtime;
    private readonly ITimer _timer;
    private readonly TimeSpan _interval;
    private int _dirty;
    private int _building;

    public SnapshotRefresher(RouterEndpoint[] endpoints, RouterRuntime runtime)
    {
        _endpoints = endpoints;
        _runtime = runtime;
        _interval = runtime.Options.Metrics.SnapshotInterval;
        _timer = runtime.TimeProvider.CreateTimer(static state => ((SnapshotRefresher)state!).Refresh(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Asks for a rebuild soon; cheap when one is already asked for.</summary>
    public void MarkDirty()
    {
        if (Interlocked.Exchange(ref _dirty, 1) == 0)
        {
            _ = _timer.Change(_interval, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Rebuilds every snapshot now.</summary>
    public void Refresh()
    {
        if (Interlocked.Exchange(ref _building, 1) == 1)
        {
            // A rebuild is running and may have passed its dirty check already: come back shortly.
            _ = _timer.Change(_interval, Timeout.InfiniteTimeSpan);
            return;
        }

        try
        {
            Volatile.Write(ref _dirty, 0);
            TimeProvider time = _runtime.TimeProvider;
            long now = time.GetTimestamp();
            DateTimeOffset takenAt = time.GetUtcNow();
            long agesOutAt = long.MaxValue;
            foreach (RouterEndpoint endpoint in _endpoints)
            {
                EndpointSnapshot snapshot = endpoint.Metrics.Build(
                    endpoint.Name, now, takenAt, endpoint.Health.StateAt(now), _runtime.Options.Metrics, time.TimestampFrequency);
                agesOutAt = Math.Min(agesOutAt, snapshot.AgesOutAt);
            }

            if (agesOutAt != long.MaxValue)
            {
                // Without new attempts a snapshot changes only when a sample leaves the window (time alone scales every
                // decay weight alike): come back then, but at least a second apart.
                TimeSpan wait = time.GetElapsedTime(now, Math.Max(agesOutAt, now));
                _ = _timer.Change(wait < AgeOutInterval ? AgeOutInterval : wait, Timeout.InfiniteTimeSpan);
            }

            if (Volatile.Read(ref _dirty) == 1)
            {
                _ = _timer.Change(_interval, Timeout.InfiniteTimeSpan);
            }
        }
        finally
        {
            Volatile.Write(ref _building, 0);
        }
    }

    public void Dispose() => _timer.Dispose();
}
