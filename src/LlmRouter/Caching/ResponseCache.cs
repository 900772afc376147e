using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;

namespace LlmRouter;

/// <summary>
/// The response cache in front of the failover stages: an in-memory first level bounded in bytes, an optional
/// distributed second level read through into memory, and single-flight, so that identical requests in flight at once
/// make one upstream call.
/// </summary>
/// <remarks>
/// <para>
/// A memory hit costs the key (a hash of the canonical request) and a copy of the entry: no serialization. Entries are
/// the cache's own copies; callers always get fresh ones.
/// </para>
/// <para>
/// The distributed cache is best effort: reads wait at most <see cref="CacheOptions.DistributedTimeout"/>, writes happen
/// after the caller has its answer, and after a failure it is left alone for <see cref="CacheOptions.DistributedRetryInterval"/>.
/// </para>
/// </remarks>
internal sealed class ResponseCache : IDisposable
{
    private readonly RouterRuntime _runtime;
    private readonly MemoryCache _memory;
    private readonly IDistributedCache? _distributed;
    private readonly ConcurrentDictionary<CacheKey, Flight> _flights = new();
    private readonly ConcurrentDictionary<CacheKey, StreamFlight> _streamFlights = new();
    private readonly PostEvictionDelegate _onEvicted;
    private readonly long _sizeLimit;
    private long _distributedPausedUntil = long.MinValue;

    public ResponseCache(RouterRuntime runtime, IDistributedCache? distributed)
    {
        _runtime = runtime;
        _distributed = distributed;
        _sizeLimit = runtime.Options.Cache.SizeLimitBytes;
        _memory = new MemoryCache(new MemoryCacheOptions { SizeLimit = _sizeLimit, TrackStatistics = true });
        _onEvicted = OnEvicted;
    }

    /// <summary>Gets the in-memory level's estimated size in bytes and its entry count.</summary>
    public (long Bytes, long Entries) MemoryUsage => _memory.GetCurrentStatistics() is { } statistics
        ? (statistics.CurrentEstimatedSize ?? 0, statistics.CurrentEntryCount)
        : (0, 0);

    /// <summary>Gets how many shared calls and shared streams are in flight (both maps empty when nothing runs).</summary>
    internal int InFlight => _flights.Count + _streamFlights.Count;

