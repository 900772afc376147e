using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// The router's traces and metrics: one <c>chat</c> span per request with one child span per attempt, and the
/// <c>llmrouter.*</c> and OpenTelemetry <c>gen_ai.client.*</c> instruments, all under the name <see cref="Name"/>.
/// </summary>
/// <remarks>
/// Never records prompt or response text, nor exception messages (a provider's message may echo the prompt): only
/// endpoint names, outcomes, durations and token counts.
/// </remarks>
internal sealed class RouterTelemetry : IDisposable
{
    public const string Name = "LlmRouter";

    private const string OperationName = "chat";
    private const string SuccessOutcome = "success";
    private const string AttemptSpanPrefix = "llmrouter.attempt ";

    private const string EndpointTag = "llmrouter.endpoint";
    private const string OutcomeTag = "llmrouter.outcome";
    private const string OperationNameTag = "gen_ai.operation.name";
    private const string ErrorTypeTag = "error.type";

    // Boxed once: a span's bool tags would otherwise allocate on every sampled request.
    private static readonly object s_true = true;
    private static readonly object s_false = false;

    // Indexed by FailureKind so an attempt's outcome tag costs no allocation; RouterTelemetryTests checks that
    // every kind has its entry.
    private static readonly string[] s_failureOutcomes =
    [
        "rate_limited",   // RateLimited
        "transient",      // Transient
        "timeout",        // Timeout
        "content_filter", // ContentFilter
        "context_length", // ContextLength
        "auth",           // Auth
        "bad_request",    // BadRequest
        "canceled",       // Canceled
    ];

    // OpenTelemetry's advised boundaries for gen_ai durations and token counts: the SDK's defaults are tuned for
    // millisecond HTTP calls and would put most LLM calls in the last bucket.
    private static readonly InstrumentAdvice<double> s_durationAdvice = new()
    {
        HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    };

