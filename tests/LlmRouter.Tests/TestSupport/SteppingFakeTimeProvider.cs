using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that knows which timers are armed and when each is due, so that a simulation can
/// jump straight to the next event (<see cref="AdvanceToNextTimer"/>) instead of crawling in small steps. It also keeps
/// the due time and the creation time of every timer created armed, for assertions on when something was scheduled.
/// </summary>
public sealed class SteppingFakeTimeProvider : FakeTimeProvider
{
    private readonly object _gate = new();
    private readonly HashSet<TrackedTimer> _armed = [];
    private readonly List<(DateTimeOffset CreatedAt, TimeSpan DueTime)> _created = [];
    private TaskCompletionSource _armedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _firing;

    public SteppingFakeTimeProvider()
        : base(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    /// <summary>Gets a copy of the timers created armed: when (virtual time) and with which due time.</summary>
    public List<(DateTimeOffset CreatedAt, TimeSpan DueTime)> TimersCreated
    {
        get
        {
            lock (_gate)
            {
                return [.. _created];
            }
        }
    }

    /// <summary>Gets the earliest deadline of an armed timer; <see langword="null"/> when none is armed.</summary>
    public DateTimeOffset? NextDeadline
    {
        get
        {
            lock (_gate)
            {
                DateTimeOffset? next = null;
                foreach (TrackedTimer timer in _armed)
                {
                    if (next is null || timer.Deadline < next)
                    {
                        next = timer.Deadline;
                    }
                }

                return next;
            }
        }
    }

    /// <summary>
    /// Gets a value indicating whether every timer due by now has fired and its callback (with whatever runs inline
    /// after it) has returned. <see cref="FakeTimeProvider.Advance"/> fires due timers on the calling thread unless
    /// another thread is already firing timers (a timer armed elsewhere at that moment): then it returns at once and
    /// that thread fires them a moment later. Stepping on before that would skip over the event.
    /// </summary>
    public bool Settled
    {
        get
        {
            if (Volatile.Read(ref _firing) != 0)
            {
                return false;
            }

            DateTimeOffset now = GetUtcNow();
            lock (_gate)
            {
                foreach (TrackedTimer timer in _armed)
                {
                    if (timer.Deadline <= now)
                    {
                        return false;
                    }
                }
            }

            return Volatile.Read(ref _firing) == 0;
        }
    }

    /// <summary>Waits (real time, up to <paramref name="guard"/>) until <see cref="Settled"/>.</summary>
    public async Task SettleAsync(TimeSpan guard)
    {
        long start = Stopwatch.GetTimestamp();
        while (!Settled)
        {
            if (Stopwatch.GetElapsedTime(start) > guard)
            {
                throw new TimeoutException($"Timers due by {GetUtcNow():O} did not finish firing within {guard}.");
            }

            Advance(TimeSpan.Zero); // fires what is due if no other thread is firing
            await Task.Delay(1);
        }
    }

    /// <summary>Advances the clock exactly to the next armed timer's deadline (firing it); <see langword="false"/> when none is armed.</summary>
    public bool AdvanceToNextTimer()
    {
        if (NextDeadline is not { } next)
        {
            return false;
        }

        TimeSpan delta = next - GetUtcNow();
        Advance(delta > TimeSpan.Zero ? delta : TimeSpan.Zero);
        return true;
    }

    /// <summary>
    /// Advances from timer to timer until <paramref name="until"/> completes or <paramref name="stop"/> says so. When no
    /// timer is armed (the code under test is still on its way to its next wait), waits for one to be armed or for
    /// <paramref name="until"/>, up to <paramref name="guard"/> of real time (a hang guard only).
    /// </summary>
    public async Task AdvanceUntilAsync(Task until, Func<bool>? stop = null, TimeSpan? guard = null)
    {
        TimeSpan limit = guard ?? TimeSpan.FromSeconds(10);
        while (!until.IsCompleted && stop?.Invoke() != true)
        {
            await SettleAsync(limit);
            if (until.IsCompleted || stop?.Invoke() == true)
            {
                break;
            }

            Task armed;
            lock (_gate)
            {
                armed = _armedSignal.Task;
            }

            if (!AdvanceToNextTimer())
            {
                _ = await Task.WhenAny(armed, until).WaitAsync(limit);
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new TrackedTimer(this, callback, state, period);
        timer.Inner = base.CreateTimer(static s => ((TrackedTimer)s!).Fire(), timer, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (_gate)
            {
                _created.Add((GetUtcNow(), dueTime));
            }
        }

        _ = timer.Change(dueTime, period);
        return timer;
    }

    private void Arm(TrackedTimer timer, DateTimeOffset? deadline)
    {
        lock (_gate)
        {
            timer.Deadline = deadline ?? DateTimeOffset.MaxValue;
            if (deadline is null)
            {
                _ = _armed.Remove(timer);
            }
            else
            {
                _ = _armed.Add(timer);
                _ = _armedSignal.TrySetResult();
                _armedSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    private sealed class TrackedTimer(SteppingFakeTimeProvider owner, TimerCallback callback, object? state, TimeSpan period) : ITimer
    {
        private TimeSpan _period = period;
        private bool _disposed;

        public ITimer Inner { get; set; } = null!;

        public DateTimeOffset Deadline { get; set; } = DateTimeOffset.MaxValue;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed)
            {
                return false;
            }

            _period = period;
            owner.Arm(this, dueTime == Timeout.InfiniteTimeSpan ? null : owner.GetUtcNow() + dueTime);
            return Inner.Change(dueTime, period);
        }

        public void Fire()
        {
            // Counted as firing before it leaves the armed set: Settled never sees the gap.
            _ = Interlocked.Increment(ref owner._firing);
            try
            {
                owner.Arm(this, _period == Timeout.InfiniteTimeSpan || _period == TimeSpan.Zero ? null : owner.GetUtcNow() + _period);
                callback(state);
            }
            finally
            {
                _ = Interlocked.Decrement(ref owner._firing);
            }
        }

        public void Dispose()
        {
            _disposed = true;
            owner.Arm(this, null);
            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
