using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that can hold one thread at its next <see cref="GetTimestamp"/> call, so that a test
/// can force an interleaving of concurrent requests deterministically (no sleeps): arm it for a thread (from code that
/// runs on that thread, such as an <see cref="IEndpointScorer"/>, or from the test), wait until the thread is held, run
/// the other request, then <see cref="Resume"/>. A clock read is a precise place to hold a request: the router reads
/// the clock right before it asks an endpoint's health to admit an attempt, and right after a request ends.
/// </summary>
public sealed class InterleavingFakeTimeProvider : FakeTimeProvider, IDisposable
{
    private readonly SemaphoreSlim _paused = new(0);
    private readonly SemaphoreSlim _resume = new(0);
    private Thread? _armed;

    public InterleavingFakeTimeProvider()
        : base(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    /// <summary>Holds <paramref name="thread"/> at its next <see cref="GetTimestamp"/> call.</summary>
    public void PauseAtNextTimestamp(Thread thread) => Volatile.Write(ref _armed, thread);

    /// <summary>Holds the current thread at its next <see cref="GetTimestamp"/> call.</summary>
    public void PauseCurrentThreadAtNextTimestamp() => PauseAtNextTimestamp(Thread.CurrentThread);

    /// <summary>Waits until the armed thread is held; <see langword="false"/> if it never gets there.</summary>
    public bool WaitUntilPaused() => _paused.Wait(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

    /// <summary>Lets the held thread go on.</summary>
    public void Resume() => _resume.Release();

    public override long GetTimestamp()
    {
        Thread current = Thread.CurrentThread;
        if (Volatile.Read(ref _armed) == current && Interlocked.CompareExchange(ref _armed, null, current) == current)
        {
            _ = _paused.Release();
            _ = _resume.Wait(TimeSpan.FromSeconds(30)); // a safety net only: the test resumes it
        }

        return base.GetTimestamp();
    }

    public void Dispose()
    {
        _ = _resume.Release(100);
        _paused.Dispose();
        _resume.Dispose();
    }
}
