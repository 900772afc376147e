namespace LlmRouter;

/// <summary>When an endpoint may be used first again; the deadline only ever moves later.</summary>
/// <remarks>Lock-free: a later deadline wins a race, an earlier one never replaces it.</remarks>
internal sealed class EndpointCooldown
{
    private long _deadline; // TimeProvider timestamp; 0 = not cooling down

    /// <summary>Gets the deadline as a <see cref="TimeProvider.GetTimestamp"/> value; 0 when the endpoint never cooled down.</summary>
    public long Deadline => Volatile.Read(ref _deadline);

    public bool IsCoolingDown(long now) => Volatile.Read(ref _deadline) > now;

    /// <summary>Gets or sets who hears of cool-downs learnt locally (fleet mode); <see langword="null"/> when none.</summary>
    public IEndpointHealthObserver? Observer { get; set; }

    /// <summary>Extends the cool-down to <paramref name="deadline"/> unless it already lasts longer.</summary>
    /// <returns><see langword="true"/> when the deadline moved.</returns>
    public bool ExtendTo(long deadline)
    {
        if (!Extend(deadline))
        {
            return false;
        }

        Observer?.OnCooldown(deadline);
        return true;
    }

    /// <summary>Extends the cool-down to a deadline learnt from the fleet, without reporting it back.</summary>
    /// <returns><see langword="true"/> when the deadline moved.</returns>
    public bool ExtendFromFleet(long deadline) => Extend(deadline);

    private bool Extend(long deadline)
    {
        long current = Volatile.Read(ref _deadline);
        while (deadline > current)
        {
            long seen = Interlocked.CompareExchange(ref _deadline, deadline, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }
}
