using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Reliability;

/// <summary>
/// A fake endpoint that plays a freshly generated, possibly malformed stream on every call (seeded by case, endpoint and
/// call), and records exactly what it produced: every update it yielded, how the stream ended, and its disposal.
/// </summary>
internal sealed class FuzzStreamClient : IChatClient
{
    /// <summary>Shared huge chunks (1 MiB, 3 MiB), so that MB-sized updates cost no allocation per case.</summary>
    private static readonly string[] HugeChunks = [new string('h', 1 << 20), new string('H', 3 << 20)];

    private readonly FuzzRecorder _recorder;
    private readonly int _seed;
    private int _calls;

    public FuzzStreamClient(string name, int index, int caseSeed, FuzzRecorder recorder)
    {
        Name = name;
        Index = index;
        _seed = unchecked((caseSeed * 31) + (index * 7919));
        _recorder = recorder;
    }

    public string Name { get; }

    public int Index { get; }

    /// <summary>The script of call <paramref name="call"/> (from 0): the same for the same seed, whatever the interleaving.</summary>
    public List<FuzzStep> ScriptOf(int call) => Generate(new Random(unchecked(_seed + (call * 104_729))));

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        int call = Interlocked.Increment(ref _calls) - 1;
        List<FuzzStep> script = ScriptOf(call);
        FuzzStream log = _recorder.Open(this, call, script);
        if (script[0].Kind == FuzzStepKind.ThrowAtCall)
        {
            log.End(FuzzEnd.Threw, script[0].Exception);
            throw script[0].Exception!; // before any enumerator exists
        }

