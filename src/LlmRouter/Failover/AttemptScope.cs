namespace LlmRouter;

/// <summary>The cancellation of one attempt: the caller's token, plus the attempt timeout measured on the router's clock.</summary>
/// <remarks>
/// Tells a timeout apart from the caller's cancellation, so that a timeout fails over and a cancellation does not.
/// For streams, <see cref="Restart"/> re-arms the timeout before each wait for an update.
/// </remarks>
internal sealed class AttemptScope : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly ITimer? _timer;
    private readonly TimeSpan _timeout;
    private volatile bool _timedOut;

    public AttemptScope(TimeProvider timeProvider, TimeSpan timeout, CancellationToken callerToken)
    {
        _cts = CancellationTokenSource.CreateLinkedTokenSource(callerToken);
        _timeout = timeout;
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            _timer = timeProvider.CreateTimer(static state => ((AttemptScope)state!).OnTimeout(), this, timeout, Timeout.InfiniteTimeSpan);
        }
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>Gets a value indicating whether the attempt timeout fired.</summary>
    public bool TimedOut => _timedOut;

    public void Restart() => _timer?.Change(_timeout, Timeout.InfiniteTimeSpan);

    /// <summary>Stops the timeout without cancelling, once the attempt no longer waits on the endpoint.</summary>
    public void StopTimer() => _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

    public void Dispose()
    {
        _timer?.Dispose();
        _cts.Dispose();
    }

    private void OnTimeout()
    {
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
