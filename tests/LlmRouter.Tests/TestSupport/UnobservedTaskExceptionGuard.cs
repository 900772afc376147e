using System.Collections.Concurrent;
using LlmRouter.Tests.TestSupport;

[assembly: AssemblyFixture(typeof(UnobservedTaskExceptionGuard))]

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// Fails the test run when any task's exception went unobserved (<see cref="TaskScheduler.UnobservedTaskException"/>)
/// while the suite ran: subscribed before the first test, checked after the last one, once every finalizer has run.
/// </summary>
/// <remarks>
/// A faulted task raises the event only when it is collected; so on disposal the guard collects, waits for the
/// finalizers and collects again before it looks. The run's result shows the exceptions it saw.
/// </remarks>
public sealed class UnobservedTaskExceptionGuard : IDisposable
{
    private static readonly ConcurrentQueue<Exception> Seen = new();

    public UnobservedTaskExceptionGuard() => TaskScheduler.UnobservedTaskException += OnUnobserved;

    /// <summary>Gets every unobserved task exception seen since the suite started.</summary>
    public static IReadOnlyCollection<Exception> Unobserved => Seen.ToArray();

    /// <summary>Collects twice, running the finalizers in between, so that every dead faulted task has reported.</summary>
    public static void CollectAll()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    public void Dispose()
    {
        CollectAll();
        TaskScheduler.UnobservedTaskException -= OnUnobserved;
        if (!Seen.IsEmpty)
        {
            throw new AggregateException(
                $"{Seen.Count} task exception(s) went unobserved (TaskScheduler.UnobservedTaskException) while the tests ran.", Seen);
        }
    }

    private static void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => Seen.Enqueue(e.Exception);
}
