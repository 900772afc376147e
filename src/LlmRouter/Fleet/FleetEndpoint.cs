namespace LlmRouter;

/// <summary>
/// One endpoint's side of the fleet mirror: hears local health news on the request path (an enqueue at most), and
/// holds the background loop's view of the endpoint's probe lock.
/// </summary>
internal sealed class FleetEndpoint(FleetMirror mirror, RouterEndpoint endpoint, int index) : IEndpointHealthObserver
{
    private int _suspect;

    public RouterEndpoint Endpoint { get; } = endpoint;

    public int Index { get; } = index;

    /// <summary>Gets or sets a value indicating whether the fleet's failure count of the endpoint is known to be above zero.</summary>
    public bool Suspect
    {
        get => Volatile.Read(ref _suspect) != 0;
        set => Volatile.Write(ref _suspect, value ? 1 : 0);
    }

    // The probe lock, touched only by the background loop (and read by status snapshots).
    public volatile bool HoldsLock;

    public long LockExpiresAt; // Stopwatch timestamp

    public long LockBackoffUntil; // Stopwatch timestamp

    /// <summary>Gets or sets the fleet-wide requests-per-minute quota; null when the endpoint has no such limit.</summary>
    public FleetQuota? Requests { get; set; }

    /// <summary>Gets or sets the fleet-wide tokens-per-minute quota; null when the endpoint has no such limit.</summary>
    public FleetQuota? Tokens { get; set; }

    public void OnHardFailure()
    {
        if (mirror.ShareFailureCounts)
        {
            Suspect = true;
            mirror.Enqueue(new FleetEvent(FleetEventKind.HardFailure, Index, 0, 0));
        }
    }

    public void OnSuccess()
    {
        // The common case costs one field read: only a success after failures somewhere in the fleet is news.
        if (Volatile.Read(ref _suspect) != 0 && Interlocked.Exchange(ref _suspect, 0) != 0)
        {
            mirror.Enqueue(new FleetEvent(FleetEventKind.Success, Index, 0, 0));
        }
    }

    public void OnOpened(long openUntil, int failedProbes) =>
        mirror.Enqueue(new FleetEvent(FleetEventKind.Opened, Index, openUntil, failedProbes));

    public void OnClosed(long openUntil) =>
        mirror.Enqueue(new FleetEvent(FleetEventKind.Closed, Index, openUntil, 0));

    public void OnCooldown(long deadline) =>
        mirror.Enqueue(new FleetEvent(FleetEventKind.Cooldown, Index, deadline, 0));
}
