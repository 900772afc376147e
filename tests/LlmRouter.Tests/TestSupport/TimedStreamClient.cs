using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A fake streaming endpoint whose timing runs on a (fake) <see cref="TimeProvider"/>: it can delay its first chunk,
/// stall after some chunks (for a while or until cancelled), throw, end without a finish reason, send an in-band
/// <see cref="ErrorContent"/> update or a tool call. Plays one <see cref="StreamScript"/> per call (the last one added
/// with <c>always</c> repeats), and records each call: its messages, its token, and whether its enumerator was disposed.
/// </summary>
/// <remarks>
/// A test that must advance the clock while the stream waits awaits <see cref="WhenWaiting"/> first: it completes once
/// the wait's timer exists, so advancing the clock then fires it deterministically (no sleeps).
/// Every update carries the call's <c>MessageId</c> ("{name}-msg-{call}") and <c>ResponseId</c> ("{name}-resp-{call}").
/// </remarks>
public sealed class TimedStreamClient : IChatClient
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly Queue<StreamScript> _script = new();
    private readonly List<StreamCall> _calls = [];
    private readonly Dictionary<(int Call, int Wait), TaskCompletionSource> _waitSignals = [];
    private readonly Dictionary<int, TaskCompletionSource> _endSignals = [];
    private StreamScript? _fallback;
    private int _responses;

    public TimedStreamClient(string name, TimeProvider time)
    {
        Name = name;
        _time = time;
    }

    public string Name { get; }

    /// <summary>Gets how many streams the endpoint was asked for.</summary>
    public int CallCount
    {
        get
        {
            lock (_gate)
            {
                return _calls.Count;
            }
        }
    }

    /// <summary>Gets every call so far, in order.</summary>
    public IReadOnlyList<StreamCall> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Adds a stream to the script; the last one added with <paramref name="always"/> repeats once the queue is empty.</summary>
    public TimedStreamClient Then(StreamScript stream, bool always = false)
    {
        lock (_gate)
        {
            if (always)
            {
                _fallback = stream;
            }
            else
            {
                _script.Enqueue(stream);
            }
        }

        return this;
    }

    /// <summary>Adds a well-behaved stream of <paramref name="chunks"/> that ends with a finish reason.</summary>
    public TimedStreamClient Streams(params string[] chunks) => Then(new StreamScript { Chunks = chunks });

    /// <summary>Completes when call <paramref name="call"/> (from 1) starts its wait number <paramref name="wait"/> (from 1): a first-chunk delay or a stall.</summary>
    public Task WhenWaiting(int call = 1, int wait = 1)
    {
        lock (_gate)
        {
            return WaitSignal(call, wait).Task;
        }
    }

    /// <summary>Completes when call <paramref name="call"/> (from 1) has ended: completed, failed or disposed.</summary>
    public Task WhenEnded(int call = 1)
    {
        lock (_gate)
        {
            return EndSignal(call).Task;
        }
    }

    /// <summary>Gets how many non-streaming requests the endpoint answered.</summary>
    public int ResponseCount => Volatile.Read(ref _responses);

    /// <summary>Answers a non-streaming request at once (no script step is used): "{name}".</summary>
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        _ = Interlocked.Increment(ref _responses);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, Name)) { FinishReason = ChatFinishReason.Stop });
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        StreamCall call;
        StreamScript step;
        lock (_gate)
        {
            call = new StreamCall(_calls.Count + 1, [.. messages], cancellationToken);
            _calls.Add(call);
            step = _script.TryDequeue(out StreamScript? next)
                ? next
                : _fallback ?? throw new InvalidOperationException($"Endpoint '{Name}' was called {_calls.Count} time(s); its script has no stream left.");
        }

        return new Tracked(this, call, step);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    private TaskCompletionSource WaitSignal(int call, int wait)
    {
        if (!_waitSignals.TryGetValue((call, wait), out TaskCompletionSource? signal))
        {
            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waitSignals.Add((call, wait), signal);
        }

        return signal;
    }

    private TaskCompletionSource EndSignal(int call)
    {
        if (!_endSignals.TryGetValue(call, out TaskCompletionSource? signal))
        {
            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _endSignals.Add(call, signal);
        }

        return signal;
    }

    private void SignalWaiting(StreamCall call)
    {
        int wait = Interlocked.Increment(ref call.WaitCount);
        lock (_gate)
        {
            _ = WaitSignal(call.Number, wait).TrySetResult();
        }
    }

    private void SignalEnded(StreamCall call)
    {
        lock (_gate)
        {
            _ = EndSignal(call.Number).TrySetResult();
        }
    }

    private async IAsyncEnumerable<ChatResponseUpdate> PlayAsync(StreamCall call, StreamScript step, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? messageId = step.OmitIds ? null : $"{Name}-msg-{call.Number}";
        string? responseId = step.OmitIds ? null : $"{Name}-resp-{call.Number}";
        ChatResponseUpdate Update(params AIContent[] contents) => new()
        {
            Role = ChatRole.Assistant,
            MessageId = messageId,
            ResponseId = responseId,
            Contents = [.. contents],
        };

        try
        {
            if (step.LeadingRoleUpdate)
            {
                yield return Update();
            }

            string[] chunks = step.Chunks;
            for (int i = 0; i <= chunks.Length; i++)
            {
                if (i == 0 && step.FirstChunkDelay > TimeSpan.Zero)
                {
                    Task delay = Task.Delay(step.FirstChunkDelay, _time, cancellationToken);
                    SignalWaiting(call);
                    await delay;
                }

                if (step.ErrorAfter == i)
                {
                    yield return Update(new ErrorContent(step.ErrorMessage) { ErrorCode = step.ErrorCode, Details = step.ErrorDetails });
                    yield break; // a provider ends its stream after an error event
                }

                if (step.ToolCallAfter == i)
                {
                    yield return Update(new FunctionCallContent("call-1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" }));
                }

                if (step.UsageAfter == i)
                {
                    yield return Update(new UsageContent(step.Usage ?? new UsageDetails()));
                }

                if (step.ThrowAfter == i)
                {
                    throw step.Exception ?? new HttpRequestException("HTTP 502", null, System.Net.HttpStatusCode.BadGateway);
                }

                if (step.StallAfter == i)
                {
                    Task stall = step.StallFor is { } duration
                        ? Task.Delay(duration, _time, cancellationToken)
                        : Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
                    SignalWaiting(call);
                    await stall;
                }

                if (i == chunks.Length)
                {
                    break;
                }

                cancellationToken.ThrowIfCancellationRequested(); // as real SDKs do between chunks
                Interlocked.Increment(ref call.YieldedCount);
                yield return Update(new TextContent(chunks[i]));
            }

            if (step.OmitFinishReason)
            {
                yield break; // ends cleanly, but cut short
            }

            ChatResponseUpdate finish = Update();
            finish.FinishReason = step.FinishReason;
            if (step.FinishUsage is { } usage)
            {
                finish.Contents.Add(new UsageContent(usage));
            }

            yield return finish;
            if (step.ThrowAfterFinish)
            {
                throw step.Exception ?? new HttpRequestException("HTTP 502", null, System.Net.HttpStatusCode.BadGateway);
            }
        }
        finally
        {
            SignalEnded(call);
        }
    }

    /// <summary>Records the enumerator's disposal and the token it was enumerated with.</summary>
    private sealed class Tracked(TimedStreamClient client, StreamCall call, StreamScript step) : IAsyncEnumerable<ChatResponseUpdate>
    {
        public IAsyncEnumerator<ChatResponseUpdate> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        {
            call.EnumeratorToken = cancellationToken;

            // The iterator listens to both tokens: the call's and the enumerator's.
            return new Enumerator(client.PlayAsync(call, step, call.Token).GetAsyncEnumerator(cancellationToken), call);
        }
    }

    private sealed class Enumerator(IAsyncEnumerator<ChatResponseUpdate> inner, StreamCall call) : IAsyncEnumerator<ChatResponseUpdate>
    {
        public ChatResponseUpdate Current => inner.Current;

        public ValueTask<bool> MoveNextAsync() => inner.MoveNextAsync();

        public async ValueTask DisposeAsync()
        {
            Interlocked.Increment(ref call.DisposeCount);
            await inner.DisposeAsync();
        }
    }
}

