using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A fake endpoint that answers (or streams its first chunk) after a virtual delay: each call waits
/// <see cref="Latency"/>(call number) on the given <see cref="TimeProvider"/> with <c>Task.Delay(d, time, token)</c>,
/// then answers, or throws <see cref="Failure"/>(call number). Records every call: when it started (virtual time),
/// its token, and how it ended (success, failure, cancellation); for streams, when the consumer disposed the enumerator.
/// Call numbers start at 1.
/// </summary>
/// <remarks>
/// Unlike <see cref="LatencyChatClient"/>, the clock does not move inside the call: the call stays in flight until the
/// test advances the clock, so that several attempts can run at once (hedging).
/// </remarks>
public sealed class DelayedChatClient : IChatClient
{
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<int, CallRecord> _records = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<CallRecord>> _called = new();
    private int _calls;
    private int _successes;
    private int _failures;
    private int _cancellations;

    public DelayedChatClient(string name, TimeProvider time, Func<int, TimeSpan> latency)
    {
        Name = name;
        _time = time;
        Latency = latency;
    }

    public DelayedChatClient(string name, TimeProvider time, double milliseconds)
        : this(name, time, _ => TimeSpan.FromMilliseconds(milliseconds))
    {
    }

    public string Name { get; }

    /// <summary>Gets or sets the delay of call n before it answers (for a stream, before its first chunk).</summary>
    public Func<int, TimeSpan> Latency { get; set; }

    /// <summary>Gets or sets the exception call n throws after its delay; <see langword="null"/> to answer.</summary>
    public Func<int, Exception?> Failure { get; set; } = static _ => null;

    /// <summary>Gets or sets the text chunks a stream sends; by default the endpoint's name.</summary>
    public Func<int, string[]>? Chunks { get; set; }

    /// <summary>
    /// Gets or sets, for call n, after how many chunks (at least 1) its stream fails and with what exception;
    /// <see langword="null"/> for a stream that completes.
    /// </summary>
    public Func<int, (int AfterChunks, Exception Error)?> MidStreamFailure { get; set; } = static _ => null;

    /// <summary>Gets or sets the delay between a stream's chunks after the first.</summary>
    public Func<int, TimeSpan> ChunkInterval { get; set; } = static _ => TimeSpan.Zero;

    public int Calls => Volatile.Read(ref _calls);

    public int Successes => Volatile.Read(ref _successes);

    public int Failures => Volatile.Read(ref _failures);

    public int Cancellations => Volatile.Read(ref _cancellations);

    /// <summary>The record of call <paramref name="call"/> (it must have started).</summary>
    public CallRecord Call(int call) => _records[call];

    /// <summary>Completes when call <paramref name="call"/> starts (at once if it already did).</summary>
    public Task<CallRecord> WhenCalled(int call) => Signal(call).Task;

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        RespondAsync(Begin(streaming: false, cancellationToken), cancellationToken);

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        CallRecord record = Begin(streaming: true, cancellationToken);
        return new RecordingStream(this, record);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    private TaskCompletionSource<CallRecord> Signal(int call) =>
        _called.GetOrAdd(call, static _ => new TaskCompletionSource<CallRecord>(TaskCreationOptions.RunContinuationsAsynchronously));

    private CallRecord Begin(bool streaming, CancellationToken token)
    {
        int call = Interlocked.Increment(ref _calls);
        var record = new CallRecord(call, _time.GetUtcNow(), streaming, token);
        _records[call] = record;
        _ = Signal(call).TrySetResult(record);
        return record;
    }

