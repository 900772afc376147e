using System.Runtime.ExceptionServices;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// The failover state of one request: which endpoint to try next and when, what each failure means for the plan and
/// for the endpoint's health, and the record of every attempt.
/// </summary>
/// <remarks>Used by one request at a time; shared by the non-streaming and the streaming executors.</remarks>
internal sealed class FailoverSession
{
    private readonly RouterRuntime _runtime;
    // The queue of planned attempts: the plan's own array and a cursor while it is only consumed from the front (no
    // allocation on the common path); materialized into a list the first time it changes in any other way.
    private RouterEndpoint[] _plan = [];
    private int _planNext;
    private List<PlanEntry>? _list;
    private readonly CancellationToken _cancellationToken;
    private string? _lastFailedEndpoint;

    private const int MaxReplans = 3;
    private readonly bool _streaming;
    private readonly CandidateSelector _selector;
    private readonly IList<ChatMessage> _messages;
    private readonly ChatOptions? _options;
    private RoutingDecision _decision;
    private bool _rejected;
    private int _replans;
    private int _started;
    private bool _freeFailoverUsed;
    private long _tokenReservation = -1;

    /// <summary>The spending account of the request's tenant, when it has settings; null otherwise.</summary>
    private readonly BudgetAccount? _tenantAccount;

    private ulong _conversation;
    private bool _returning;
    private bool _remembersConversation;
    private bool _probesEarly;
    private bool _awaitedRecovery;
    private bool _lastResortUsed;

    private Func<RouterEndpoint, bool>? _failedHere;

    /// <summary>What <see cref="KeepOnly(Predicate{RouterEndpoint})"/> asked for (a continuation's endpoints), kept for a plan made again later.</summary>
    private Predicate<RouterEndpoint>? _keep;

