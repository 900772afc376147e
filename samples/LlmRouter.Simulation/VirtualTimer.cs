namespace LlmRouter.Simulation;

/// <summary>A timer of <see cref="VirtualTimeProvider"/>: each change or disposal bumps its version, which voids what was scheduled before.</summary>
internal sealed class VirtualTimer : ITimer
{
    private readonly VirtualTimeProvider _time;
    private readonly TimerCallback _callback;
    private readonly object? _state;
    private TimeSpan _period = Timeout.InfiniteTimeSpan;
    private long _version;

    public VirtualTimer(VirtualTimeProvider time, TimerCallback callback, object? state)
    {
        _time = time;
        _callback = callback;
        _state = state;
    }

    public long Version => Volatile.Read(ref _version);

    public bool Change(TimeSpan dueTime, TimeSpan period)
    {
        long version = Interlocked.Increment(ref _version);
        _period = period;
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            _time.Schedule(this, version, dueTime);
        }

        return true;
    }

    public void Fire(long version)
    {
        if (_period != Timeout.InfiniteTimeSpan && _period > TimeSpan.Zero)
        {
            _time.Schedule(this, version, _period);
        }

        _callback(_state);
    }

    public void Dispose() => Interlocked.Increment(ref _version);

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
