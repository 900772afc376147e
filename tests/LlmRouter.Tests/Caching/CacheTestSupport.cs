using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;

namespace LlmRouter.Tests.Caching;

/// <summary>Builds routers for the cache tests: endpoints as given, the cache on, an optional distributed cache and logger factory.</summary>
internal static class CacheRouter
{
    public static RouterChatClient Create(
        TimeProvider time,
        Action<LlmRouterOptions>? configure,
        IDistributedCache? distributed,
        ILoggerFactory? loggerFactory,
        params (string Name, IChatClient Client)[] endpoints)
    {
        var options = new LlmRouterOptions { Randomizer = () => 0.5 };
        options.Cache.Enabled = true;
        configure?.Invoke(options);
        var list = new List<RouterEndpoint>();
        foreach ((string name, IChatClient client) in endpoints)
        {
            var endpointOptions = new EndpointOptions();
            options.Endpoints[name] = endpointOptions;
            list.Add(new RouterEndpoint(name, client, endpointOptions, list.Count, ownsClient: false));
        }

        return new RouterChatClient(list, options, time, loggerFactory: loggerFactory, distributedCache: distributed);
    }

    public static RouterChatClient Create(TimeProvider time, Action<LlmRouterOptions>? configure, params (string Name, IChatClient Client)[] endpoints) =>
        Create(time, configure, null, null, endpoints);

    public static List<ChatMessage> Prompt(string text) => [new(ChatRole.User, text)];

    /// <summary>Polls <paramref name="condition"/> in real time (for work outside the router's clock: a thread-pool compaction, Redis I/O) for at most <paramref name="limit"/>.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (watch.Elapsed > limit)
            {
                return false;
            }

            await Task.Delay(20);
        }
    }

    public static Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan limit) => EventuallyAsync(() => Task.FromResult(condition()), limit);
}

/// <summary>
/// A fake endpoint that numbers its calls: every answer and stream is built for the call's number, so two calls never
/// answer alike. Calls can be held until <see cref="Release"/>; the tokens they received are recorded.
/// </summary>
internal sealed class CountingChatClient : IChatClient
{
    private readonly Func<int, ChatResponse> _answer;
    private readonly Func<int, IReadOnlyList<ChatResponseUpdate>> _stream;
    private readonly ConcurrentDictionary<int, CancellationToken> _tokens = new();
    private TaskCompletionSource _gate = NewGate(open: true);
    private int _calls;
    private int _entered;

    public CountingChatClient(string name, Func<int, ChatResponse>? answer = null, Func<int, IReadOnlyList<ChatResponseUpdate>>? stream = null)
    {
        Name = name;
        _answer = answer ?? (n => Text($"{name} answer #{n}"));
        _stream = stream ?? (n => DefaultStream($"{name} #{n}"));
    }

    public string Name { get; }

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Gets how many calls are waiting at the gate (or went through it).</summary>
    public int Entered => Volatile.Read(ref _entered);

    /// <summary>Gets or sets the exception that every call throws (after the gate), if any.</summary>
    public Func<int, Exception?> Failure { get; set; } = static _ => null;

    public CancellationToken TokenOf(int call) => _tokens[call];

    public static ChatResponse Text(string text) => new(new ChatMessage(ChatRole.Assistant, text))
    {
        FinishReason = ChatFinishReason.Stop,
        Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 5, TotalTokenCount = 15 },
    };

    public static List<ChatResponseUpdate> DefaultStream(string text) =>
    [
        new ChatResponseUpdate(ChatRole.Assistant, $"{text} part one, ") { MessageId = "m1", ResponseId = "r1" },
        new ChatResponseUpdate(ChatRole.Assistant, "part two") { MessageId = "m1", ResponseId = "r1" },
        new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            MessageId = "m1",
            ResponseId = "r1",
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(new UsageDetails { InputTokenCount = 3, OutputTokenCount = 2, TotalTokenCount = 5 })],
        },
    ];

    /// <summary>Holds every call from now on until <see cref="Release"/>.</summary>
    public void Hold() => Volatile.Write(ref _gate, NewGate(open: false));

    public void Release() => Volatile.Read(ref _gate).TrySetResult();

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        int call = Interlocked.Increment(ref _calls);
        _tokens[call] = cancellationToken;
        _ = Interlocked.Increment(ref _entered);
        await Volatile.Read(ref _gate).Task.WaitAsync(cancellationToken);
        if (Failure(call) is { } failure)
        {
            throw failure;
        }

        return _answer(call);
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        int call = Interlocked.Increment(ref _calls);
        _tokens[call] = cancellationToken;
        return PlayAsync(call, cancellationToken);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    private static TaskCompletionSource NewGate(bool open)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            gate.SetResult();
        }

        return gate;
    }

    private async IAsyncEnumerable<ChatResponseUpdate> PlayAsync(int call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        _ = Interlocked.Increment(ref _entered);
        await Volatile.Read(ref _gate).Task.WaitAsync(cancellationToken);
        if (Failure(call) is { } failure)
        {
            throw failure;
        }

        foreach (ChatResponseUpdate update in _stream(call))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return update;
        }
    }
}

