using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// Runs the attempts of one request, one after another, or, when hedging is on and the running attempt is slow,
/// several at once: the first success is handed to the executor, every failure is classified and applied to the plan.
/// </summary>
/// <remarks>
/// <para>
/// All bookkeeping happens on the request's own flow: attempts only run the endpoint call and report through their
/// task, so the <see cref="FailoverSession"/> is never touched concurrently.
/// </para>
/// <para>
/// Attempts the request no longer needs are cancelled at once and drained in the background: their outcome is observed
/// (never an unobserved task exception), a stream they opened is disposed, and their scope is released.
/// </para>
/// </remarks>
/// <typeparam name="T">What a successful attempt yields: a response, or a stream past its first output.</typeparam>
internal abstract class AttemptRunner<T>
    where T : class
{
    private readonly RouterRuntime _runtime;
    private readonly FailoverSession _session;
    private readonly bool _streaming;
    private readonly List<RunningAttempt<T>> _running = new(1);
    private Func<RouterEndpoint, bool>? _busy;
    private int _hedges;
    private bool _noMoreHedges;

    /// <param name="runtime">The router's runtime.</param>
    /// <param name="session">The request's failover state.</param>
    /// <param name="streaming">Whether the request streams (which latency the hedge delay follows).</param>
    protected AttemptRunner(RouterRuntime runtime, FailoverSession session, bool streaming)
    {
        _runtime = runtime;
        _session = session;
        _streaming = streaming;
    }

    protected RouterRuntime Runtime => _runtime;

    protected FailoverSession Session => _session;

    /// <summary>Creates an attempt's scope: its timeouts, linked to the caller's token.</summary>
    protected abstract AttemptScope CreateScope(PlanEntry entry);

    /// <summary>Starts an attempt; its task completes with the success or faults with the failure.</summary>
    protected abstract Task<T> StartAttempt(PlanEntry entry, AttemptScope scope);

    /// <summary>Releases what a success holds when it is not used (a loser's stream).</summary>
    protected virtual ValueTask DiscardAsync(T value) => default;

    /// <summary>
    /// Runs attempts until one succeeds and returns it, still counted as running for its scope (the caller disposes it);
    /// <see langword="null"/> when the plan is exhausted and nothing runs any more. Call <see cref="Accept"/> to keep a
    /// success, or simply call again to wait for the next one.
    /// </summary>
    /// <exception cref="OperationCanceledException">The caller cancelled.</exception>
    /// <remarks>A failure that must end the request (a bad request, the caller's cancellation) is thrown as the endpoint threw it.</remarks>
    public async ValueTask<RunningAttempt<T>?> NextSuccessAsync()
    {
        TimeProvider time = _runtime.TimeProvider;
        while (true)
        {
            if (_running.Count == 0)
            {
                if (await _session.NextAsync().ConfigureAwait(false) is not { } entry)
                {
                    return null;
                }

                Start(entry);
            }

            RunningAttempt<T> done;
            TimeSpan? hedgeIn = HedgeIn();
            if (hedgeIn is null && _running.Count == 1)
            {
                done = _running[0];
                await ((Task)done.Task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            else
            {
                Task first;
                using (var stopDelay = new CancellationTokenSource())
                {
                    var waits = new Task[_running.Count + (hedgeIn is null ? 0 : 1)];
                    for (int i = 0; i < _running.Count; i++)
                    {
                        waits[i] = _running[i].Task;
                    }

                    Task? delay = hedgeIn is { } wait ? Task.Delay(wait, time, stopDelay.Token) : null;
                    if (delay is not null)
                    {
                        waits[^1] = delay;
                    }

                    first = await Task.WhenAny(waits).ConfigureAwait(false);
                    if (ReferenceEquals(first, delay))
                    {
                        if (_session.TryTakeHedge(_busy ??= IsRunning) is { } hedge)
                        {
                            _hedges++;
                            Start(hedge);
                        }
                        else
                        {
                            _noMoreHedges = true;
                        }

                        continue;
                    }

#pragma warning disable CA1849 // Cancelling a timer is cheap; CancelAsync would hop to the thread pool on every attempt.
                    stopDelay.Cancel();
#pragma warning restore CA1849
                }

                done = _running[IndexOf(first)];
            }

            _running.RemoveAt(IndexOf(done.Task));
            if (done.Task.IsCompletedSuccessfully)
            {
                return done;
            }

            done.Scope.Dispose();
            Exception exception = done.Task.Exception?.InnerException ?? new TaskCanceledException(done.Task);
            FailureClassification classification = _session.Classify(ref exception, done.Scope, done.Entry.Endpoint);
            if (_session.OnFailure(done.Entry, classification, exception, time.GetElapsedTime(done.Start)))
            {
                AbandonAll(byHedge: false);
                _session.ThrowStop(classification, exception);
            }
        }
    }

    /// <summary>Keeps a success: every other running attempt lost the race and is cancelled.</summary>
    public void Accept() => AbandonAll(byHedge: true);

    /// <summary>Cancels every running attempt (the request ended another way, such as the caller's cancellation).</summary>
    public void AbandonAll(bool byHedge)
    {
        TimeProvider time = _runtime.TimeProvider;
        foreach (RunningAttempt<T> running in _running)
        {
            running.Scope.Abandon();
            _session.OnCanceled(running.Entry, time.GetElapsedTime(running.Start), byHedge);
            _ = DrainAsync(running);
        }

        _running.Clear();
    }

    private void Start(PlanEntry entry)
    {
        AttemptScope scope = CreateScope(entry);
        long start = _runtime.TimeProvider.GetTimestamp();
        Task<T> task;
        try
        {
            task = StartAttempt(entry, scope);
        }
#pragma warning disable CA1031 // A client that throws instead of returning a faulted task fails like any other attempt.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            task = Task.FromException<T>(exception);
        }

        _running.Add(new RunningAttempt<T>(entry, scope, start, task));
    }

    /// <summary>How long until the next hedge may start; <see langword="null"/> when no hedge will.</summary>
    private TimeSpan? HedgeIn()
    {
        HedgingOptions hedging = _runtime.Options.Hedging;
        if (!hedging.Enabled || _noMoreHedges || _hedges >= hedging.MaxHedges || _running.Count == 0)
        {
            return null;
        }

        RunningAttempt<T> latest = _running[^1];
        TimeSpan delay = _runtime.HedgeDelayFor(latest.Entry.Endpoint, _streaming) - _runtime.TimeProvider.GetElapsedTime(latest.Start);
        return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
    }

    private int IndexOf(Task task)
    {
        for (int i = 0; i < _running.Count; i++)
        {
            if (ReferenceEquals(_running[i].Task, task))
            {
                return i;
            }
        }

        throw new InvalidOperationException("The attempt is not running."); // unreachable: every task waited on is running
    }

    private bool IsRunning(RouterEndpoint endpoint)
    {
        foreach (RunningAttempt<T> running in _running)
        {
            if (ReferenceEquals(running.Entry.Endpoint, endpoint))
            {
                return true;
            }
        }

        return false;
    }

    private async Task DrainAsync(RunningAttempt<T> running)
    {
        await ((Task)running.Task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        try
        {
            if (running.Task.IsCompletedSuccessfully)
            {
                await DiscardAsync(running.Task.Result).ConfigureAwait(false);
            }
            else if (running.Task.Exception is { } failure)
            {
                Log.AbandonedAttemptFailed(_runtime.Logger, running.Entry.Endpoint.Name, (failure.InnerException ?? failure).GetType().Name);
            }
        }
#pragma warning disable CA1031 // Nothing may escape a background drain: the request already has its outcome.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            Log.AbandonedAttemptFailed(_runtime.Logger, running.Entry.Endpoint.Name, exception.GetType().Name);
        }
        finally
        {
            running.Scope.Dispose();
        }
    }
}