    private static readonly InstrumentAdvice<double> s_firstTokenAdvice = new()
    {
        HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0],
    };

    private static readonly InstrumentAdvice<int> s_tokenAdvice = new()
    {
        HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
    };

    private static readonly string s_version = ReadVersion();

    private readonly bool _ownsMeter;
    private readonly Counter<long> _attempts;
    private readonly Histogram<double> _attemptDuration;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<int> _tokenUsage;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _failovers;
    private readonly Histogram<double> _operationDuration;
    private readonly Counter<long> _cacheLookups;
    private readonly Counter<long> _cacheEvictions;
    private readonly Counter<long> _distributedCacheErrors;
    private Func<IEnumerable<(string Endpoint, HealthState State)>>? _readHealth;
    private readonly Counter<long> _affinityTurns;
    private int _constraintsObserved;

    /// <summary>Gets an instance for runtimes built without one (tests, benchmarks): instruments work, nobody owns them.</summary>
    public static RouterTelemetry Shared { get; } = new(null);

    public RouterTelemetry(IMeterFactory? meterFactory)
    {
        // A factory-created meter is shared and disposed by the factory (the DI container), so it is not ours to dispose.
        _ownsMeter = meterFactory is null;
        Meter = meterFactory is null
            ? new Meter(Name, s_version)
            : meterFactory.Create(new MeterOptions(Name) { Version = s_version });
        ActivitySource = new ActivitySource(Name, s_version);

        _attempts = Meter.CreateCounter<long>(
            "llmrouter.attempts", "{attempt}", "Attempts made on endpoints, by endpoint and outcome.");
        _attemptDuration = Meter.CreateHistogram<double>(
            "llmrouter.attempt.duration", "s", "Duration of each attempt, until its response, its first streamed content or its failure.",
            tags: null, advice: s_durationAdvice);
        _timeToFirstToken = Meter.CreateHistogram<double>(
            "llmrouter.time_to_first_token", "s", "Time from the start of an attempt to its first streamed content.",
            tags: null, advice: s_firstTokenAdvice);
        _tokenUsage = Meter.CreateHistogram<int>(
            "gen_ai.client.token.usage", "{token}", "Number of input and output tokens used, per attempt.",
            tags: null, advice: s_tokenAdvice);
        _requests = Meter.CreateCounter<long>(
            "llmrouter.requests", "{request}", "Requests the router handled, by outcome and serving endpoint.");
        _failovers = Meter.CreateCounter<long>(
            "llmrouter.failovers", "{request}", "Requests served by an endpoint other than the first one tried, by serving endpoint.");
        _operationDuration = Meter.CreateHistogram<double>(
            "gen_ai.client.operation.duration", "s", "Duration of each request through the router, retries and failovers included.",
            tags: null, advice: s_durationAdvice);
        _cacheLookups = Meter.CreateCounter<long>(
            "llmrouter.cache.requests", "{request}", "Requests that could use the response cache, by result: hit, miss or coalesced.");
        _cacheEvictions = Meter.CreateCounter<long>(
            "llmrouter.cache.evictions", "{entry}", "Entries evicted from the in-memory response cache, by reason (capacity, expired).");
        _distributedCacheErrors = Meter.CreateCounter<long>(
            "llmrouter.cache.distributed.errors", "{error}", "Failures and timeouts of the distributed (second-level) cache, by operation (read, write).");
        _affinityTurns = Meter.CreateCounter<long>(
            "llmrouter.affinity.turns", "{request}",
            "Returning turns of conversations, by serving endpoint and whether they stayed on the previous turn's endpoint or moved.");
    }

    /// <summary>Counts a returning turn of a conversation: served where the previous one was (stayed), or elsewhere (moved).</summary>
    public void AffinityTurn(string endpoint, bool stayed) => _affinityTurns.Add(
        1,
        new KeyValuePair<string, object?>(EndpointTag, endpoint),
        new KeyValuePair<string, object?>("llmrouter.affinity.result", stayed ? "stayed" : "moved"));

    /// <summary>Publishes spending (per tenant and endpoint cap) and each endpoint's limit headroom as observable gauges.</summary>
    /// <param name="budgets">Reads the status of every cap.</param>
    /// <param name="headroom">Reads what is left of each endpoint's limits: endpoint, limit (requests, tokens, concurrency), amount.</param>
    public void ObserveConstraints(Func<IEnumerable<BudgetStatus>> budgets, Func<IEnumerable<(string Endpoint, string Limit, long Left)>> headroom)
    {
        if (Interlocked.Exchange(ref _constraintsObserved, 1) != 0)
        {
            throw new InvalidOperationException("The constraints are already observed; call ObserveConstraints once per router.");
        }

        Meter.CreateObservableGauge(
            "llmrouter.budget.spent",
            () => ReadBudgets(budgets, remaining: false),
            null,
            "Spent in the current UTC period of each spending cap, in the currency of the endpoints' prices, by scope (tenant, endpoint), name and period.");
        Meter.CreateObservableGauge(
            "llmrouter.budget.remaining",
            () => ReadBudgets(budgets, remaining: true),
            null,
            "Left before each spending cap in its current UTC period, by scope (tenant, endpoint), name and period.");
        Meter.CreateObservableGauge(
            "llmrouter.endpoint.limit.headroom",
            () => ReadHeadroom(headroom),
            "{unit}",
            "What is left of each endpoint's rate and concurrency limits: requests and tokens this minute, attempts in flight.");
    }

    private static IEnumerable<Measurement<double>> ReadBudgets(Func<IEnumerable<BudgetStatus>> read, bool remaining)
    {
        foreach (BudgetStatus status in read())
        {
            yield return new Measurement<double>(
                (double)(remaining ? status.Remaining : status.Spent),
                new KeyValuePair<string, object?>("llmrouter.budget.scope", status.Scope),
                new KeyValuePair<string, object?>("llmrouter.budget.name", status.Name),
                new KeyValuePair<string, object?>("llmrouter.budget.period", status.Period switch
                {
                    BudgetPeriod.Hour => "hour",
                    BudgetPeriod.Day => "day",
                    _ => "month",
                }));
        }
    }

    private static IEnumerable<Measurement<long>> ReadHeadroom(Func<IEnumerable<(string Endpoint, string Limit, long Left)>> read)
    {
        foreach ((string endpoint, string limit, long left) in read())
        {
            yield return new Measurement<long>(
                left,
                new KeyValuePair<string, object?>(EndpointTag, endpoint),
                new KeyValuePair<string, object?>("llmrouter.limit", limit));
        }
    }

    /// <summary>Counts a request that could use the cache, by what the cache did for it.</summary>
    public void CacheLookup(CacheResult result) => _cacheLookups.Add(1, new KeyValuePair<string, object?>("llmrouter.cache.result", result switch
    {
        CacheResult.Hit => "hit",
        CacheResult.Coalesced => "coalesced",
        _ => "miss",
    }));

    public void CacheEvicted(string reason) => _cacheEvictions.Add(1, new KeyValuePair<string, object?>("llmrouter.cache.eviction_reason", reason));

    public void DistributedCacheFailed(string operation) =>
        _distributedCacheErrors.Add(1, new KeyValuePair<string, object?>("llmrouter.cache.operation", operation));

    public ActivitySource ActivitySource { get; }

    public Meter Meter { get; }

    public Activity? StartRequest(ChatOptions? options, bool streaming)
    {
        // Checked first so that the span name is only built when someone listens.
        if (!ActivitySource.HasListeners())
        {
            return null;
        }

        string? model = options?.ModelId;
        string name = string.IsNullOrWhiteSpace(model) ? OperationName : string.Concat(OperationName, " ", model);
        Activity? activity = ActivitySource.StartActivity(name, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(OperationNameTag, OperationName);
            if (!string.IsNullOrWhiteSpace(model))
            {
                activity.SetTag("gen_ai.request.model", model);
            }

            activity.SetTag("llmrouter.streaming", streaming ? s_true : s_false);
        }

        return activity;
    }

    public Activity? StartAttempt(string endpoint, int attemptNumber, bool probe, bool hedge)
    {
        if (!ActivitySource.HasListeners())
        {
            return null;
        }

        // A hedge starts while the attempt it races is still current, and an attempt stopped on another async flow
        // can stay current in this one; parenting to either would nest attempts. Every attempt belongs directly
        // under the request, so skip past our own attempt spans. Setting Current (rather than passing a parent
        // context) gives the span a Parent object, so that stopping it makes the request current again.
        Activity? current = Activity.Current;
        Activity? parent = current;
        while (parent is not null && ReferenceEquals(parent.Source, ActivitySource) && parent.Kind == ActivityKind.Internal)
        {
            parent = parent.Parent;
        }

        bool reparented = !ReferenceEquals(parent, current);
        if (reparented)
        {
            Activity.Current = parent;
        }

        Activity? activity = ActivitySource.StartActivity(string.Concat(AttemptSpanPrefix, endpoint), ActivityKind.Internal);
        if (activity is null)
        {
            if (reparented)
            {
                Activity.Current = current;
            }

            return null;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag(EndpointTag, endpoint);
            activity.SetTag("llmrouter.attempt.number", attemptNumber);
            if (probe)
            {
                activity.SetTag("llmrouter.attempt.probe", s_true);
            }

            if (hedge)
            {
                activity.SetTag("llmrouter.attempt.hedge", s_true);
            }
        }

        return activity;
    }

    /// <summary>Puts the routing decision on the request's span: why the first endpoint leads, and every candidate's score and health.</summary>
    public void Decided(Activity? activity, RoutingDecision decision)
    {
        if (activity is not { IsAllDataRequested: true } || !ReferenceEquals(activity.Source, ActivitySource))
        {
            return;
        }

        activity.SetTag("llmrouter.decision.reason", decision.Reason);
        var candidates = new System.Text.StringBuilder();
        foreach (CandidateScore candidate in decision.Candidates)
        {
            if (candidates.Length > 0)
            {
                _ = candidates.Append("; ");
            }

            _ = candidates.Append(candidate.ToString());
        }

        activity.SetTag("llmrouter.decision.candidates", candidates.ToString());
    }

    public void AttemptEnded(Activity? activity, string endpoint, FailureKind? failure, TimeSpan duration, TimeSpan? timeToFirstToken, UsageDetails? usage)
    {
        string outcome = failure is { } kind ? OutcomeOf(kind) : SuccessOutcome;

        var tags = new TagList
        {
            { EndpointTag, endpoint },
            { OutcomeTag, outcome },
        };
        _attempts.Add(1, tags);
        _attemptDuration.Record(duration.TotalSeconds, tags);

        if (timeToFirstToken is { } firstToken)
        {
            _timeToFirstToken.Record(firstToken.TotalSeconds, new TagList { { EndpointTag, endpoint } });
        }

        long? inputTokens = usage?.InputTokenCount;
        long? outputTokens = usage?.OutputTokenCount;
        if (inputTokens is { } input)
        {
            RecordTokens(input, "input", endpoint);
        }

        if (outputTokens is { } output)
        {
            RecordTokens(output, "output", endpoint);
        }

        if (activity is null)
        {
            return;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag(OutcomeTag, outcome);
            if (inputTokens is { } inputTag)
            {
                activity.SetTag("gen_ai.usage.input_tokens", inputTag);
            }

            if (outputTokens is { } outputTag)
            {
                activity.SetTag("gen_ai.usage.output_tokens", outputTag);
            }

            if (failure is not null)
            {
                activity.SetTag(ErrorTypeTag, outcome);
                activity.SetStatus(ActivityStatusCode.Error, outcome);
            }
        }

        activity.Dispose();
    }

    public void RequestEnded(Activity? activity, RoutingInfo? info, Exception? error, TimeSpan duration)
    {
        string outcome = error is null ? SuccessOutcome : OutcomeOf(error);
        bool failedOver = info?.FailedOver == true;

        var requestTags = new TagList { { OutcomeTag, outcome } };
        if (info is not null)
        {
            requestTags.Add(EndpointTag, info.Endpoint);
        }

        _requests.Add(1, requestTags);

        if (failedOver)
        {
            // Tagged with the endpoint that took over, so a dashboard shows where failed-over traffic lands.
            _failovers.Add(1, new TagList { { EndpointTag, info!.Endpoint } });
        }

        var durationTags = new TagList { { OperationNameTag, OperationName } };
        if (error is not null)
        {
            durationTags.Add(ErrorTypeTag, outcome);
        }

        _operationDuration.Record(duration.TotalSeconds, durationTags);

        if (activity is null)
        {
            return;
        }

        if (activity.IsAllDataRequested)
        {
            if (info is not null)
            {
                activity.SetTag(EndpointTag, info.Endpoint);
            }

            // A failed request has no RoutingInfo, but our exceptions still know how many attempts were made.
            IReadOnlyList<RoutingAttempt>? attempts = info?.Attempts ?? error switch
            {
                AllEndpointsFailedException e => e.Attempts,
                StreamInterruptedException e => e.Attempts,
                _ => null,
            };
            if (attempts is not null)
            {
                activity.SetTag("llmrouter.attempts", attempts.Count);
            }

            activity.SetTag("llmrouter.failed_over", failedOver ? s_true : s_false);

            if (error is not null)
            {
                activity.SetTag(ErrorTypeTag, outcome);
                activity.SetStatus(ActivityStatusCode.Error, outcome);
            }
        }

        activity.Dispose();
    }

    public void ObserveHealth(Func<IEnumerable<(string Endpoint, HealthState State)>> read)
    {
        ArgumentNullException.ThrowIfNull(read);

        // Observable instruments are not deduplicated by the Meter: a second registration would report every
        // endpoint twice.
        if (Interlocked.CompareExchange(ref _readHealth, read, null) is not null)
        {
            throw new InvalidOperationException("The endpoints' health is already observed; call ObserveHealth once per router.");
        }

        Meter.CreateObservableGauge(
            "llmrouter.endpoint.health",
            ReadHealth,
            "{state}",
            "Health of each endpoint: 0 healthy, 1 degraded, 2 open, 3 half-open.");
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            Meter.Dispose();
        }

        ActivitySource.Dispose();
    }

    private static string OutcomeOf(FailureKind kind)
    {
        uint index = (uint)kind;
        return index < (uint)s_failureOutcomes.Length ? s_failureOutcomes[index] : "error";
    }

    private static string OutcomeOf(Exception error) => error switch
    {
        OperationCanceledException => "canceled",
        AllEndpointsFailedException => "all_endpoints_failed",
        NoEndpointAvailableException => "no_endpoint_available",
        StreamInterruptedException => "stream_interrupted",
        _ => "error",
    };

    private static string ReadVersion()
    {
        string? version = typeof(RouterTelemetry).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(version))
        {
            return "1.0";
        }

        // The SDK appends "+<commit>"; OpenTelemetry scope versions carry the package version only.
        int metadata = version.IndexOf('+', StringComparison.Ordinal);
        return metadata > 0 ? version[..metadata] : version;
    }

    private void RecordTokens(long count, string tokenType, string endpoint)
    {
        if (count < 0)
        {
            return;
        }

        _tokenUsage.Record(
            (int)Math.Min(count, int.MaxValue),
            new TagList
            {
                { "gen_ai.token.type", tokenType },
                { OperationNameTag, OperationName },
                { EndpointTag, endpoint },
            });
    }

    private IEnumerable<Measurement<int>> ReadHealth()
    {
        Func<IEnumerable<(string Endpoint, HealthState State)>>? read = Volatile.Read(ref _readHealth);
        if (read is null)
        {
            yield break;
        }

        foreach ((string endpoint, HealthState state) in read())
        {
            yield return new Measurement<int>((int)state, new TagList { { EndpointTag, endpoint } });
        }
    }
}
