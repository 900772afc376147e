using LlmRouter.Simulation;

namespace LlmRouter.ChaosDemo;

/// <summary>Drives Poisson arrivals on simulated time until the run's end, then until every arrival's work is done.</summary>
internal static class PoissonArrivals
{
    /// <summary>Runs the simulation: calls <paramref name="arrive"/> (index, seconds into the run) at each arrival.</summary>
    /// <param name="time">The simulated clock, driven on this thread.</param>
    /// <param name="random">Draws the gaps between arrivals.</param>
    /// <param name="meanGapSeconds">The mean gap between arrivals.</param>
    /// <param name="totalSeconds">When arrivals stop.</param>
    /// <param name="progress">Told the share of the run done, 200 times over.</param>
    /// <param name="arrive">Starts one arrival's work; the run ends when every one has ended.</param>
    public static void Run(VirtualTimeProvider time, Random random, double meanGapSeconds, double totalSeconds, Action<double> progress, Func<int, double, Task> arrive)
    {
        var finished = new TaskCompletionSource();
        int outstanding = 0;
        bool arrivalsOver = false;
        double nextProgress = 0;
        int count = 0;
        long origin = time.GetTimestamp();

        async Task OneAsync(int index, double now)
        {
            try
            {
                await arrive(index, now).ConfigureAwait(false);
            }
            finally
            {
                if (Interlocked.Decrement(ref outstanding) == 0 && Volatile.Read(ref arrivalsOver))
                {
                    finished.TrySetResult();
                }
            }
        }

        ITimer? arrivalTimer = null;
        arrivalTimer = time.CreateTimer(
            _ =>
            {
                double now = time.GetElapsedTime(origin).TotalSeconds;
                Interlocked.Increment(ref outstanding);
                _ = OneAsync(count++, now);
                if (now >= nextProgress)
                {
                    progress(now / totalSeconds);
                    nextProgress += totalSeconds / 200;
                }

                double gap = -Math.Log(1.0 - random.NextDouble()) * meanGapSeconds;
                if (now + gap < totalSeconds)
                {
                    _ = arrivalTimer!.Change(TimeSpan.FromSeconds(gap), Timeout.InfiniteTimeSpan);
                }
                else
                {
                    Volatile.Write(ref arrivalsOver, true);
                    if (Volatile.Read(ref outstanding) == 0)
                    {
                        finished.TrySetResult();
                    }
                }
            },
            null,
            TimeSpan.FromSeconds(-Math.Log(1.0 - random.NextDouble()) * meanGapSeconds),
            Timeout.InfiniteTimeSpan);

        time.RunUntil(finished.Task);
        arrivalTimer.Dispose();
        progress(1);
    }
}
