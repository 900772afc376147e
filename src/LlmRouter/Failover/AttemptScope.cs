namespace LlmRouter;

/// <summary>The cancellation of one attempt: the caller's token, plus the attempt timeout measured on the router's clock.</summary>
/// <remarks>
/// <para>
/// Tells a timeout apart from the caller's cancellation, so that a timeout fails over and a cancellation does not.
/// </para>
/// <para>
/// The timeout counts only time spent waiting on the endpoint (<see cref="BeginWait"/> to <see cref="EndWait"/>), never
/// time a stream's caller spends holding an update. Marking a wait costs a timestamp and a write, not a timer change:
/// the timer checks on firing whether the current wait has lasted the whole timeout, and if not re-arms for the rest,
/// so a stall is still detected exactly one timeout after its wait began.
/// </para>
/// </remarks>
internal sealed class AttemptScope : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly CancellationToken _callerToken;
    private readonly CancellationTokenRegistration _link;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _timeout;
    private readonly long _timeoutTicks;
    private readonly ITimer? _timer;
    private long _waitingSince;
    private volatile bool _timedOut;

    public AttemptScope(TimeProvider timeProvider, TimeSpan timeout, CancellationToken callerToken)
    {
        _timeProvider = timeProvider;
        _timeout = timeout;
        _callerToken = callerToken;
        _waitingSince = timeProvider.GetTimestamp();
        if (callerToken.CanBeCanceled)
        {
            _link = callerToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), _cts);
        }

        if (timeout != Timeout.InfiniteTimeSpan)
        {
            _timeoutTicks = Math.Max(1, (long)(timeout.TotalSeconds * timeProvider.TimestampFrequency));
            _timer = timeProvider.CreateTimer(static state => ((AttemptScope)state!).OnTimer(), this, timeout, Timeout.InfiniteTimeSpan);
        }
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>Gets a value indicating whether the attempt timeout fired (as opposed to the caller cancelling).</summary>
    public bool TimedOut => _timedOut;

    /// <summary>Marks the start of a wait on the endpoint (a stream's next update).</summary>
    public void BeginWait() => Volatile.Write(ref _waitingSince, _timeProvider.GetTimestamp());

    /// <summary>Marks the end of a wait: the caller, not the endpoint, has the turn.</summary>
    public void EndWait() => Volatile.Write(ref _waitingSince, 0);

    public void Dispose()
    {
        _timer?.Dispose();
        _link.Dispose();
        _cts.Dispose();
    }

    private void OnTimer()
    {
        long since = Volatile.Read(ref _waitingSince);
        long remaining = since == 0 ? _timeoutTicks : _timeoutTicks - (_timeProvider.GetTimestamp() - since);
        if (remaining > 0)
        {
            try
            {
                _ = _timer!.Change(since == 0 ? _timeout : TimeSpan.FromSeconds(remaining / (double)_timeProvider.TimestampFrequency), Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                // The attempt ended as the timer fired.
            }

            return;
        }

        _timedOut = true;
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The attempt ended as the timer fired.
        }
    }
}
