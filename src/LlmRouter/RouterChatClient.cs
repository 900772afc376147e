using Microsoft.Extensions.Caching.Distributed;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmRouter;

/// <summary>
/// An <see cref="IChatClient"/> over several named endpoints: it picks an endpoint per request from what it learned
/// of each (latency, cost, success, health), retries and fails over by failure kind, and gates streams so that a
/// failure before the first output is invisible to the caller.
/// </summary>
/// <remarks>
/// Register it with <c>services.AddLlmRouter(...)</c>, which makes it the application's default <see cref="IChatClient"/>.
/// It wires the stages (candidate selection, failover, streaming gate, metrics); each lives in its own type.
/// </remarks>
public sealed class RouterChatClient : IChatClient
{
    private readonly RouterEndpoint[] _endpoints;
    private readonly RouterRuntime _runtime;
    private readonly FailoverExecutor _executor;
    private readonly StreamingFailoverExecutor _streamingExecutor;
    private readonly SnapshotRefresher _refresher;
    private readonly ResponseCache _cache;
    private readonly CandidateSelector _selector;
    private readonly RouterTelemetry _telemetry;
    private readonly IDisposable? _optionsSubscription;
    private readonly ChatClientMetadata _metadata = new("llmrouter");
    private FleetMirror? _fleet;
    private int _disposed;