/// <summary>An in-memory <see cref="IDistributedCache"/> whose reads and/or writes can hang until cancelled; records the calls; values can be planted.</summary>
internal sealed class FakeDistributedCache : IDistributedCache
{
    private readonly bool _hangReads;
    private readonly bool _hangWrites;
    private TaskCompletionSource _readEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _writeEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _reads;
    private int _writes;

    public FakeDistributedCache(bool hangReads, bool hangWrites)
    {
        _hangReads = hangReads;
        _hangWrites = hangWrites;
    }

    public ConcurrentDictionary<string, byte[]> Values { get; } = new();

    public int Reads => Volatile.Read(ref _reads);

    public int Writes => Volatile.Read(ref _writes);

    /// <summary>Gets a task that completes when the next read starts waiting (reset by <see cref="Reset"/>).</summary>
    public Task ReadEntered => _readEntered.Task;

    public Task WriteEntered => _writeEntered.Task;

    public ConcurrentQueue<CancellationToken> Tokens { get; } = new();

    public void Reset()
    {
        _readEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _writeEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public byte[]? Get(string key) => throw new NotSupportedException("The router reads asynchronously.");

    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        _ = Interlocked.Increment(ref _reads);
        Tokens.Enqueue(token);
        _ = _readEntered.TrySetResult();
        if (_hangReads)
        {
            await Task.Delay(Timeout.Infinite, token);
        }

        return Values.TryGetValue(key, out byte[]? value) ? value : null;
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => throw new NotSupportedException("The router writes asynchronously.");

    public async Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        _ = Interlocked.Increment(ref _writes);
        Tokens.Enqueue(token);
        _ = _writeEntered.TrySetResult();
        if (_hangWrites)
        {
            await Task.Delay(Timeout.Infinite, token);
        }

        Values[key] = value;
    }

    public void Refresh(string key)
    {
    }

    public Task RefreshAsync(string key, CancellationToken token = default) => Task.CompletedTask;

    public void Remove(string key) => _ = Values.TryRemove(key, out _);

    public Task RemoveAsync(string key, CancellationToken token = default)
    {
        _ = Values.TryRemove(key, out _);
        return Task.CompletedTask;
    }
}

/// <summary>Collects the router's measurements (thread-safe: eviction callbacks run on the thread pool).</summary>
internal sealed class RouterMeasurements : IDisposable
{
    private readonly MeterListener _listener;
    private readonly List<(string Instrument, long Value, Dictionary<string, object?> Tags)> _measurements = [];

    public RouterMeasurements(RouterChatClient router)
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, router.Telemetry.Meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var copy = new Dictionary<string, object?>();
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                copy[tag.Key] = tag.Value;
            }

            lock (_measurements)
            {
                _measurements.Add((instrument.Name, value, copy));
            }
        });
        _listener.Start();
    }

    /// <summary>Sums an instrument's values whose tag <paramref name="tag"/> is <paramref name="value"/> (or all, when no tag is given).</summary>
    public long Sum(string instrument, string? tag = null, string? value = null)
    {
        lock (_measurements)
        {
            return _measurements
                .Where(m => m.Instrument == instrument && (tag is null || Equals(m.Tags.GetValueOrDefault(tag), value)))
                .Sum(m => m.Value);
        }
    }

    public void Dispose() => _listener.Dispose();
}