/// <summary>One call's script for <see cref="TimedStreamClient"/>. Positions count chunks: "after k" happens before chunk k (0 = before any).</summary>
public sealed record StreamScript
{
    /// <summary>Gets the text chunks, one update each.</summary>
    public string[] Chunks { get; init; } = [];

    /// <summary>Gets a role-only update (not output) sent before anything else.</summary>
    public bool LeadingRoleUpdate { get; init; }

    /// <summary>Gets the virtual delay before the first chunk (the time to first token).</summary>
    public TimeSpan FirstChunkDelay { get; init; }

    /// <summary>Gets after how many chunks the stream stalls.</summary>
    public int? StallAfter { get; init; }

    /// <summary>Gets how long the stall lasts on the clock; <see langword="null"/>: until cancelled.</summary>
    public TimeSpan? StallFor { get; init; }

    /// <summary>Gets after how many chunks the stream throws <see cref="Exception"/> (an HTTP 502 by default).</summary>
    public int? ThrowAfter { get; init; }

    public Exception? Exception { get; init; }

    /// <summary>Gets after how many chunks the stream sends an <see cref="ErrorContent"/> update and ends.</summary>
    public int? ErrorAfter { get; init; }

    public string? ErrorCode { get; init; } = "overloaded_error";

    public string ErrorMessage { get; init; } = "Overloaded";