    public async Task<ChatResponse> GetResponseAsync(
        IList<ChatMessage> messages,
        ChatOptions? options,
        Func<IList<ChatMessage>, ChatOptions?, CancellationToken, Task<ChatResponse>> upstream,
        CancellationToken cancellationToken)
    {
        if (!TryKey(messages, options, out CacheKey key, out CacheMode mode, out TimeSpan timeToLive))
        {
            return await upstream(messages, options, cancellationToken).ConfigureAwait(false);
        }

        if (mode != CacheMode.Refresh && await FindAsync(key, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            // A stored stream answers a plain request too: its updates, copied, merged into one response.
            _runtime.Telemetry.CacheLookup(CacheResult.Hit);
            ChatResponse hit = entry.Response is { } cached ? ResponseCopier.Copy(cached) : entry.Updates!.Select(ResponseCopier.Copy).ToChatResponse();
            RoutingInfoExtensions.Attach(hit, new RoutingInfo(entry.Endpoint, []) { Cache = CacheResult.Hit });
            return hit;
        }

        // Single flight: the first request runs the call, detached from its caller's token; identical requests join
        // it. The call is cancelled only when every request waiting on it has given up.
        Flight flight;
        bool leader;
        while (true)
        {
            if (_flights.TryGetValue(key, out Flight? running))
            {
                if (running.TryJoin())
                {
                    flight = running;
                    leader = false;
                    break;
                }

                continue; // every waiter left it: it is being cancelled and removed
            }

            var created = new Flight();
            if (_flights.TryAdd(key, created))
            {
                flight = created;
                leader = true;
                _ = RunAsync(created, key, messages, options, mode, timeToLive, upstream);
                break;
            }
        }

        // Counted now, as for streams: the cache did its part whatever becomes of the call or of this caller.
        CacheResult result = leader ? CacheResult.Miss : CacheResult.Coalesced;
        _runtime.Telemetry.CacheLookup(result);
        Shared shared;
        try
        {
            shared = await flight.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (flight.Leave())
            {
                _ = _flights.TryRemove(new KeyValuePair<CacheKey, Flight>(key, flight)); // new requests start afresh
            }

            throw;
        }

        ChatResponse response = shared.Copyable ? ResponseCopier.Copy(shared.Response) : ResponseCopier.ShallowCopy(shared.Response);
        if (shared.Info is { } info)
        {
            RoutingInfoExtensions.Attach(response, info.As(result));
        }

        return response;
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IList<ChatMessage> messages,
        ChatOptions? options,
        Func<IList<ChatMessage>, ChatOptions?, CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> upstream,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!TryKey(messages, options, out CacheKey key, out CacheMode mode, out TimeSpan timeToLive))
        {
            await foreach (ChatResponseUpdate update in upstream(messages, options, cancellationToken).ConfigureAwait(false))
            {
                yield return update;
            }

            yield break;
        }

        if (mode != CacheMode.Refresh && await FindAsync(key, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            // Replayed update by update, with their boundaries, roles, tool calls and usage; timing is not replayed.
            // A stored plain response answers a stream too, as the updates it is made of.
            _runtime.Telemetry.CacheLookup(CacheResult.Hit);
            ChatResponseUpdate[] cached = entry.Updates ?? ResponseCopier.Copy(entry.Response!).ToChatResponseUpdates();
            for (int i = 0; i < cached.Length; i++)
            {
                ChatResponseUpdate update = entry.Updates is null ? cached[i] : ResponseCopier.Copy(cached[i]);
                if (i == 0)
                {
                    RoutingInfoExtensions.Attach(update, new RoutingInfo(entry.Endpoint, []) { Cache = CacheResult.Hit });
                }

                yield return update;
            }

            yield break;
        }

        // Single flight for streams too: identical streams in flight at once share one upstream stream.
        StreamFlight flight;
        CacheResult result;
        while (true)
        {
            if (_streamFlights.TryGetValue(key, out StreamFlight? running))
            {
                if (running.TryJoin())
                {
                    flight = running;
                    result = CacheResult.Coalesced;
                    break;
                }

                continue; // every reader left it: it is being cancelled and removed
            }

            var created = new StreamFlight();
            if (_streamFlights.TryAdd(key, created))
            {
                flight = created;
                result = CacheResult.Miss;
                _ = PumpAsync(created, key, messages, options, mode, timeToLive, upstream);
                break;
            }
        }

        _runtime.Telemetry.CacheLookup(result);
        bool completed = false;
        try
        {
            await foreach (ChatResponseUpdate update in flight.ReadAsync(result, cancellationToken).ConfigureAwait(false))
            {
                yield return update;
            }

            completed = true;
        }
        finally
        {
            if (!completed && Volatile.Read(ref flight.ReadersGone))
            {
                _ = _streamFlights.TryRemove(new KeyValuePair<CacheKey, StreamFlight>(key, flight));
            }
        }
    }

    private async Task PumpAsync(
        StreamFlight flight,
        CacheKey key,
        IList<ChatMessage> messages,
        ChatOptions? options,
        CacheMode mode,
        TimeSpan timeToLive,
        Func<IList<ChatMessage>, ChatOptions?, CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> upstream)
    {
        await Task.Yield(); // the first reader starts reading while the pump opens the stream
        Exception? error = null;
        try
        {
            await foreach (ChatResponseUpdate update in upstream(messages, options, flight.Cancellation.Token).ConfigureAwait(false))
            {
                if (flight.Info is null && update.GetRoutingInfo() is { } info)
                {
                    info.Cache = CacheResult.Miss;
                    flight.Info = info;
                }

                flight.Add(update);
            }
        }
#pragma warning disable CA1031 // Handed to every reader after the updates before it: nothing is lost, nothing unobserved.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            error = exception;
        }

        // A stream that failed, or that every reader abandoned, is never stored. The router already failed a stream
        // that ended without a finish reason.
        if (error is null && !flight.Cancellation.IsCancellationRequested && flight.Copyable && mode != CacheMode.NoStore &&
            flight.Info is { } served && IsStorable(flight.Recorded))
        {
            Store(key, new CacheEntry(key, served.Endpoint, null, [.. flight.Recorded], Expiry(timeToLive)), timeToLive);
        }

        // Out of the map before it completes: a request arriving now starts afresh rather than joining a finished flight
        // (and replaying its failure).
        _ = _streamFlights.TryRemove(new KeyValuePair<CacheKey, StreamFlight>(key, flight));
        flight.Complete(error);
        flight.Cancellation.Dispose();
    }

    public void Dispose() => _memory.Dispose();

    private bool TryKey(IList<ChatMessage> messages, ChatOptions? options, out CacheKey key, out CacheMode mode, out TimeSpan timeToLive)
    {
        CacheOptions cache = _runtime.Options.Cache;
        RoutingHints? hints = options?.GetRoutingHints();
        mode = hints?.CacheMode ?? CacheMode.Default;
        timeToLive = hints?.CacheTimeToLive ?? cache.TimeToLive;
        key = default;
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentException($"RoutingHints.CacheMode '{mode}' is not a CacheMode; use one of: {string.Join(", ", Enum.GetNames<CacheMode>())}.", nameof(options));
        }

