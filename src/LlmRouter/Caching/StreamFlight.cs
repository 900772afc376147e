using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// One upstream stream shared by identical streaming requests in flight at once: a pump reads it into a recording of
/// private copies, and every request reads the recording from its start at its own pace, each update copied again for it.
/// </summary>
/// <remarks>
/// The pump runs detached from any caller's token; it is cancelled only when every reader has left (cancelled or
/// stopped reading). A failure reaches every reader after the updates that came before it, exactly as the upstream
/// stream delivered them.
/// </remarks>
internal sealed class StreamFlight
{
    private readonly object _lock = new();
    private readonly List<ChatResponseUpdate> _updates = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _done;
    private ExceptionDispatchInfo? _error;
    private int _readers = 1;

    /// <summary>Set once every reader has left, so that the flight is dropped and new requests start afresh.</summary>
    public bool ReadersGone;

    public CancellationTokenSource Cancellation { get; } = new();

    /// <summary>Gets or sets the routing facts of the upstream stream, once its first update carried them.</summary>
    public RoutingInfo? Info { get; set; }

    /// <summary>Gets a value indicating whether every update could be copied, so readers never share an object.</summary>
    public bool Copyable { get; private set; } = true;

    /// <summary>Gets the recorded updates once the stream completed; only the pump reads it then.</summary>
    public List<ChatResponseUpdate> Recorded => _updates;

    /// <summary>Joins as another reader, unless every reader already left.</summary>
    public bool TryJoin()
    {
        while (true)
        {
            int readers = Volatile.Read(ref _readers);
            if (readers == 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _readers, readers + 1, readers) == readers)
            {
                return true;
            }
        }
    }

    /// <summary>Leaves; the last reader to leave cancels the pump.</summary>
    /// <returns><see langword="true"/> when this was the last reader.</returns>
    public bool Leave()
    {
        if (Interlocked.Decrement(ref _readers) != 0)
        {
            return false;
        }

        Volatile.Write(ref ReadersGone, true);
        try
        {
            Cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The pump ended meanwhile.
        }

        return true;
    }

    /// <summary>Records an update (the pump's own copy when it can be copied).</summary>
    public void Add(ChatResponseUpdate update)
    {
        bool copyable = ResponseCopier.CanCopy(update.Contents);
        ChatResponseUpdate own = copyable ? ResponseCopier.Copy(update) : update;
        lock (_lock)
        {
            Copyable &= copyable;
            _updates.Add(own);
            Signal();
        }
    }

    /// <summary>Ends the recording, with the stream's failure if it failed.</summary>
    public void Complete(Exception? error)
    {
        lock (_lock)
        {
            _done = true;
            _error = error is null ? null : ExceptionDispatchInfo.Capture(error);
            Signal();
        }
    }

    /// <summary>Reads the recording from its start, waiting for the pump as needed; leaves the flight if the reader stops early.</summary>
    /// <param name="result">What the cache did for this reader (<see cref="CacheResult.Miss"/> for the one that started it).</param>
    /// <param name="cancellationToken">The reader's token: cancelling it leaves the flight, not the pump.</param>
    public async IAsyncEnumerable<ChatResponseUpdate> ReadAsync(CacheResult result, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        int index = 0;
        bool finished = false;
        try
        {
            while (true)
            {
                ChatResponseUpdate? next = null;
                Task changed;
                lock (_lock)
                {
                    if (index < _updates.Count)
                    {
                        next = _updates[index++];
                    }
                    else if (_done)
                    {
                        finished = true;
                        _error?.Throw();
                        yield break;
                    }

                    changed = _changed.Task;
                }

                if (next is null)
                {
                    await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                ChatResponseUpdate update = Copyable ? ResponseCopier.Copy(next) : next;
                if (index == 1 && Info is { } info)
                {
                    RoutingInfoExtensions.Attach(update, info.As(result));
                }

                yield return update;
            }
        }
        finally
        {
            if (!finished)
            {
                _ = Leave(); // cancelled, or stopped reading: the others may still read
            }
        }
    }

    private void Signal() =>
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