    private async Task<ChatResponse> RespondAsync(CallRecord record, CancellationToken cancellationToken)
    {
        await WaitAsync(record, Latency(record.Number), cancellationToken).ConfigureAwait(false);
        if (Failure(record.Number) is { } failure)
        {
            End(record, CallOutcome.Failed);
            throw failure;
        }

        End(record, CallOutcome.Succeeded);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, Name))
        {
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 5, TotalTokenCount = 15 },
        };
    }

    private async Task WaitAsync(CallRecord record, TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            End(record, CallOutcome.Canceled);
            throw;
        }
    }

    private void End(CallRecord record, CallOutcome outcome)
    {
        if (record.Outcome is not null)
        {
            return;
        }

        record.EndedAt = _time.GetUtcNow();
        record.Outcome = outcome;
        _ = outcome switch
        {
            CallOutcome.Succeeded => Interlocked.Increment(ref _successes),
            CallOutcome.Failed => Interlocked.Increment(ref _failures),
            _ => Interlocked.Increment(ref _cancellations),
        };
        _ = record.Ended.TrySetResult(outcome);
    }

    private async IAsyncEnumerable<ChatResponseUpdate> PlayAsync(CallRecord record, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await WaitAsync(record, Latency(record.Number), cancellationToken).ConfigureAwait(false);
        if (Failure(record.Number) is { } failure)
        {
            End(record, CallOutcome.Failed);
            throw failure;
        }

        string[] chunks = (Chunks ?? (_ => [Name]))(record.Number);
        (int AfterChunks, Exception Error)? midStream = MidStreamFailure(record.Number);
        for (int i = 0; i < chunks.Length; i++)
        {
            if (i > 0)
            {
                await WaitAsync(record, ChunkInterval(record.Number), cancellationToken).ConfigureAwait(false);
            }

            if (midStream is { } cut && cut.AfterChunks == i)
            {
                End(record, CallOutcome.Failed);
                throw cut.Error;
            }

            record.ChunksSent++;
            yield return new ChatResponseUpdate(ChatRole.Assistant, chunks[i]);
        }

        End(record, CallOutcome.Succeeded);
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(new UsageDetails { InputTokenCount = 10, OutputTokenCount = chunks.Length })],
        };
    }

    public enum CallOutcome
    {
        Succeeded,
        Failed,
        Canceled,
    }

    /// <summary>One call: when it started and ended (virtual time), its token, its outcome, and a stream's disposal.</summary>
    public sealed class CallRecord
    {
        internal CallRecord(int number, DateTimeOffset startedAt, bool streaming, CancellationToken token)
        {
            Number = number;
            StartedAt = startedAt;
            Token = token;
            Streaming = streaming;
        }

        public int Number { get; }

        public DateTimeOffset StartedAt { get; }

        public CancellationToken Token { get; }

        public bool Streaming { get; }

        public DateTimeOffset? EndedAt { get; internal set; }

        public CallOutcome? Outcome { get; internal set; }

        public int ChunksSent { get; internal set; }

        /// <summary>Gets a task that completes with the outcome once the call ended.</summary>
        public TaskCompletionSource<CallOutcome> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Gets a task that completes once the consumer disposed the stream's enumerator.</summary>
        public TaskCompletionSource EnumeratorDisposed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The stream of one call: records when its consumer disposes the enumerator.</summary>
    private sealed class RecordingStream(DelayedChatClient owner, CallRecord record) : IAsyncEnumerable<ChatResponseUpdate>
    {
        public IAsyncEnumerator<ChatResponseUpdate> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
            new Enumerator(owner.PlayAsync(record, record.Token).GetAsyncEnumerator(cancellationToken), record);

        private sealed class Enumerator(IAsyncEnumerator<ChatResponseUpdate> inner, CallRecord record) : IAsyncEnumerator<ChatResponseUpdate>
        {
            public ChatResponseUpdate Current => inner.Current;

            public ValueTask<bool> MoveNextAsync() => inner.MoveNextAsync();

            public async ValueTask DisposeAsync()
            {
                try
                {
                    await inner.DisposeAsync();
                }
                finally
                {
                    _ = record.EnumeratorDisposed.TrySetResult();
                }
            }
        }
    }
}
