using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.TestSupport;

/// <summary>A <see cref="FakeTimeProvider"/> that tells when code starts waiting on a timer, so a test can advance time exactly then.</summary>
public sealed class ObservableFakeTimeProvider : FakeTimeProvider
{
    private readonly object _gate = new();
    private readonly List<(TimeSpan DueTime, TaskCompletionSource Signal)> _waiters = [];

    public ObservableFakeTimeProvider()
        : base(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    /// <summary>Gets the due times of the timers created armed (timers created disarmed, to be armed later, are left out).</summary>
    public List<TimeSpan> TimersCreated { get; } = [];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ITimer timer = base.CreateTimer(callback, state, dueTime, period);
        lock (_gate)
        {
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                TimersCreated.Add(dueTime);
            }

            foreach ((TimeSpan due, TaskCompletionSource signal) in _waiters.ToArray())
            {
                if (due == dueTime)
                {
                    _ = signal.TrySetResult();
                    _ = _waiters.Remove((due, signal));
                }
            }
        }

        return timer;
    }

    /// <summary>Completes when a timer with exactly this due time is created after this call; call it before starting the code that waits.</summary>
    public Task WhenTimerCreated(TimeSpan dueTime)
    {
        lock (_gate)
        {
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((dueTime, signal));
            return signal.Task;
        }
    }
}
