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
    private readonly TimeSpan _laterTimeout;
    private TimeSpan _timeout;
    private long _timeoutTicks;
    private readonly ITimer? _timer;
    private long _waitingSince;
    private volatile bool _timedOut;
    private volatile bool _outputStarted;

    /// <param name="timeProvider">The router's clock.</param>
    /// <param name="timeout">The longest wait on the endpoint; for a stream, the wait for its first output.</param>
    /// <param name="callerToken">The caller's token.</param>
    /// <param name="laterTimeout">For a stream, the longest wait for each update once output has started (the stall timeout); by default <paramref name="timeout"/>.</param>
    public AttemptScope(TimeProvider timeProvider, TimeSpan timeout, CancellationToken callerToken, TimeSpan? laterTimeout = null)
    {
        _timeProvider = timeProvider;
        _timeout = timeout;
        _laterTimeout = laterTimeout ?? timeout;
        _callerToken = callerToken;
        _waitingSince = timeProvider.GetTimestamp();
        if (callerToken.CanBeCanceled)
        {
            _link = callerToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), _cts);
        }

        if (timeout != Timeout.InfiniteTimeSpan || _laterTimeout != Timeout.InfiniteTimeSpan)
        {
            _timeoutTicks = ToTicks(timeout);
            _timer = timeProvider.CreateTimer(static state => ((AttemptScope)state!).OnTimer(), this, timeout, Timeout.InfiniteTimeSpan);
        }
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>Gets a value indicating whether the attempt timeout fired (as opposed to the caller cancelling).</summary>
    public bool TimedOut => _timedOut;

    /// <summary>Gets a value indicating whether the stream produced its first output, so that the stall timeout applies.</summary>
    public bool OutputStarted => _outputStarted;

    /// <summary>Switches a stream from its first-output timeout to its stall timeout, re-arming the timer when the latter is shorter.</summary>
    public void StartOutput()
    {
        if (_outputStarted)
        {
            return;
        }

        _outputStarted = true;
        if (_laterTimeout == _timeout || _timer is null)
        {
            return;
        }

        _timeout = _laterTimeout;
        Volatile.Write(ref _timeoutTicks, ToTicks(_laterTimeout));
        Volatile.Write(ref _waitingSince, _timeProvider.GetTimestamp());
        try
        {
            _ = _timer.Change(_laterTimeout, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The attempt ended meanwhile.
        }
    }

    /// <summary>The exception that says which timeout fired, wrapping what the endpoint threw when cancelled.</summary>
    public TimeoutException TimeoutFailure(string endpoint, bool streaming, Exception inner)
    {
        string what = !streaming
            ? $"did not answer within the attempt timeout of {Describe(_timeout)}"
            : _outputStarted
                ? $"stalled: no update within the stall timeout of {Describe(_timeout)}"
                : $"sent no output within the time-to-first-token timeout of {Describe(_timeout)}";
        return new TimeoutException($"Endpoint '{endpoint}' {what}.", inner);
    }

    private static string Describe(TimeSpan span) =>
        span.TotalSeconds >= 1 ? $"{span.TotalSeconds:0.###} s" : $"{span.TotalMilliseconds:0.###} ms";

    private long ToTicks(TimeSpan timeout) => timeout == Timeout.InfiniteTimeSpan
        ? long.MaxValue
        : Math.Max(1, (long)(timeout.TotalSeconds * _timeProvider.TimestampFrequency));

    /// <summary>Marks the start of a wait on the endpoint (a stream's next update).</summary>
    public void BeginWait() => Volatile.Write(ref _waitingSince, _timeProvider.GetTimestamp());

    /// <summary>Marks the end of a wait: the caller, not the endpoint, has the turn.</summary>
    public void EndWait() => Volatile.Write(ref _waitingSince, 0);

    /// <summary>Cancels the attempt because the request no longer needs it (another attempt won, or the request ended).</summary>
    public void Abandon()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already over.
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _link.Dispose();
        _cts.Dispose();
    }

    private void OnTimer()
    {
        long since = Volatile.Read(ref _waitingSince);
        long ticks = Volatile.Read(ref _timeoutTicks);
        if (ticks == long.MaxValue)
        {
            return; // no timeout in this phase
        }

        long remaining = since == 0 ? ticks : ticks - (_timeProvider.GetTimestamp() - since);
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