    /// <param name="runtime">The router's shared runtime.</param>
    /// <param name="request">The planned request.</param>
    /// <param name="streaming">Whether the request streams.</param>
    /// <param name="selector">Plans the request again when needed (waiting, when every candidate is open, for a recovery).</param>
    /// <param name="messages">The request's messages, to plan again.</param>
    /// <param name="options">The caller's options, to plan again.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    public FailoverSession(
        RouterRuntime runtime,
        RoutedRequest request,
        bool streaming,
        CandidateSelector selector,
        IList<ChatMessage> messages,
        ChatOptions? options,
        CancellationToken cancellationToken)
    {
        _runtime = runtime;
        _cancellationToken = cancellationToken;
        _decision = request.Decision;
        _streaming = streaming;
        _selector = selector;
        _messages = messages;
        _options = options;
        if (options?.AdditionalProperties is not null && options.GetRoutingHints()?.Tenant is { } tenant &&
            runtime.Options.Constraints.Tenants.ContainsKey(tenant))
        {
            _tenantAccount = runtime.Budgets.TenantAccount(tenant);
        }

        Enqueue(request);
        runtime.RetryBudget.OnRequest();
    }

    public List<RoutingAttempt> Attempts { get; } = new(2);

    /// <summary>Gets the latest routing decision (a re-plan replaces it).</summary>
    public RoutingDecision Decision => _decision;

    /// <summary>Gets a value indicating whether the retry budget turned down an extra attempt of this request.</summary>
    public bool BudgetExhausted { get; private set; }

    /// <summary>
    /// Takes the next planned attempt, waiting until it may start, and asks the endpoint's health to admit it;
    /// <see langword="null"/> when the plan, the attempt limit or the retry budget is exhausted.
    /// </summary>
    /// <remarks>
    /// Every attempt after the first is an extra one and is paid from the retry budget. When the budget is spent, the
    /// request may still make one failover to an endpoint it has not tried, and nothing more.
    /// </remarks>
    /// <exception cref="OperationCanceledException">The caller cancelled while waiting.</exception>
    public async ValueTask<PlanEntry?> NextAsync()
    {
        TimeProvider time = _runtime.TimeProvider;
        if (_started > 0 && QueueCount > 0 && !_runtime.RetryBudget.TryWithdraw())
        {
            BudgetExhausted = true;
            if (_freeFailoverUsed)
            {
                return null;
            }

            // The one failover a spent budget still allows goes only to an endpoint that is succeeding now: not tried
            // yet, not open or rate-limited, and not failing most of its recent attempts. When every endpoint fails (a
            // storm), none qualifies and the request ends: the providers get no extra load.
            _freeFailoverUsed = true;
            long now = time.GetTimestamp();
            int minSamples = _runtime.Options.Scoring.MinSamples;
            _ = Materialize().RemoveAll(entry =>
                Attempts.Exists(attempt => string.Equals(attempt.Endpoint, entry.Endpoint.Name, StringComparison.Ordinal)) ||
                !LooksHealthy(entry.Endpoint, now, minSamples));
        }

        PlanEntry entry;
        Admission admission;
        while (true)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            if (QueueCount == 0 && Attempts.Count == 0 && _rejected && _replans < MaxReplans)
            {
                // Every planned endpoint was turned away at admission (another request took a half-open probe between
                // our plan and our attempt): plan again, which waits for the probe's outcome rather than failing.
                _replans++;
                _rejected = false;
                RoutedRequest request = await _selector.SelectAsync(_messages, _options, _streaming, _cancellationToken).ConfigureAwait(false);
                _decision = request.Decision;
                Enqueue(request);
            }

            if (QueueCount == 0 && Attempts.Count > 0 && !_awaitedRecovery && _started < _runtime.Options.Retry.MaxAttempts &&
                _runtime.Options.Health.WaitForRecoveryAfterFailures)
            {
                // Every attempt failed and the plan is spent: plan once more on the endpoints not failed on (or opened
                // since), waiting for one to become available within Health:AllOpenMaxWait. The attempt after the wait is
                // an extra one, paid from the retry budget. Once per request.
                _awaitedRecovery = true;
                long deadline = _selector.AllOpenDeadline();
                if (await _selector.AwaitRecoveryAsync(_messages, _options, _streaming, deadline, _failedHere ??= FailedHere, _cancellationToken).ConfigureAwait(false) is { } recovered)
                {
                    if (!_runtime.RetryBudget.TryWithdraw())
                    {
                        BudgetExhausted = true;
                        return null;
                    }

                    _decision = recovered.Decision;
                    Enqueue(recovered);
                    if (_keep is { } keep)
                    {
                        KeepOnly(keep); // a continuation still goes only where continuing is supported
                    }
                }
            }

            if (QueueCount == 0 || _started >= _runtime.Options.Retry.MaxAttempts)
            {
                return null;
            }

            entry = QueueAt(0);
            RemoveAt(0);

            long now = time.GetTimestamp();
            if (entry.NotBefore > now)
            {
                await Task.Delay(time.GetElapsedTime(now, entry.NotBefore), time, _cancellationToken).ConfigureAwait(false);
                now = time.GetTimestamp();
            }

            // Admission at attempt time, not plan time: exactly one probe reaches a half-open endpoint.
            admission = _probesEarly ? entry.Endpoint.Health.TryAdmitEarly() : entry.Endpoint.Health.TryAdmit(now);
            if (admission != Admission.Rejected && !TryTakeLimits(ref entry, admission))
            {
                admission = Admission.Rejected; // at its rate or concurrency limit: passed over like a busy probe
            }

            _rejected |= admission == Admission.Rejected;
            if (admission != Admission.Rejected)
            {
                break;
            }
        }

        return Begin(entry, admission, hedge: false);
    }

    /// <summary>
    /// Takes the first planned attempt that may start now on an endpoint not already running for this request, as a
    /// hedge paid from the retry budget; <see langword="null"/> when there is none, or the attempt limit or the budget
    /// is exhausted.
    /// </summary>
    /// <param name="busy">Tells whether an endpoint already has an attempt of this request running.</param>
    public PlanEntry? TryTakeHedge(Func<RouterEndpoint, bool> busy)
    {
        if (_started >= _runtime.Options.Retry.MaxAttempts)
        {
            return null;
        }

        long now = _runtime.TimeProvider.GetTimestamp();
        for (int i = 0; i < QueueCount; i++)
        {
            PlanEntry entry = QueueAt(i);
            if (entry.NotBefore > now || busy(entry.Endpoint))
            {
                continue;
            }

            Admission admission = entry.Endpoint.Health.TryAdmit(now);
            if (admission == Admission.Rejected || !TryTakeLimits(ref entry, admission))
            {
                continue;
            }

            if (!_runtime.RetryBudget.TryWithdraw())
            {
                entry.Lease?.Return(null);
                entry.Endpoint.Health.OnNeutral(admission);
                BudgetExhausted = true;
                return null;
            }

            RemoveAt(i);
            return Begin(entry, admission, hedge: true);
        }

        return null;
    }

    /// <summary>Keeps in the plan only the attempts that match; used to continue an interrupted stream on capable endpoints.</summary>
    /// <summary>Whether an attempt of this request went to <paramref name="endpoint"/>.</summary>
    private bool FailedHere(RouterEndpoint endpoint) => Attempts.Exists(attempt => string.Equals(attempt.Endpoint, endpoint.Name, StringComparison.Ordinal));

    /// <summary>Keeps only the planned attempts on endpoints <paramref name="match"/> accepts, now and in a plan made again later.</summary>
    public void KeepOnly(Predicate<RouterEndpoint> match)
    {
        _keep = match;
        _ = Materialize().RemoveAll(entry => !match(entry.Endpoint));
    }

    /// <summary>
    /// Keeps only the planned attempts on endpoints <paramref name="match"/> accepts; when none is left, plans
    /// <paramref name="lastResort"/> (the endpoint whose stream broke off) once more, if it accepts it too and is not open,
    /// once per request: a continuation asks for what follows the output already delivered, so the same endpoint
    /// repeats nothing.
    /// </summary>
    public void KeepOnly(Predicate<RouterEndpoint> match, RouterEndpoint? lastResort)
    {
        KeepOnly(match);
        List<PlanEntry> queue = Materialize();
        if (queue.Count == 0 && lastResort is not null && !_lastResortUsed && match(lastResort) &&
            lastResort.Health.StateAt(_runtime.TimeProvider.GetTimestamp()) is HealthState.Healthy or HealthState.Degraded)
        {
            _lastResortUsed = true; // once per request: a connection that keeps breaking ends the stream
            queue.Add(new PlanEntry(lastResort, int.MaxValue, 0));
        }
    }

    /// <summary>Takes the attempt's share of the endpoint's limits; false (health admission undone) when it is at one.</summary>
    private bool TryTakeLimits(ref PlanEntry entry, Admission admission)
    {
        if (entry.Endpoint.Limits is not { Any: true } limits)
        {
            return true;
        }

        if (limits.TryAcquire(limits.HasTokenLimit ? TokenReservation() : 0) is not { } lease)
        {
            entry.Endpoint.Health.OnNeutral(admission);
            return false;
        }

        entry = entry with { Lease = lease };
        return true;
    }

    /// <summary>The tokens an attempt reserves: the quick input estimate and the output cap, or the assumed output.</summary>
    private long TokenReservation()
    {
        if (_tokenReservation < 0)
        {
            _tokenReservation = TokenEstimator.Quick(TokenEstimator.CountCharacters(_messages, _options), _messages.Count) +
                (_options?.MaxOutputTokens ?? _runtime.Options.Scoring.AssumedOutputTokens);
        }

        return _tokenReservation;
    }

    private PlanEntry Begin(PlanEntry entry, Admission admission, bool hedge)
    {
        _started++;
        entry = entry with
        {
            Admission = admission,
            Hedge = hedge,
            Span = _runtime.Telemetry.StartAttempt(entry.Endpoint.Name, _started, admission == Admission.Probe, hedge),
        };

        entry.Endpoint.Metrics.AttemptStarted();
        if (hedge)
        {
            Log.Hedging(_runtime.Logger, entry.Endpoint.Name, _started);
        }
        else if (_lastFailedEndpoint is not null && !string.Equals(_lastFailedEndpoint, entry.Endpoint.Name, StringComparison.Ordinal))
        {
            Log.FailingOver(_runtime.Logger, _lastFailedEndpoint, entry.Endpoint.Name);
        }

        return entry;
    }

    private static bool LooksHealthy(RouterEndpoint endpoint, long now, int minSamples)
    {
        if (endpoint.Health.StateAt(now) is HealthState.Open or HealthState.HalfOpen || endpoint.Cooldown.IsCoolingDown(now))
        {
            return false;
        }

        EndpointSnapshot snapshot = endpoint.Metrics.Snapshot;
        return snapshot.SampleCount < minSamples || double.IsNaN(snapshot.DecayedSuccess) || snapshot.DecayedSuccess >= 0.5;
    }

    private int QueueCount => _list?.Count ?? _plan.Length - _planNext;

    private PlanEntry QueueAt(int index) => _list is { } list ? list[index] : new PlanEntry(_plan[_planNext + index], 0, 0);

    private void RemoveAt(int index)
    {
        if (_list is null && index == 0)
        {
            _planNext++;
            return;
        }

        Materialize().RemoveAt(index);
    }

    private List<PlanEntry> Materialize()
    {
        if (_list is null)
        {
            _list = new List<PlanEntry>(Math.Max(4, _plan.Length - _planNext + 2));
            for (int i = _planNext; i < _plan.Length; i++)
            {
                _list.Add(new PlanEntry(_plan[i], 0, 0));
            }

            _plan = [];
            _planNext = 0;
        }

        return _list;
    }

    private void Enqueue(RoutedRequest request)
    {
        _conversation = request.Conversation;
        _returning = request.Returning;
        _remembersConversation = request.RemembersConversation;
        _probesEarly = request.ProbesEarly;
        if (_list is null && QueueCount == 0)
        {
            _plan = request.Candidates; // read only: shared with the decision
            _planNext = 0;
            return;
        }

        List<PlanEntry> list = Materialize();
        foreach (RouterEndpoint endpoint in request.Candidates)
        {
            list.Add(new PlanEntry(endpoint, 0, 0));
        }
    }

    /// <summary>Tells what kind of failure an attempt met: the caller's cancellation and the attempt timeout first, then the classifiers.</summary>
    /// <param name="exception">What the endpoint threw; when our timeout fired, replaced by a <see cref="TimeoutException"/> that says which one.</param>
    /// <param name="scope">The attempt's scope.</param>
    /// <param name="endpoint">The endpoint.</param>
    public FailureClassification Classify(ref Exception exception, AttemptScope scope, RouterEndpoint endpoint)
    {
        if (_cancellationToken.IsCancellationRequested)
        {
            return new FailureClassification(FailureKind.Canceled);
        }

        if (scope.TimedOut)
        {
            exception = scope.TimeoutFailure(endpoint.Name, _streaming, exception);
            return new FailureClassification(FailureKind.Timeout);
        }

        return _runtime.Classifier.Classify(exception);
    }

    /// <summary>Records a failed attempt, applies its effect on health and on the plan, and tells whether the request must stop.</summary>
    /// <returns><see langword="true"/> when the request must end with this failure (cancellation, or a request error no other endpoint can fix).</returns>
    public bool OnFailure(PlanEntry entry, FailureClassification classification, Exception? exception, TimeSpan duration, UsageDetails? usage = null)
    {
        RouterEndpoint endpoint = entry.Endpoint;
        FailureKind kind = classification.Kind;
        Attempts.Add(new RoutingAttempt(endpoint.Name, kind, duration, exception, classification.RetryAfter, entry.Hedge));
        RecordSample(entry, duration, null, usage, (byte)(kind + 1), entry.Hedge ? AttemptSample.HedgeFlag : (byte)0);
        _runtime.Telemetry.AttemptEnded(entry.Span, endpoint.Name, kind, duration, null, usage);
        long now = _runtime.TimeProvider.GetTimestamp();
        HealthState? transition = endpoint.Health.OnFailure(
            now, kind, entry.Admission, _runtime.Options.Health, _runtime.Random(), _runtime.TimeProvider.TimestampFrequency);
        if (transition is { } state)
        {
            Log.HealthChanged(_runtime.Logger, endpoint.Name, state, kind.ToString());
        }

        if (kind == FailureKind.Canceled)
        {
            return true;
        }

        if (kind == FailureKind.ContentFilter && exception is null)
        {
            Log.ContentRefused(_runtime.Logger, endpoint.Name);
        }
        else
        {
            Log.AttemptFailed(_runtime.Logger, Attempts.Count, endpoint.Name, kind, exception?.GetType().Name ?? "no exception", duration.TotalMilliseconds);
        }

        _lastFailedEndpoint = endpoint.Name;
        ApplyHealthEffect(endpoint, classification);

        switch (kind)
        {
            case FailureKind.BadRequest:
                return true;
            case FailureKind.ContentFilter:
                _ = Materialize().RemoveAll(static e => !e.Endpoint.Options.IsContentFilterFallback);
                return QueueCount == 0;
            case FailureKind.ContextLength:
                int? window = endpoint.Options.ContextWindowTokens;
                _ = Materialize().RemoveAll(e => e.Endpoint.Options.ContextWindowTokens is not { } larger || (window is { } w && larger <= w));
                return QueueCount == 0;
            case FailureKind.Transient:
            case FailureKind.RateLimited:
                ScheduleRetry(entry, classification);
                return false;
            default: // Timeout, Auth: move on
                return false;
        }
    }

    /// <summary>Whether a response refused by content filter may still be served by a fallback endpoint.</summary>
    public bool HasContentFilterFallback()
    {
        for (int i = 0; i < QueueCount; i++)
        {
            PlanEntry entry = QueueAt(i);
            if (entry.Endpoint.Options.IsContentFilterFallback)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Records the success of an attempt in health (its first output, for streams) and returns the routing information.</summary>
    /// <param name="entry">The attempt.</param>
    /// <param name="duration">How long until the response, or until the first output of a stream.</param>
    public RoutingInfo OnSuccess(PlanEntry entry, TimeSpan duration)
    {
        RouterEndpoint endpoint = entry.Endpoint;
        Attempts.Add(new RoutingAttempt(endpoint.Name, null, duration, null, null, entry.Hedge));

        EndpointSnapshot snapshot = endpoint.Metrics.Snapshot;
        double baseline = _streaming && !double.IsNaN(snapshot.TtftP95Ms) ? snapshot.TtftP95Ms : snapshot.P95Ms;
        bool slow = snapshot.SampleCount >= _runtime.Options.Scoring.MinSamples && !double.IsNaN(baseline) && duration.TotalMilliseconds > baseline;
        if (endpoint.Health.OnSuccess(_runtime.TimeProvider.GetTimestamp(), slow, entry.Admission, _runtime.Options.Health) is { } state)
        {
            Log.HealthChanged(_runtime.Logger, endpoint.Name, state, slow ? "slow responses" : "success");
        }

        if (_conversation == ConversationKey.None && _remembersConversation)
        {
            // A first turn: its key is worked out now that it was served, for the next turn to find.
            _conversation = ConversationKey.Of(_messages, _options?.AdditionalProperties is null ? null : _options.GetRoutingHints(), out _);
        }

        if (_conversation != ConversationKey.None)
        {
            // The conversation sticks to the endpoint that served this turn, wherever the previous one went.
            AffinityOptions affinity = _runtime.Options.Affinity;
            long now = _runtime.TimeProvider.GetTimestamp();
            long expires = now + (long)(affinity.TimeToLive.TotalSeconds * _runtime.TimeProvider.TimestampFrequency);
            string? previous = _runtime.Conversations.Remember(_conversation, endpoint.Name, now, expires, affinity.MaxConversations, _returning);
            if (_returning && previous is not null)
            {
                _runtime.Telemetry.AffinityTurn(endpoint.Name, stayed: string.Equals(previous, endpoint.Name, StringComparison.Ordinal));
            }
        }

        // The list itself, not a copy: after the serving attempt only a stream's failure may add to it, and then the
        // caller gets that failure, not this information.
        return new RoutingInfo(endpoint.Name, Attempts, _decision, BudgetExhausted);
    }

    /// <summary>
    /// Records an attempt the router cancelled while it ran: it lost a hedge race, or the request ended by another
    /// attempt's failure. Neither says anything about the endpoint: no failure is counted, a probe slot is released.
    /// </summary>
    public void OnCanceled(PlanEntry entry, TimeSpan duration, bool byHedge)
    {
        RouterEndpoint endpoint = entry.Endpoint;
        Attempts.Add(new RoutingAttempt(endpoint.Name, FailureKind.Canceled, duration, null, null, entry.Hedge, byHedge));
        RecordSample(entry, duration, null, null, (byte)(FailureKind.Canceled + 1), AttemptSample.CanceledFlag | AttemptSample.HedgeFlag);
        _runtime.Telemetry.AttemptEnded(entry.Span, endpoint.Name, FailureKind.Canceled, duration, null, null);
        endpoint.Health.OnNeutral(entry.Admission);
    }

    /// <summary>Records a successful attempt's sample: latency, time to first token (streams) and usage.</summary>
    public void RecordSuccess(PlanEntry entry, TimeSpan latency, TimeSpan? timeToFirstToken, UsageDetails? usage, bool abandoned = false)
    {
        RecordSample(entry, latency, timeToFirstToken, usage, 0, (byte)((abandoned ? AttemptSample.CanceledFlag : 0) | (entry.Hedge ? AttemptSample.HedgeFlag : 0)));

        // A stream's attempt lasts until its first output, as RoutingAttempt.Duration says; its reading time is the caller's.
        _runtime.Telemetry.AttemptEnded(entry.Span, entry.Endpoint.Name, null, timeToFirstToken ?? latency, timeToFirstToken, usage);
    }

    /// <summary>The exception that ends a request whose plan ran out.</summary>
    public Exception Exhausted()
    {
        _cancellationToken.ThrowIfCancellationRequested();
        if (Attempts.Count == 0)
        {
            return new NoEndpointAvailableException(
                "Every candidate endpoint was turned away at admission (open, or a half-open probe in flight) and stayed so " +
                "while the request waited. Retry later, or add endpoints to the group.");
        }

        Log.AllEndpointsFailed(_runtime.Logger, Attempts.Count);
        return new AllEndpointsFailedException(Attempts, BudgetExhausted, _decision.Excluded);
    }

    /// <summary>Ends the request with the failure that stopped it.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public void ThrowStop(FailureClassification classification, Exception exception)
    {
        if (classification.Kind == FailureKind.Canceled)
        {
            _cancellationToken.ThrowIfCancellationRequested();
        }

        // A request error is the caller's to fix: they get the provider's own exception, as from a direct call.
        ExceptionDispatchInfo.Throw(exception);
    }

    private void RecordSample(PlanEntry entry, TimeSpan latency, TimeSpan? timeToFirstToken, UsageDetails? usage, byte outcome, byte flags = 0)
    {
        RouterEndpoint endpoint = entry.Endpoint;
        EndpointOptions prices = endpoint.Options;
        long input = usage?.InputTokenCount ?? 0;
        long output = usage?.OutputTokenCount ?? 0;
        decimal cost = UsageCost.Of(prices, usage);
        if (cost > 0)
        {
            // Every attempt that reported usage is billed, failed and cancelled ones included: the provider bills them.
            DateTimeOffset utcNow = _runtime.TimeProvider.GetUtcNow();
            endpoint.Spending.Add(cost, utcNow);
            _tenantAccount?.Add(cost, utcNow);
        }

        var sample = new AttemptSample
        {
            Timestamp = _runtime.TimeProvider.GetTimestamp(),
            LatencyMs = (float)latency.TotalMilliseconds,
            TimeToFirstTokenMs = timeToFirstToken is { } ttft ? (float)ttft.TotalMilliseconds : float.NaN,
            InputTokens = (int)Math.Min(int.MaxValue, input),
            OutputTokens = (int)Math.Min(int.MaxValue, output),
            CachedInputTokens = (int)Math.Clamp(usage?.CachedInputTokenCount ?? 0, 0, Math.Min(input, int.MaxValue)),
            Cost = (float)cost,
            Outcome = outcome,
            Flags = (byte)(flags | (_streaming ? AttemptSample.StreamedFlag : 0)),
        };
        endpoint.Metrics.Record(sample);
        endpoint.Metrics.AttemptEnded();
        entry.Lease?.Return(usage);
        _runtime.Refresher?.MarkDirty();
    }

    private void ApplyHealthEffect(RouterEndpoint endpoint, FailureClassification classification)
    {
        HealthOptions health = _runtime.Options.Health;
        TimeSpan cooldown = classification.Kind switch
        {
            FailureKind.RateLimited => Min(classification.RetryAfter ?? health.DefaultRateLimitCooldown, health.MaxRateLimitCooldown),
            _ => TimeSpan.Zero,
        };

        if (cooldown > TimeSpan.Zero && endpoint.Cooldown.ExtendTo(_runtime.TimeProvider.GetTimestamp() + ToTicks(cooldown)))
        {
            Log.CoolingDown(_runtime.Logger, endpoint.Name, cooldown.TotalMilliseconds, classification.Kind);
        }
    }

    private void ScheduleRetry(PlanEntry entry, FailureClassification classification)
    {
        RetryOptions retry = _runtime.Options.Retry;
        if (entry.Retries >= retry.MaxRetriesPerEndpoint)
        {
            return;
        }

        TimeSpan backoff = Backoff.FullJitter(entry.Retries, retry.BaseDelay, retry.MaxDelay, _runtime.Random());
        TimeSpan delay = backoff;
        if (classification.RetryAfter is { } retryAfter)
        {
            if (retryAfter > retry.MaxRetryAfter)
            {
                return; // longer than we may wait: the endpoint cools down and the request moves on
            }

            delay = retryAfter > backoff ? retryAfter : backoff;
        }

        var again = new PlanEntry(entry.Endpoint, entry.Retries + 1, _runtime.TimeProvider.GetTimestamp() + ToTicks(delay));
        Log.RetryScheduled(_runtime.Logger, entry.Endpoint.Name, delay.TotalMilliseconds, classification.Kind);
        if (classification.Kind == FailureKind.RateLimited)
        {
            Materialize().Add(again); // the other candidates go first; we come back once they are spent
        }
        else
        {
            Materialize().Insert(0, again);
        }
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * _runtime.TimeProvider.TimestampFrequency);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