        return PlayAsync(script, log, cancellationToken);
    }

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        int call = Interlocked.Increment(ref _calls) - 1;
        List<FuzzStep> script = ScriptOf(call);
        FuzzStream log = _recorder.Open(this, call, script);
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in PlayAsync(script, log, cancellationToken).ConfigureAwait(false))
        {
            updates.Add(update);
        }

        ChatResponse response = updates.ToChatResponse();
        log.Response = response;
        return response;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    private async IAsyncEnumerable<ChatResponseUpdate> PlayAsync(List<FuzzStep> script, FuzzStream log, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            foreach (FuzzStep step in script)
            {
                if (step.Async)
                {
                    await Task.Yield();
                }

                switch (step.Kind)
                {
                    case FuzzStepKind.ThrowAtCall:
                    case FuzzStepKind.Throw:
                        log.End(FuzzEnd.Threw, step.Exception);
                        throw step.Exception!;
                    case FuzzStepKind.Hang:
                        await log.HangAsync(step.HonoursCancellation, cancellationToken).ConfigureAwait(false);
                        log.End(FuzzEnd.Threw, null);
                        cancellationToken.ThrowIfCancellationRequested();
                        throw new IOException("The hang was released at the end of the case.");
                    case FuzzStepKind.Update:
                        ChatResponseUpdate update = step.Build!();
                        log.OnYield(update);
                        yield return update;
                        break;
                }
            }

            log.End(FuzzEnd.Completed, null);
        }
        finally
        {
            log.Disposed = true;
        }
    }

    private static List<FuzzStep> Generate(Random random)
    {
        var steps = new List<FuzzStep>();
        int shape = random.Next(100);
        if (shape < 4)
        {
            return [new FuzzStep(FuzzStepKind.ThrowAtCall, false) { Exception = Failure(random) }];
        }

        // Most streams look like a provider's: a role update, some text, a finish reason, usage; the rest is noise.
        int length = random.Next(0, 9);
        bool wellFormed = shape < 45;
        string messageId = $"m{random.Next()}";
        if (wellFormed)
        {
            steps.Add(Update(random, () => new ChatResponseUpdate { Role = ChatRole.Assistant, MessageId = messageId }));
            for (int i = 0; i < Math.Max(1, length); i++)
            {
                string text = $"t{i}.{random.Next(1000)} ";
                steps.Add(Update(random, () => new ChatResponseUpdate(ChatRole.Assistant, text) { MessageId = messageId }));
            }

            steps.Add(Update(random, () => new ChatResponseUpdate { Role = ChatRole.Assistant, MessageId = messageId, FinishReason = ChatFinishReason.Stop }));
            steps.Add(Update(random, () => new ChatResponseUpdate { Contents = [new UsageContent(new UsageDetails { InputTokenCount = 3, OutputTokenCount = 4 })], MessageId = messageId }));
            return steps;
        }

        for (int i = 0; i < length; i++)
        {
            int pick = random.Next(100);
            steps.Add(pick switch
            {
                < 30 => Text(random, messageId),
                < 36 => Update(random, () => new ChatResponseUpdate(ChatRole.Assistant, string.Empty) { MessageId = messageId }),
                < 42 => Update(random, () => new ChatResponseUpdate { Role = ChatRole.Assistant, MessageId = messageId }),
                < 46 => Update(random, () => new ChatResponseUpdate { Contents = null!, MessageId = messageId }),
                < 50 => Update(random, () => new ChatResponseUpdate { Contents = [new UsageContent(new UsageDetails { TotalTokenCount = 7 })] }),
                < 54 => Update(random, () => new ChatResponseUpdate { Contents = [new TextReasoningContent(string.Empty)], MessageId = messageId }),
                < 58 => Update(random, () => new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent($"c{i}", "lookup", new Dictionary<string, object?> { ["q"] = i })]) { MessageId = messageId }),
                < 70 => Finish(random, messageId),
                < 77 => InBandError(random, messageId),
                < 82 => new FuzzStep(FuzzStepKind.Throw, random.Next(2) == 0) { Exception = Failure(random) },
                < 87 => new FuzzStep(FuzzStepKind.Hang, random.Next(2) == 0) { HonoursCancellation = random.Next(3) != 0 },
                < 89 => Update(random, () => new ChatResponseUpdate(ChatRole.Assistant, HugeChunks[i % 2]) { MessageId = messageId }),
                _ => Text(random, messageId),
            });
        }

        if (random.Next(4) == 0)
        {
            steps.Add(Finish(random, messageId)); // often a finish reason at the end, sometimes a second one
        }

        return steps.Count == 0 ? [new FuzzStep(FuzzStepKind.Update, false) { Build = () => new ChatResponseUpdate() }] : steps;
    }

    private static FuzzStep Update(Random random, Func<ChatResponseUpdate> build) => new(FuzzStepKind.Update, random.Next(3) == 0) { Build = build };

    private static FuzzStep Text(Random random, string messageId)
    {
        string text = $"x{random.Next(100_000)} ";
        return Update(random, () => new ChatResponseUpdate(ChatRole.Assistant, text) { MessageId = messageId });
    }

    private static FuzzStep Finish(Random random, string messageId)
    {
        ChatFinishReason reason = random.Next(4) switch
        {
            0 => ChatFinishReason.Length,
            1 => ChatFinishReason.ContentFilter,
            2 => ChatFinishReason.ToolCalls,
            _ => ChatFinishReason.Stop,
        };
        return Update(random, () => new ChatResponseUpdate { FinishReason = reason, MessageId = messageId });
    }

    private static FuzzStep InBandError(Random random, string messageId)
    {
        string code = random.Next(6) switch
        {
            0 => "overloaded_error",
            1 => "429",
            2 => "invalid_request_error",
            3 => "content_filter",
            4 => "context_length_exceeded",
            _ => "api_error",
        };
        return Update(random, () => new ChatResponseUpdate { Contents = [new ErrorContent("provider error") { ErrorCode = code }], MessageId = messageId });
    }

    /// <summary>What SDKs throw: HTTP statuses (some of them request errors the router rethrows), I/O, garbled JSON, timeouts, the unknown.</summary>
    private static Exception Failure(Random random) => random.Next(10) switch
    {
        0 => new HttpRequestException("HTTP 503", null, System.Net.HttpStatusCode.ServiceUnavailable),
        1 => new HttpRequestException("HTTP 429", null, System.Net.HttpStatusCode.TooManyRequests),
        2 => new HttpRequestException("HTTP 400", null, System.Net.HttpStatusCode.BadRequest),
        3 => new HttpRequestException("HTTP 400 context_length_exceeded", null, System.Net.HttpStatusCode.BadRequest),
        4 => new HttpRequestException("HTTP 401", null, System.Net.HttpStatusCode.Unauthorized),
        5 => new IOException("connection reset"),
        6 => new System.Text.Json.JsonException("garbled chunk"),
        7 => new TimeoutException("SDK timeout"),
        8 => new OperationCanceledException("SDK's own timeout"),
        _ => new InvalidOperationException("something unexpected"),
    };
}