    internal RouterChatClient(
        IReadOnlyList<RouterEndpoint> endpoints,
        LlmRouterOptions options,
        TimeProvider? timeProvider = null,
        IEnumerable<IFailureClassifier>? classifiers = null,
        ILoggerFactory? loggerFactory = null,
        IEndpointScorer? scorer = null,
        Func<Action<LlmRouterOptions>, IDisposable?>? onOptionsChange = null,
        IMeterFactory? meterFactory = null,
        IDistributedCache? distributedCache = null)
    {
        timeProvider ??= TimeProvider.System;
        _telemetry = new RouterTelemetry(meterFactory);
        _runtime = new RouterRuntime(
            options,
            timeProvider,
            new FailureClassifierChain(classifiers ?? [], timeProvider),
            (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<RouterChatClient>(),
            _telemetry);

        _endpoints = [.. endpoints];
        var strategies = new RoutingStrategies(_runtime, scorer);
        var selector = new CandidateSelector(_endpoints, _runtime, () => strategies.For(_runtime.Options.Strategy));
        _selector = selector;
        _executor = new FailoverExecutor(_runtime, selector);
        _streamingExecutor = new StreamingFailoverExecutor(_runtime, selector);
        _cache = new ResponseCache(_runtime, distributedCache);
        _refresher = new SnapshotRefresher(_endpoints, _runtime);
        _runtime.Refresher = _refresher;
        _optionsSubscription = onOptionsChange?.Invoke(ApplyOptions);
        _telemetry.ObserveHealth(ReadHealth);
        _telemetry.ObserveConstraints(GetBudgets, ReadHeadroom);
    }

    /// <summary>Gets the names of the endpoints, in registration order.</summary>
    public IReadOnlyList<string> EndpointNames => Array.ConvertAll(_endpoints, static e => e.Name);

    /// <summary>Gets how this instance coordinates with its fleet (<c>AddRedisFleet</c>); <see langword="null"/> when fleet mode is off.</summary>
    /// <returns>The connection state, the news published, applied and dropped, and the probe locks this instance holds.</returns>
    public FleetStatus? GetFleetStatus() => Volatile.Read(ref _fleet)?.GetStatus();

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is <see langword="null"/>.</exception>
    /// <exception cref="NoEndpointAvailableException">No endpoint serves the requested group, or every candidate stayed open.</exception>
    /// <exception cref="AllEndpointsFailedException">Every attempt failed; the exception lists them.</exception>
    /// <remarks>
    /// A request error (<see cref="FailureKind.BadRequest"/>, or a content-filter or context-length failure with no
    /// eligible fallback) is not failed over: the provider's exception is rethrown as a direct call would throw it.
    /// </remarks>
    public Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        IList<ChatMessage> list = AsList(messages);
        return _runtime.Options.Cache.Enabled
            ? _cache.GetResponseAsync(list, options, _executor.GetResponseAsync, cancellationToken)
            : _executor.GetResponseAsync(list, options, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is <see langword="null"/>.</exception>
    /// <exception cref="NoEndpointAvailableException">No endpoint serves the requested group, or every candidate stayed open.</exception>
    /// <exception cref="AllEndpointsFailedException">Every attempt failed before any output; the exception lists them.</exception>
    /// <exception cref="StreamInterruptedException">The stream failed after output had reached the caller.</exception>
    /// <remarks>
    /// Updates are held back until the first one that carries output; the first update yielded carries the
    /// <see cref="RoutingInfo"/> (read it with <c>update.GetRoutingInfo()</c>, or on the response built from the updates).
    /// </remarks>
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        IList<ChatMessage> list = AsList(messages);
        return _runtime.Options.Cache.Enabled
            ? _cache.GetStreamingResponseAsync(list, options, _streamingExecutor.GetStreamingResponseAsync, cancellationToken)
            : _streamingExecutor.GetStreamingResponseAsync(list, options, cancellationToken);
    }

    /// <summary>Gets every endpoint's latest snapshot: health, latest score, percentiles, success, usage and cost.</summary>
    /// <returns>One snapshot per endpoint, in registration order.</returns>
    /// <remarks>Health and score are read live; metrics are those of the latest rebuild (at most a few milliseconds old).</remarks>
    public IReadOnlyList<EndpointSnapshot> GetSnapshot()
    {
        TimeProvider time = _runtime.TimeProvider;
        long now = time.GetTimestamp();
        DateTimeOffset utcNow = time.GetUtcNow();
        var snapshots = new EndpointSnapshot[_endpoints.Length];
        for (int i = 0; i < _endpoints.Length; i++)
        {
            RouterEndpoint endpoint = _endpoints[i];
            HealthStatus status = endpoint.Health.Status;
            long recovers = status.State == HealthState.Open ? status.OpenUntil : endpoint.Cooldown.Deadline;
            DateTimeOffset? recoversAt = recovers > now ? utcNow + time.GetElapsedTime(now, recovers) : null;
            double score = endpoint.LastScore;
            endpoint.Limits?.Configure(endpoint.Options); // limits are built on first use: a snapshot taken before any request shows them too
            snapshots[i] = endpoint.Metrics.Snapshot.With(endpoint.Health.StateAt(now), recoversAt, double.IsNaN(score) ? null : score).WithLimits(endpoint.Limits);
        }

        return snapshots;
    }

    /// <summary>Gets the status of every spending cap: each tenant's and each endpoint's, per period, in the current UTC period.</summary>
    /// <returns>One entry per cap set in the options (<see cref="TenantOptions.Budget"/>, <see cref="EndpointOptions.Budget"/>).</returns>
    public IReadOnlyList<BudgetStatus> GetBudgets()
    {
        LlmRouterOptions options = _runtime.Options;
        DateTimeOffset utcNow = _runtime.TimeProvider.GetUtcNow();
        double soft = options.Constraints.BudgetSoftThreshold;
        var statuses = new List<BudgetStatus>();
        foreach ((string name, TenantOptions tenant) in options.Constraints.Tenants)
        {
            if (tenant?.Budget is { Any: true } budget)
            {
                statuses.AddRange(_runtime.Budgets.TenantAccount(name).Statuses(budget, utcNow, soft));
            }
        }

        foreach (RouterEndpoint endpoint in _endpoints)
        {
            if (endpoint.Options.Budget is { Any: true } budget)
            {
                statuses.AddRange(endpoint.Spending.Statuses(budget, utcNow, soft));
            }
        }

        return statuses;
    }

    /// <summary>Gets how conversation affinity fares: conversations remembered, returning turns that stayed or moved.</summary>
    /// <returns>A copy of the counts now.</returns>
    public AffinityStatistics GetAffinityStatistics()
    {
        AffinityMap conversations = _runtime.Conversations;
        return new AffinityStatistics(conversations.Count, conversations.Stayed, conversations.Moved, conversations.Evicted, _runtime.ProviderState.Count);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ChatClientMetadata))
        {
            return _metadata;
        }

        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Disposes the endpoint clients the router created from factories; clients passed as instances or resolved from DI stay with their owners.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _optionsSubscription?.Dispose();
        _fleet?.Dispose();
        _refresher.Dispose();
        _cache.Dispose();
        _telemetry.Dispose();
        foreach (RouterEndpoint endpoint in _endpoints)
        {
            if (endpoint.OwnsClient)
            {
                endpoint.Client.Dispose();
            }
        }
    }

    /// <summary>Rebuilds every snapshot now rather than at the next refresh; for tests and benchmarks.</summary>
    internal void RefreshSnapshots() => _refresher.Refresh();

    internal RouterEndpoint[] Endpoints => _endpoints;

    internal RouterRuntime Runtime => _runtime;

    internal FleetMirror? Fleet => Volatile.Read(ref _fleet);

    /// <summary>Connects the router to its fleet's mirror, which it then owns.</summary>
    internal void AttachFleet(FleetMirror fleet) => Volatile.Write(ref _fleet, fleet);

    internal ResponseCache Cache => _cache;

    internal RouterTelemetry Telemetry => _telemetry;

    private IEnumerable<(string Endpoint, HealthState State)> ReadHealth()
    {
        long now = _runtime.TimeProvider.GetTimestamp();
        foreach (RouterEndpoint endpoint in _endpoints)
        {
            yield return (endpoint.Name, endpoint.Health.StateAt(now));
        }
    }

    private IEnumerable<(string Endpoint, string Limit, long Left)> ReadHeadroom()
    {
        foreach (RouterEndpoint endpoint in _endpoints)
        {
            if (endpoint.Limits is not { Any: true } limits)
            {
                continue;
            }

            if (limits.RequestsLeft is { } requests)
            {
                yield return (endpoint.Name, "requests", requests);
            }

            if (limits.TokensLeft is { } tokens)
            {
                yield return (endpoint.Name, "tokens", tokens);
            }

            if (limits.ConcurrencyLeft is { } slots)
            {
                yield return (endpoint.Name, "concurrency", slots);
            }
        }
    }

    private void ApplyOptions(LlmRouterOptions options)
    {
        // Endpoints are fixed when the router is built; their settings and every router-level knob change live.
        foreach (RouterEndpoint endpoint in _endpoints)
        {
            if (options.Endpoints.TryGetValue(endpoint.Name, out EndpointOptions? updated) && updated is not null)
            {
                endpoint.Options = updated;
            }
        }

        _runtime.Options = options;
        _selector.RefreshGroups();
    }

    // Retries and failover enumerate the messages more than once: a one-shot sequence is materialised once.
    private static IList<ChatMessage> AsList(IEnumerable<ChatMessage> messages) => messages as IList<ChatMessage> ?? [.. messages];
}
