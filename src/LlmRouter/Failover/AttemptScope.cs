namespace LlmRouter;

/// <summary>The cancellation of one attempt: the caller's token, plus the attempt timeout measured on the router's clock.</summary>
/// <remarks>
/// Tells a timeout apart from the caller's cancellation, so that a timeout fails over and a cancellation does not.
/// For streams, <see cref="Restart"/> re-arms the timeout before each wait for an update. One source and at most one
/// registration per attempt: the timeout rides on the source's own timer rather than a second one.
/// </remarks>
internal sealed class AttemptScope : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly CancellationToken _callerToken;
    private readonly CancellationTokenRegistration _link;
    private readonly TimeSpan _timeout;

    public AttemptScope(TimeProvider timeProvider, TimeSpan timeout, CancellationToken callerToken)
    {
        _timeout = timeout;
        _callerToken = callerToken;
        _cts = timeout == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(timeout, timeProvider);
        if (callerToken.CanBeCanceled)
        {
            _link = callerToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), _cts);
        }
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>Gets a value indicating whether the attempt timeout fired (as opposed to the caller cancelling).</summary>
    public bool TimedOut => _cts.IsCancellationRequested && !_callerToken.IsCancellationRequested;

    public void Restart()
    {
        if (_timeout != Timeout.InfiniteTimeSpan && !_cts.IsCancellationRequested)
        {
            _cts.CancelAfter(_timeout);
        }
    }

    /// <summary>Stops the timeout while the caller, not the endpoint, has the turn (a stream's caller holding an update).</summary>
    public void Pause()
    {
        if (_timeout != Timeout.InfiniteTimeSpan && !_cts.IsCancellationRequested)
        {
            _cts.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        _link.Dispose();
        _cts.Dispose();
    }
}