    public string? ErrorDetails { get; init; }

    /// <summary>Gets after how many chunks the stream sends a tool call (<see cref="FunctionCallContent"/>).</summary>
    public int? ToolCallAfter { get; init; }

    /// <summary>Gets after how many chunks the stream sends a usage-only update with <see cref="Usage"/>.</summary>
    public int? UsageAfter { get; init; }

    public UsageDetails? Usage { get; init; }

    /// <summary>Gets the usage carried by the final (finish reason) update, if any.</summary>
    public UsageDetails? FinishUsage { get; init; }

    /// <summary>Gets a value indicating whether the stream throws <see cref="Exception"/> right after its finish update (the connection drops after the answer).</summary>
    public bool ThrowAfterFinish { get; init; }

    /// <summary>Gets a value indicating whether the stream ends without a finish reason (cut short).</summary>
    public bool OmitFinishReason { get; init; }

    public ChatFinishReason FinishReason { get; init; } = ChatFinishReason.Stop;

    /// <summary>Gets a value indicating whether the updates carry no MessageId and no ResponseId (as some providers send).</summary>
    public bool OmitIds { get; init; }
}

/// <summary>What one call of <see cref="TimedStreamClient"/> received and how it ended.</summary>
public sealed class StreamCall
{
    internal int WaitCount;
    internal int YieldedCount;
    internal int DisposeCount;

    public StreamCall(int number, List<ChatMessage> messages, CancellationToken token)
    {
        Number = number;
        Messages = messages;
        Token = token;
    }

    /// <summary>Gets the call's number, from 1.</summary>
    public int Number { get; }

    /// <summary>Gets a copy of the messages the call received.</summary>
    public List<ChatMessage> Messages { get; }

    /// <summary>Gets the token passed to <c>GetStreamingResponseAsync</c>.</summary>
    public CancellationToken Token { get; }

    /// <summary>Gets the token passed to <c>GetAsyncEnumerator</c>.</summary>
    public CancellationToken EnumeratorToken { get; internal set; }

    /// <summary>Gets how many text chunks the call yielded.</summary>
    public int Yielded => Volatile.Read(ref YieldedCount);

    /// <summary>Gets a value indicating whether the call's enumerator was disposed.</summary>
    public bool Disposed => Volatile.Read(ref DisposeCount) > 0;

    /// <summary>Gets how many times the call's enumerator was disposed.</summary>
    public int Disposals => Volatile.Read(ref DisposeCount);
}
