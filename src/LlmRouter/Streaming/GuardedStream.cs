using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// An endpoint's stream whose reads end when the attempt's token is cancelled, even if the SDK ignores the token while
/// it reads (OllamaSharp does): the first-token and stall timeouts then work whatever the SDK, give or take a short
/// grace (<see cref="Grace"/>) that lets an SDK which does honour the token end the read by itself.
/// </summary>
/// <remarks>
/// <para>
/// A read that completes at once costs nothing extra. A pending read is awaited through this object itself (a reusable
/// <see cref="IValueTaskSource{TResult}"/>), completed by whichever comes first, the read or the token: no allocation
/// per update.
/// </para>
/// <para>
/// A read abandoned that way still runs inside the SDK, and an enumerator must not be disposed while it reads: disposal
/// then waits, in the background, for that read to end, and its outcome is observed.
/// </para>
/// </remarks>
internal sealed class GuardedStream : IAsyncEnumerator<ChatResponseUpdate>, IValueTaskSource<bool>
{
    private readonly IAsyncEnumerator<ChatResponseUpdate> _inner;
    private readonly CancellationToken _token;
    private readonly Action _onRead;
    private ManualResetValueTaskSourceCore<bool> _core;
    private ConfiguredValueTaskAwaitable<bool>.ConfiguredValueTaskAwaiter _read;
    private readonly CancellationTokenRegistration _registration;
    private readonly TimeProvider _timeProvider;
    private ITimer? _grace;
    private int _settled = 1;
    private int _orphaned;
    private int _orphanDone;
    private int _disposeWanted;
    private int _disposed;

    /// <summary>How long a read may take to end by itself once the token fired, before it is abandoned.</summary>
    internal static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(200);

    public GuardedStream(IAsyncEnumerator<ChatResponseUpdate> inner, TimeProvider timeProvider, CancellationToken token)
    {
        _inner = inner;
        _token = token;
        _timeProvider = timeProvider;
        _onRead = OnRead;
        if (token.CanBeCanceled)
        {
            _registration = token.UnsafeRegister(static state => ((GuardedStream)state!).OnCanceled(), this);
        }
    }

    public ChatResponseUpdate Current => _inner.Current;

    public ValueTask<bool> MoveNextAsync()
    {
        ValueTask<bool> next = _inner.MoveNextAsync();
        if (next.IsCompleted || !_token.CanBeCanceled)
        {
            return next;
        }

        _core.Reset();
        _read = next.ConfigureAwait(false).GetAwaiter();
        Volatile.Write(ref _settled, 0);
        _read.UnsafeOnCompleted(_onRead);
        if (_token.IsCancellationRequested)
        {
            OnCanceled(); // cancelled before the read was registered as pending: the callback may have missed it
        }

        return new ValueTask<bool>(this, _core.Version);
    }

    public ValueTask DisposeAsync()
    {
        _registration.Dispose();
        Interlocked.Exchange(ref _grace, null)?.Dispose();
        if (Volatile.Read(ref _orphaned) == 1)
        {
            Volatile.Write(ref _disposeWanted, 1);
            if (Volatile.Read(ref _orphanDone) == 0)
            {
                return default; // the abandoned read, when it ends, disposes (see OnRead)
            }
        }

        return DisposeOnceAsync();
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void OnRead()
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
        {
            // The token won: this read was abandoned. Observe its outcome, then dispose if that was asked meanwhile.
            try
            {
                _ = _read.GetResult();
            }
#pragma warning disable CA1031 // The request already moved on; an abandoned read's failure is nobody's to handle.
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            Volatile.Write(ref _orphanDone, 1);
            if (Volatile.Read(ref _disposeWanted) == 1)
            {
                _ = DisposeInBackgroundAsync();
            }

            return;
        }

        try
        {
            _core.SetResult(_read.GetResult());
        }
#pragma warning disable CA1031 // Handed to the awaiting reader as the read's own failure.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            _core.SetException(exception);
        }
    }

    /// <summary>
    /// The token fired while a read is pending: an SDK that honours it ends the read by itself, often a moment later on
    /// another thread; one that ignores it never does. The read is abandoned only if it is still pending after a short
    /// grace on the router's clock.
    /// </summary>
    private void OnCanceled()
    {
        if (Volatile.Read(ref _settled) != 0)
        {
            return;
        }

        ITimer grace = _timeProvider.CreateTimer(static state => ((GuardedStream)state!).Abandon(), this, Grace, Timeout.InfiniteTimeSpan);
        Interlocked.Exchange(ref _grace, grace)?.Dispose();
    }

    private void Abandon()
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
        {
            return;
        }

        Volatile.Write(ref _orphaned, 1);
        _core.SetException(new OperationCanceledException(_token));
    }

    private ValueTask DisposeOnceAsync() =>
        Interlocked.Exchange(ref _disposed, 1) == 0 ? _inner.DisposeAsync() : default;

    private async Task DisposeInBackgroundAsync()
    {
        try
        {
            await DisposeOnceAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Nothing may escape a background disposal.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