internal enum FuzzStepKind
{
    Update,
    Throw,
    ThrowAtCall,
    Hang,
}

internal sealed record FuzzStep(FuzzStepKind Kind, bool Async)
{
    public Func<ChatResponseUpdate>? Build { get; init; }

    public Exception? Exception { get; init; }

    public bool HonoursCancellation { get; init; }
}

internal enum FuzzEnd
{
    Open,
    Completed,
    Threw,
}

/// <summary>One stream (or non-streamed call) an endpoint produced: what it yielded, how it ended.</summary>
internal sealed class FuzzStream
{
    private readonly FuzzRecorder _recorder;
    private readonly object _gate = new();
    private readonly List<ChatResponseUpdate> _yielded = [];
    private TaskCompletionSource? _release;
    private DateTimeOffset? _cancelledAt;

    public FuzzStream(FuzzRecorder recorder, FuzzStreamClient endpoint, int call, List<FuzzStep> script)
    {
        _recorder = recorder;
        Endpoint = endpoint;
        Call = call;
        Script = script;
    }

    public FuzzStreamClient Endpoint { get; }

    public int Call { get; }

    public List<FuzzStep> Script { get; }

    public FuzzEnd Ending { get; private set; }

    public Exception? Exception { get; private set; }

    public bool Hung { get; private set; }

    public volatile bool Disposed;

    public ChatResponse? Response { get; set; }

    public List<ChatResponseUpdate> Yielded
    {
        get
        {
            lock (_gate)
            {
                return [.. _yielded];
            }
        }
    }

    /// <summary>Whether the router needs the clock to move to leave this stream: it hangs, and has not been given up yet.</summary>
    public bool NeedsTime(DateTimeOffset now)
    {
        lock (_gate)
        {
            return _release is { Task.IsCompleted: false } && (_cancelledAt is null || now < _cancelledAt + GuardedStream.Grace + TimeSpan.FromMilliseconds(1));
        }
    }

    public void OnYield(ChatResponseUpdate update)
    {
        lock (_gate)
        {
            _yielded.Add(update);
        }

        _recorder.Touch();
    }

    public void End(FuzzEnd ending, Exception? exception)
    {
        Ending = ending;
        Exception = exception;
        _recorder.Touch();
    }

    public async Task HangAsync(bool honoursCancellation, CancellationToken cancellationToken)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            Hung = true;
            _release = release;
        }

        using CancellationTokenRegistration registration = cancellationToken.Register(() =>
        {
            lock (_gate)
            {
                _cancelledAt = _recorder.Time.GetUtcNow();
            }

            if (honoursCancellation)
            {
                _ = release.TrySetResult();
            }
        });
        _recorder.Touch();
        await release.Task.ConfigureAwait(false);
    }

    public void Release()
    {
        lock (_gate)
        {
            _ = _release?.TrySetResult();
        }
    }
}

/// <summary>Everything the endpoints of one case produced, and when they last did anything.</summary>
internal sealed class FuzzRecorder(TimeProvider time)
{
    private readonly ConcurrentQueue<FuzzStream> _streams = new();
    private long _activity;

    public TimeProvider Time { get; } = time;

    public long Activity => Interlocked.Read(ref _activity);

    public List<FuzzStream> Streams => [.. _streams];

    public FuzzStream Open(FuzzStreamClient endpoint, int call, List<FuzzStep> script)
    {
        var stream = new FuzzStream(this, endpoint, call, script);
        _streams.Enqueue(stream);
        Touch();
        return stream;
    }

    public void Touch() => Interlocked.Increment(ref _activity);

    public bool NeedsTime()
    {
        DateTimeOffset now = Time.GetUtcNow();
        foreach (FuzzStream stream in _streams)
        {
            if (stream.NeedsTime(now))
            {
                return true;
            }
        }

        return false;
    }

    public void ReleaseAll()
    {
        foreach (FuzzStream stream in _streams)
        {
            stream.Release();
        }
    }
}
