namespace LlmRouter.Simulation;

/// <summary>
/// Discrete-event time: the clock stands still until <see cref="RunUntil"/> moves it straight to the next due timer and
/// fires it. A simulated hour costs only the work done in it, and a run is reproducible.
/// </summary>
/// <remarks>
/// Timer callbacks run on the driving thread. Work that hops to the thread pool meanwhile is waited for: when no timer
/// is due and the awaited task is not done, the driver yields until a timer appears or the task completes.
/// </remarks>
public sealed class VirtualTimeProvider : TimeProvider
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly object _lock = new();
    private readonly PriorityQueue<(VirtualTimer Timer, long Version), (long Due, long Sequence)> _queue = new();
    private long _now;
    private long _sequence;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Volatile.Read(ref _now);

    public override DateTimeOffset GetUtcNow() => Epoch.AddTicks(Volatile.Read(ref _now));

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new VirtualTimer(this, callback, state);
        _ = timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock forward by <paramref name="span"/>, firing every timer due on the way.</summary>
    public void Advance(TimeSpan span)
    {
        long target = Volatile.Read(ref _now) + span.Ticks;
        while (TryFireNext(target))
        {
        }

        Volatile.Write(ref _now, Math.Max(Volatile.Read(ref _now), target));
    }

    /// <summary>Fires timers in order of their due time until <paramref name="task"/> completes.</summary>
    /// <exception cref="InvalidOperationException">The task waits on nothing this clock will ever fire (a hang in the simulation).</exception>
    public void RunUntil(Task task)
    {
        int idle = 0;
        while (!task.IsCompleted)
        {
            WaitForQuiet();
            if (!task.IsCompleted && TryFireNext(long.MaxValue))
            {
                idle = 0;
                continue;
            }

            // Nothing due: work may still be running on the thread pool and about to set a timer or finish.
            if (++idle > 2_000_000)
            {
                throw new InvalidOperationException("The simulation hangs: the task waits, and no timer is left to fire.");
            }

            Thread.Yield();
        }
    }

    /// <summary>
    /// Lets work that hopped to the thread pool finish before the clock moves: otherwise the clock could run ahead of a
    /// continuation that is merely waiting for a thread, and time out what was about to answer.
    /// </summary>
    private static void WaitForQuiet()
    {
        ThreadPool.GetMaxThreads(out int maxWorkers, out _);
        var spin = default(SpinWait);
        for (int i = 0; i < 1_000_000; i++)
        {
            ThreadPool.GetAvailableThreads(out int availableWorkers, out _);
            if (ThreadPool.PendingWorkItemCount == 0 && availableWorkers == maxWorkers)
            {
                return;
            }

            spin.SpinOnce();
        }
    }

    internal void Schedule(VirtualTimer timer, long version, TimeSpan dueTime)
    {
        lock (_lock)
        {
            long due = Volatile.Read(ref _now) + Math.Max(0, dueTime.Ticks);
            _queue.Enqueue((timer, version), (due, _sequence++));
        }
    }

    private bool TryFireNext(long limit)
    {
        VirtualTimer timer;
        long version;
        lock (_lock)
        {
            while (true)
            {
                if (!_queue.TryPeek(out (VirtualTimer Timer, long Version) next, out (long Due, long Sequence) when) || when.Due > limit)
                {
                    if (_queue.Count == 0)
                    {
                        // The heap keeps its largest size otherwise (stale entries of changed timers included): a busy
                        // moment would hold hundreds of KB for the rest of the run, and a memory measurement would count
                        // the simulated clock's bookkeeping as the code's.
                        _queue.TrimExcess();
                    }

                    return false;
                }

                _ = _queue.Dequeue();
                if (next.Timer.Version != next.Version)
                {
                    continue; // changed or disposed since it was scheduled
                }

                Volatile.Write(ref _now, Math.Max(Volatile.Read(ref _now), when.Due));
                timer = next.Timer;
                version = next.Version;
                break;
            }
        }

        timer.Fire(version);
        return true;
    }
}