        if (timeToLive <= TimeSpan.Zero || timeToLive > LlmRouterOptionsValidator.MaxCacheTimeToLive)
        {
            throw new ArgumentException(
                $"RoutingHints.CacheTimeToLive must be positive and at most {LlmRouterOptionsValidator.MaxCacheTimeToLive} (was {timeToLive}).", nameof(options));
        }

        if (!cache.Enabled || mode == CacheMode.Bypass)
        {
            return false;
        }

        if (!CacheKeyBuilder.TryCreate(messages, options, hints, out key, out string? reason))
        {
            Log.NotCacheable(_runtime.Logger, reason!);
            return false;
        }

        return true;
    }

    private async ValueTask<CacheEntry?> FindAsync(CacheKey key, CancellationToken cancellationToken)
    {
        DateTimeOffset now = _runtime.TimeProvider.GetUtcNow();
        if (_memory.TryGetValue(key, out object? value) && value is CacheEntry entry)
        {
            if (entry.Matches(key, now))
            {
                return entry;
            }

            _memory.Remove(key); // expired on our clock, or a hash collision: never served
        }

        if (!DistributedUsable())
        {
            return null;
        }

        byte[]? data;
        using (var timeout = new CancellationTokenSource(_runtime.Options.Cache.DistributedTimeout, _runtime.TimeProvider))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken))
        {
            try
            {
                data = await _distributed!.GetAsync(key.ToDistributedKey(_runtime.Options.Cache.KeyPrefix), linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // The cache must never fail a request: any failure of the distributed cache is a miss.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                DistributedFailed("read", exception);
                return null;
            }
        }

        if (data is null || CacheEntrySerializer.Deserialize(data, key) is not { } found || !found.Matches(key, now))
        {
            return null;
        }

        if ((found.Response is { } response && !ResponseCopier.CanCopy(response)) ||
            (found.Updates is { } updates && !Array.TrueForAll(updates, static u => ResponseCopier.CanCopy(u.Contents))))
        {
            return null; // written by another version, perhaps: what we cannot copy we do not serve
        }

        // Read through into memory for what is left of its life.
        SetMemory(key, found, found.ExpiresAt - now);
        return found;
    }

    private async Task RunAsync(
        Flight flight,
        CacheKey key,
        IList<ChatMessage> messages,
        ChatOptions? options,
        CacheMode mode,
        TimeSpan timeToLive,
        Func<IList<ChatMessage>, ChatOptions?, CancellationToken, Task<ChatResponse>> upstream)
    {
        try
        {
            ChatResponse response = await upstream(messages, options, flight.Cancellation.Token).ConfigureAwait(false);
            RoutingInfo? info = response.GetRoutingInfo();
            bool copyable = ResponseCopier.CanCopy(response);

            // The waiters copy from a private copy, never from an object a caller holds.
            ChatResponse own = copyable ? ResponseCopier.Copy(response) : response;
            if (copyable && mode != CacheMode.NoStore && info is not null && IsStorable(own))
            {
                Store(key, new CacheEntry(key, info.Endpoint, own, null, Expiry(timeToLive)), timeToLive);
            }

            Leave();
            _ = flight.Completion.TrySetResult(new Shared(own, info, copyable));
        }
        catch (OperationCanceledException) when (flight.Cancellation.IsCancellationRequested)
        {
            Leave();
            _ = flight.Completion.TrySetCanceled(flight.Cancellation.Token);
        }
#pragma warning disable CA1031 // Handed to every waiter through the completion: nothing is lost, nothing unobserved.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            Leave();
            _ = flight.Completion.TrySetException(exception);
        }
        finally
        {
            Leave();
            flight.Cancellation.Dispose();
        }

        // Out of the map before it completes: a request arriving now starts afresh (or finds the stored answer) rather
        // than joining a finished flight and replaying its failure.
        void Leave() => _ = _flights.TryRemove(new KeyValuePair<CacheKey, Flight>(key, flight));
    }

    private bool IsStorable(ChatResponse response)
    {
        if (response.FinishReason == ChatFinishReason.ContentFilter)
        {
            return false;
        }

        return _runtime.Options.Cache.CacheToolCalls || !HasToolCall(response.Messages.SelectMany(static m => m.Contents));
    }

    private bool IsStorable(List<ChatResponseUpdate> updates)
    {
        ChatFinishReason? finish = null;
        foreach (ChatResponseUpdate update in updates)
        {
            finish = update.FinishReason ?? finish;
        }

        if (finish is null || finish == ChatFinishReason.ContentFilter)
        {
            return false;
        }

        return _runtime.Options.Cache.CacheToolCalls || !HasToolCall(updates.SelectMany(static u => u.Contents));
    }

    private static bool HasToolCall(IEnumerable<AIContent> contents) => contents.Any(static c => c is FunctionCallContent);

    private DateTimeOffset Expiry(TimeSpan timeToLive) => _runtime.TimeProvider.GetUtcNow() + timeToLive;

    private void Store(CacheKey key, CacheEntry entry, TimeSpan timeToLive)
    {
        SetMemory(key, entry, timeToLive);
        if (DistributedUsable())
        {
            _ = WriteDistributedAsync(key, entry, timeToLive);
        }
    }

    private void SetMemory(CacheKey key, CacheEntry entry, TimeSpan timeToLive)
    {
        long limit = _sizeLimit; // fixed when the router is built
        if (timeToLive <= TimeSpan.Zero || entry.Size > limit)
        {
            return; // already expired, or larger than the whole cache
        }

        // MemoryCache refuses an entry that does not fit and compacts only past 95% of its limit, so a full cache
        // would keep its oldest answers and refuse every new one: make room first, least recently used out.
        for (int round = 0; round < 4; round++)
        {
            MemoryCacheStatistics? statistics = _memory.GetCurrentStatistics();
            long current = statistics?.CurrentEstimatedSize ?? 0;
            long entries = statistics?.CurrentEntryCount ?? 0;
            if (current + entry.Size <= limit || entries == 0)
            {
                break;
            }

            // Compact takes a share of the entries (least recently used first), not of the bytes: at least one entry,
            // and as many as the bytes to free suggest.
            double share = Math.Max((current + entry.Size - limit) / (double)current, 1.0 / entries);
            _memory.Compact(Math.Min(1.0, share + 0.01));
        }

        using ICacheEntry cacheEntry = _memory.CreateEntry(key);
        cacheEntry.Value = entry;
        cacheEntry.Size = entry.Size;
        cacheEntry.AbsoluteExpirationRelativeToNow = timeToLive;
        cacheEntry.PostEvictionCallbacks.Add(new PostEvictionCallbackRegistration { EvictionCallback = _onEvicted });
    }

    private async Task WriteDistributedAsync(CacheKey key, CacheEntry entry, TimeSpan timeToLive)
    {
        CacheOptions cache = _runtime.Options.Cache;
        using var timeout = new CancellationTokenSource(cache.DistributedTimeout, _runtime.TimeProvider);
        try
        {
            byte[] data = CacheEntrySerializer.Serialize(entry);
            await _distributed!.SetAsync(
                key.ToDistributedKey(cache.KeyPrefix),
                data,
                new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = timeToLive },
                timeout.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A write after the caller has its answer: a failure only pauses the distributed cache.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            DistributedFailed("write", exception);
        }
    }

    private bool DistributedUsable() =>
        _distributed is not null && _runtime.Options.Cache.UseDistributedCache &&
        _runtime.TimeProvider.GetTimestamp() >= Volatile.Read(ref _distributedPausedUntil);

    private void DistributedFailed(string operation, Exception exception)
    {
        TimeSpan pause = _runtime.Options.Cache.DistributedRetryInterval;
        Volatile.Write(ref _distributedPausedUntil, _runtime.TimeProvider.GetTimestamp() + (long)(pause.TotalSeconds * _runtime.TimeProvider.TimestampFrequency));
        _runtime.Telemetry.DistributedCacheFailed(operation);
        Log.DistributedCacheFailed(_runtime.Logger, operation, pause.TotalMilliseconds, exception.GetType().Name);
    }

    private void OnEvicted(object key, object? value, EvictionReason reason, object? state)
    {
        if (reason is EvictionReason.Capacity or EvictionReason.Expired)
        {
            _runtime.Telemetry.CacheEvicted(reason == EvictionReason.Capacity ? "capacity" : "expired");
        }
    }

    /// <summary>What a flight hands its waiters: the answer (the flight's own copy when it can be copied) and its routing facts.</summary>
    private sealed record Shared(ChatResponse Response, RoutingInfo? Info, bool Copyable);

    /// <summary>One upstream call shared by identical requests.</summary>
    private sealed class Flight
    {
        private int _waiters = 1;

        public CancellationTokenSource Cancellation { get; } = new();

        public TaskCompletionSource<Shared> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Joins the flight, unless every waiter already left it.</summary>
        public bool TryJoin()
        {
            while (true)
            {
                int waiters = Volatile.Read(ref _waiters);
                if (waiters == 0)
                {
                    return false;
                }

                if (Interlocked.CompareExchange(ref _waiters, waiters + 1, waiters) == waiters)
                {
                    return true;
                }
            }
        }

        /// <summary>Leaves the flight; the last waiter to leave cancels the call.</summary>
        /// <returns><see langword="true"/> when this was the last waiter.</returns>
        public bool Leave()
        {
            if (Interlocked.Decrement(ref _waiters) != 0)
            {
                return false;
            }

            try
            {
                Cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The call ended meanwhile.
            }

            return true;
        }
    }
}
