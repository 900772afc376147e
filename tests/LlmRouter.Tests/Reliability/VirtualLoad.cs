using LlmRouter.Simulation;

namespace LlmRouter.Tests.Reliability;

/// <summary>
/// Steady or Poisson load on discrete-event time (<see cref="VirtualTimeProvider"/>): requests arrive on their
/// schedule whether earlier ones finished or not, and the run ends when the last one has.
/// </summary>
internal static class VirtualLoad
{
    /// <summary>
    /// Runs <see cref="Run"/> on a thread of its own: the clock waits for the thread pool to be idle before each step,
    /// which it never is while the driver itself holds a pool thread.
    /// </summary>
    public static Task RunAsync(VirtualTimeProvider time, int count, Func<int, TimeSpan> gap, Func<int, Task> request)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run(time, count, gap, request);
                done.SetResult();
            }
#pragma warning disable CA1031 // Handed to the awaiting test.
            catch (Exception e)
#pragma warning restore CA1031
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "virtual-load",
        };
        thread.Start();
        return done.Task;
    }

    /// <summary>Starts <paramref name="request"/> for arrival 0, 1, 2… every <paramref name="gap"/> (or exponentially distributed gaps around it) until <paramref name="count"/> have started.</summary>
    public static void Run(VirtualTimeProvider time, int count, Func<int, TimeSpan> gap, Func<int, Task> request)
    {
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int outstanding = 1; // the arrivals themselves
        int started = 0;
        ITimer? arrivals = null;

        void Done()
        {
            if (Interlocked.Decrement(ref outstanding) == 0)
            {
                _ = finished.TrySetResult();
            }
        }

        async Task OneAsync(int index)
        {
            try
            {
                await request(index).ConfigureAwait(false);
            }
            finally
            {
                Done();
            }
        }

        arrivals = time.CreateTimer(
            _ =>
            {
                int index = started++;
                _ = Interlocked.Increment(ref outstanding);
                _ = OneAsync(index);
                if (started < count)
                {
                    _ = arrivals!.Change(gap(started), Timeout.InfiniteTimeSpan);
                }
                else
                {
                    Done();
                }
            },
            null,
            gap(0),
            Timeout.InfiniteTimeSpan);

        time.RunUntil(finished.Task);
        arrivals.Dispose();
    }
}
