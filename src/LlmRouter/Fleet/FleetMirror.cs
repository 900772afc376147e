using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace LlmRouter;

/// <summary>
/// The local mirror of a fleet's shared health, kept in step with Redis off the request path. Routing reads only the
/// endpoints' own health objects; this class changes them when news arrives (pub/sub), reads the shared keys at
/// start-up and after every reconnect, publishes local news from a bounded queue, and takes each recovering endpoint's
/// probe lock around the end of its break so that one instance of the fleet probes it.
/// </summary>
/// <remarks>
/// Redis being down, slow or flapping never costs a request: the request path only enqueues (and drops the oldest news
/// when the queue is full); while disconnected every instance falls back to its own health and probes locally.
/// The loop paces itself on real time; deadlines are on the router's clock and cross the wire as Unix milliseconds.
/// </remarks>
internal sealed class FleetMirror : IDisposable
{
    private readonly RedisFleetOptions _options;
    private readonly RouterRuntime _runtime;
    private readonly ILogger _logger;
    private readonly FleetKeys _keys;
    private readonly FleetEndpoint[] _endpoints;
    private readonly Dictionary<string, FleetEndpoint> _byName;
    private readonly Channel<FleetEvent> _queue;
    private readonly Func<CancellationToken, Task<IConnectionMultiplexer>> _connect;
    private readonly bool _ownsConnection;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly FleetQuotaLeaser _leaser;
    private readonly FleetBudgets _budgets;
    private long _budgetSyncDue; // Stopwatch timestamp
    private long _budgetSyncs;
    private int _budgetsShared;
    private IConnectionMultiplexer? _redis;
    private ChannelMessageQueue? _subscription;
    private int _state = (int)FleetConnectionState.Connecting;
    private long _stateSinceUnixMs;
    private long _outageStarted; // Stopwatch timestamp
    private string? _lastError;
    private long _outages;
    private long _resyncs;
    private long _published;
    private long _applied;
    private long _dropped;
    private long _commands;
    private int _resyncWanted = 1;
    private int _wakeQueued;
    private int _publishing;

    public FleetMirror(
        RedisFleetOptions options,
        RouterEndpoint[] endpoints,
        RouterRuntime runtime,
        ILogger logger,
        Func<CancellationToken, Task<IConnectionMultiplexer>> connect,
        bool ownsConnection)
    {
        _options = options;
        _runtime = runtime;
        _logger = logger;
        _connect = connect;
        _ownsConnection = ownsConnection;
        _keys = new FleetKeys(options.KeyPrefix);
        _stateSinceUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _queue = Channel.CreateBounded<FleetEvent>(
            new BoundedChannelOptions(options.PublishQueueCapacity)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
                SingleWriter = false,
            },
            _ => Interlocked.Increment(ref _dropped));

        _endpoints = new FleetEndpoint[endpoints.Length];
        _byName = new Dictionary<string, FleetEndpoint>(endpoints.Length, StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < endpoints.Length; i++)
        {
            var fleetEndpoint = new FleetEndpoint(this, endpoints[i], i);
            _endpoints[i] = fleetEndpoint;
            _byName[endpoints[i].Name] = fleetEndpoint;
            endpoints[i].Health.Observer = fleetEndpoint;
            endpoints[i].Cooldown.Observer = fleetEndpoint;
        }

        var quotas = new List<FleetQuota>();
        foreach (FleetEndpoint endpoint in _endpoints)
        {
            EndpointOptions endpointOptions = endpoint.Endpoint.Options;
            endpoint.Requests = NewQuota(endpoint, "rpm", endpointOptions.RequestsPerMinute ?? 0);
            endpoint.Tokens = NewQuota(endpoint, "tpm", endpointOptions.TokensPerMinute ?? 0);
            endpoint.Endpoint.Limits?.AttachFleet(endpoint.Requests, endpoint.Tokens);
        }

        _leaser = new FleetQuotaLeaser(options.KeyPrefix, InstanceId, quotas, TimeSpan.FromSeconds(5))
        {
            ConfiguredShare = options.FallbackShare,
            SizeWanted = AnyConcurrencyLimit,
            ShareChanged = ShareConcurrency,
        };
        ShareConcurrency(_leaser.Share);
        _budgets = new FleetBudgets(options.KeyPrefix, runtime, endpoints);

        // Every endpoint gets both quotas, used only while it has the limit: a limit added by a live options change is
        // the fleet's from its first request, as one configured at start-up.
        FleetQuota? NewQuota(FleetEndpoint endpoint, string kind, long limit)
        {
            var quota = new FleetQuota(endpoint.Endpoint.Name, kind, limit) { Starved = Wake, FallbackShare = options.FallbackShare ?? 1 };
            quotas.Add(quota);
            return quota;
        }

        _loop = Task.Run(RunAsync);
    }

    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    public bool ShareFailureCounts => _options.ShareFailureCounts;

    public FleetConnectionState State => (FleetConnectionState)Volatile.Read(ref _state);

    /// <summary>Gets how many Redis commands the mirror sent (all from its background loop); for tests.</summary>
    internal long CommandsSent => Interlocked.Read(ref _commands);

    /// <summary>Gets the fleet-wide requests-per-minute quota of an endpoint (its limit is 0 while the endpoint has none).</summary>
    /// <remarks><c>EndpointLimits</c> takes from it beside its local limiter (attached at construction).</remarks>
    internal FleetQuota? RequestQuota(int endpointIndex) => _endpoints[endpointIndex].Requests;

    /// <summary>Gets the fleet-wide tokens-per-minute quota of an endpoint (its limit is 0 while the endpoint has none).</summary>
    internal FleetQuota? TokenQuota(int endpointIndex) => _endpoints[endpointIndex].Tokens;

    internal FleetQuotaLeaser Leaser => _leaser;

    /// <summary>Gets how many budget pushes completed; for tests.</summary>
    internal long BudgetSyncs => Interlocked.Read(ref _budgetSyncs);

    internal FleetBudgets Budgets => _budgets;

    /// <summary>Queues local news; never blocks: a full queue drops its oldest entry.</summary>
    public void Enqueue(FleetEvent fleetEvent) => _ = _queue.Writer.TryWrite(fleetEvent);

    public FleetStatus GetStatus()
    {
        var held = new List<string>();
        foreach (FleetEndpoint endpoint in _endpoints)
        {
            if (endpoint.HoldsLock)
            {
                held.Add(endpoint.Endpoint.Name);
            }
        }

        return new FleetStatus
        {
            KeyPrefix = _options.KeyPrefix,
            InstanceId = InstanceId,
            State = State,
            StateSince = DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _stateSinceUnixMs)),
            LastError = Volatile.Read(ref _lastError),
            Outages = Interlocked.Read(ref _outages),
            Resyncs = Interlocked.Read(ref _resyncs),
            PublishedEvents = Interlocked.Read(ref _published),
            AppliedEvents = Interlocked.Read(ref _applied),
            DroppedEvents = Interlocked.Read(ref _dropped),
            QueuedEvents = (_queue.Reader.CanCount ? _queue.Reader.Count : 0) + Volatile.Read(ref _publishing),
            ProbeLocksHeld = held,
            BudgetsShared = Volatile.Read(ref _budgetsShared) != 0,
        };
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        _ = _queue.Writer.TryComplete();
        // A loop stuck on a slow Redis is not waited for long: it never throws, and ends at its next step.
        bool ended = _loop.Wait(TimeSpan.FromMilliseconds(250));

        foreach (FleetEndpoint endpoint in _endpoints)
        {
            endpoint.Endpoint.Health.Observer = null;
            endpoint.Endpoint.Cooldown.Observer = null;
            endpoint.Endpoint.Health.FleetProbeDenied = false;
            endpoint.Endpoint.Limits?.AttachFleet(null, null);
            endpoint.Endpoint.Limits?.SetFleetConcurrencyShare(null);
        }

        IConnectionMultiplexer? redis = _redis;
        if (redis is not null)
        {
            try
            {
                foreach (FleetEndpoint endpoint in _endpoints)
                {
                    if (endpoint.HoldsLock && redis.IsConnected)
                    {
                        // Best effort: another instance may probe at once rather than after the lock expires.
                        _ = redis.GetDatabase().ScriptEvaluate(
                            FleetScripts.Release, [_keys.ProbeKey(endpoint.Endpoint.Name)], [InstanceId], CommandFlags.FireAndForget);
                    }
                }

                _subscription?.Unsubscribe(CommandFlags.FireAndForget);
            }
            catch (RedisException)
            {
                // Redis is down: the lock expires on its own.
            }

            if (_ownsConnection)
            {
                redis.ConnectionFailed -= OnConnectionFailed;
                redis.ConnectionRestored -= OnConnectionRestored;
                redis.Dispose();
            }
        }

        if (ended)
        {
            _stop.Dispose();
        }
    }

    private async Task RunAsync()
    {
        try
        {
            await RunLoopAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The loop must never fault: after disposal, whatever a dying connection throws is moot.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private async Task RunLoopAsync()
    {
        CancellationToken stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (_redis is null)
                {
                    _redis = await _connect(stop).ConfigureAwait(false);
                    _redis.ConnectionFailed += OnConnectionFailed;
                    _redis.ConnectionRestored += OnConnectionRestored;
                }

                if (State != FleetConnectionState.Connected || Volatile.Read(ref _resyncWanted) != 0)
                {
                    if (_redis.IsConnected)
                    {
                        await ResyncAsync(_redis).ConfigureAwait(false);
                    }
                    else
                    {
                        MarkLost("not connected");
                    }
                }

                await DrainAsync(_redis).ConfigureAwait(false);
                if (State == FleetConnectionState.Connected)
                {
                    await ManageProbeLocksAsync(_redis).ConfigureAwait(false);
                    Add(ref _commands, await _leaser.RunOnceAsync(_redis.GetDatabase(), _runtime.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false));
                    await SyncBudgetsAsync(_redis).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                // Whatever Redis or the network throws (connection, timeout, script error) is an outage, never a crash.
                MarkLost(e.GetType().Name);
            }

            try
            {
                await WaitAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
        }
    }

    private async Task WaitAsync(CancellationToken stop)
    {
        if (_queue.Reader.TryPeek(out _) && State == FleetConnectionState.Connected)
        {
            return;
        }

        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stop);
        Task delay = Task.Delay(_options.PollInterval, wake.Token);
        Task news = _queue.Reader.WaitToReadAsync(wake.Token).AsTask();
        _ = await Task.WhenAny(delay, news).ConfigureAwait(false);
        await wake.CancelAsync().ConfigureAwait(false);
        stop.ThrowIfCancellationRequested();
        if (news.IsCompleted && State != FleetConnectionState.Connected)
        {
            // Disconnected: news only waits for the next poll (it is dropped there), so the loop does not spin.
            await Task.Delay(_options.PollInterval, stop).ConfigureAwait(false);
        }
    }

    /// <summary>Pushes spending and reads the fleet's totals back, once per <see cref="RedisFleetOptions.BudgetSyncInterval"/>.</summary>
    private async Task SyncBudgetsAsync(IConnectionMultiplexer redis)
    {
        long now = Stopwatch.GetTimestamp();
        if (!_options.ShareBudgets || now < _budgetSyncDue)
        {
            return;
        }

        _budgetSyncDue = now + (long)(_options.BudgetSyncInterval.TotalSeconds * Stopwatch.Frequency);
        int trips = await _budgets.SyncAsync(redis.GetDatabase()).ConfigureAwait(false);
        Add(ref _commands, trips);
        if (trips > 0)
        {
            Volatile.Write(ref _budgetsShared, 1);
            Interlocked.Increment(ref _budgetSyncs);
        }
    }

    /// <summary>Whether any endpoint has a concurrency limit, which the fleet holds by shares sized from the fleet's heartbeats.</summary>
    private bool AnyConcurrencyLimit()
    {
        foreach (FleetEndpoint endpoint in _endpoints)
        {
            if (endpoint.Endpoint.Limits is not null && endpoint.Endpoint.Options.MaxConcurrency is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Gives every endpoint's concurrency limit this instance's share of it.</summary>
    private void ShareConcurrency(double share)
    {
        foreach (FleetEndpoint endpoint in _endpoints)
        {
            endpoint.Endpoint.Limits?.SetFleetConcurrencyShare(share);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => MarkLost(e.FailureType.ToString());

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => Volatile.Write(ref _resyncWanted, 1);

    private void MarkLost(string reason)
    {
        Volatile.Write(ref _lastError, reason);
        Volatile.Write(ref _resyncWanted, 1);
        Volatile.Write(ref _budgetsShared, 0); // each instance adds its own spending to the last known fleet totals
        _budgetSyncDue = 0; // pushed at once on reconnect
        int previous = Interlocked.Exchange(ref _state, (int)FleetConnectionState.Disconnected);
        if (previous == (int)FleetConnectionState.Disconnected)
        {
            return;
        }

        Interlocked.Exchange(ref _stateSinceUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _leaser.FallBack(_runtime.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        foreach (FleetEndpoint endpoint in _endpoints)
        {
            // Local health decides alone: each instance probes for itself rather than no instance probing at all.
            endpoint.HoldsLock = false;
            endpoint.Endpoint.Health.FleetProbeDenied = false;
        }

        if (previous == (int)FleetConnectionState.Connected)
        {
            Interlocked.Increment(ref _outages);
            Volatile.Write(ref _outageStarted, Stopwatch.GetTimestamp());
            FleetLog.Lost(_logger, _options.KeyPrefix, reason);
        }
        else if (Interlocked.Read(ref _outages) == 0)
        {
            // Unreachable from the start: one warning as well, and only one.
            Interlocked.Increment(ref _outages);
            Volatile.Write(ref _outageStarted, Stopwatch.GetTimestamp());
            FleetLog.Lost(_logger, _options.KeyPrefix, reason);
        }
    }

    /// <summary>Reads the fleet's state into the mirror, then writes back what only this instance knows (news lost while disconnected).</summary>
    private async Task ResyncAsync(IConnectionMultiplexer redis)
    {
        Volatile.Write(ref _resyncWanted, 0);
        IDatabase db = redis.GetDatabase();
        if (_subscription is null)
        {
            Count();
            _subscription = await redis.GetSubscriber().SubscribeAsync(_keys.Channel).ConfigureAwait(false);
            _subscription.OnMessage(OnMessage);
        }

        int n = _endpoints.Length;
        var keys = new RedisKey[3 * n];
        for (int i = 0; i < n; i++)
        {
            string name = _endpoints[i].Endpoint.Name;
            keys[i] = _keys.OpenKey(name);
            keys[n + i] = _keys.CooldownKey(name);
            keys[(2 * n) + i] = _keys.FailuresKey(name);
        }

        Count();
        RedisValue[] values = await db.StringGetAsync(keys).ConfigureAwait(false);
        for (int i = 0; i < n; i++)
        {
            FleetEndpoint endpoint = _endpoints[i];
            if (FleetKeys.TryParseOpen(values[i], out long openUntil, out int failedProbes))
            {
                ApplyOpen(endpoint, openUntil, failedProbes);
            }

            if (values[n + i].TryParse(out long coolUntil))
            {
                ApplyCooldown(endpoint, coolUntil);
            }

            endpoint.Suspect = values[(2 * n) + i].TryParse(out long failures) && failures > 0;
        }

        // What this instance learnt while Redis was away, in force still: pushed with the same only-later rules.
        long now = _runtime.TimeProvider.GetTimestamp();
        foreach (FleetEndpoint endpoint in _endpoints)
        {
            HealthStatus status = endpoint.Endpoint.Health.Status;
            if (status.State == HealthState.Open && status.OpenUntil > now)
            {
                await PublishAsync(db, new FleetEvent(FleetEventKind.Opened, endpoint.Index, status.OpenUntil, endpoint.Endpoint.Health.FailedProbes)).ConfigureAwait(false);
            }

            long cooldown = endpoint.Endpoint.Cooldown.Deadline;
            if (cooldown > now)
            {
                await PublishAsync(db, new FleetEvent(FleetEventKind.Cooldown, endpoint.Index, cooldown, 0)).ConfigureAwait(false);
            }
        }

        foreach (FleetEndpoint endpoint in _endpoints)
        {
            endpoint.Endpoint.Health.FleetProbeDenied = !endpoint.HoldsLock;
        }

        Interlocked.Increment(ref _resyncs);
        int previous = Interlocked.Exchange(ref _state, (int)FleetConnectionState.Connected);
        if (previous != (int)FleetConnectionState.Connected)
        {
            Interlocked.Exchange(ref _stateSinceUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            if (previous == (int)FleetConnectionState.Disconnected)
            {
                FleetLog.Restored(_logger, _options.KeyPrefix, Stopwatch.GetElapsedTime(Volatile.Read(ref _outageStarted)).TotalSeconds);
            }
            else
            {
                FleetLog.Joined(_logger, _options.KeyPrefix, InstanceId);
            }
        }
    }

    private async Task DrainAsync(IConnectionMultiplexer redis)
    {
        IDatabase db = redis.GetDatabase();

        // Marked as publishing before an item leaves the queue, so that the status never shows an empty queue while
        // news is still on its way.
        Volatile.Write(ref _publishing, 1);
        try
        {
            while (_queue.Reader.TryRead(out FleetEvent fleetEvent))
            {
                if (fleetEvent.Kind == FleetEventKind.Wake)
                {
                    Volatile.Write(ref _wakeQueued, 0);
                }
                else if (State != FleetConnectionState.Connected)
                {
                    // The resync on reconnect writes back the state that matters; counts and resets are lost.
                    Interlocked.Increment(ref _dropped);
                }
                else
                {
                    await PublishAsync(db, fleetEvent).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _publishing, 0);
        }
    }

    private async Task PublishAsync(IDatabase db, FleetEvent fleetEvent)
    {
        FleetEndpoint endpoint = _endpoints[fleetEvent.Endpoint];
        string name = endpoint.Endpoint.Name;
        long nowUnix = _runtime.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        string channel = _keys.Channel.ToString();
        Count();
        switch (fleetEvent.Kind)
        {
            case FleetEventKind.Opened:
            {
                long until = ToUnixMs(fleetEvent.Timestamp);
                RedisResult result = await db.ScriptEvaluateAsync(
                    FleetScripts.Open,
                    [_keys.OpenKey(name), _keys.FailuresKey(name), _keys.ProbeKey(name)],
                    [until, fleetEvent.FailedProbes, Ttl(until, nowUnix, _options.StateGracePeriod), channel,
                     FleetKeys.Message(FleetKeys.Open, until, fleetEvent.FailedProbes, InstanceId, name), InstanceId]).ConfigureAwait(false);
                DropLock(endpoint); // the script released it: this instance's probe, if any, is over
                if (!result.IsNull && FleetKeys.TryParseOpen((RedisValue)result, out long later, out int failedProbes))
                {
                    ApplyOpen(endpoint, later, failedProbes); // the fleet knew of a later deadline
                }

                break;
            }

            case FleetEventKind.Closed:
            {
                long until = ToUnixMs(fleetEvent.Timestamp);
                _ = await db.ScriptEvaluateAsync(
                    FleetScripts.Close,
                    [_keys.OpenKey(name), _keys.ProbeKey(name), _keys.FailuresKey(name)],
                    [until, (long)_options.ProbeLockLead.TotalMilliseconds, InstanceId, channel,
                     FleetKeys.Message(FleetKeys.Closed, until, 0, InstanceId, name)]).ConfigureAwait(false);
                DropLock(endpoint);
                break;
            }

            case FleetEventKind.Cooldown:
            {
                long until = ToUnixMs(fleetEvent.Timestamp);
                RedisResult result = await db.ScriptEvaluateAsync(
                    FleetScripts.Cooldown,
                    [_keys.CooldownKey(name)],
                    [until, Ttl(until, nowUnix, TimeSpan.Zero), channel, FleetKeys.Message(FleetKeys.Cooldown, until, 0, InstanceId, name)]).ConfigureAwait(false);
                if (!result.IsNull && ((RedisValue)result).TryParse(out long later))
                {
                    ApplyCooldown(endpoint, later);
                }

                break;
            }

            case FleetEventKind.HardFailure:
            {
                HealthOptions health = _runtime.Options.Health;
                double jitter = 1 + (health.BreakJitter * ((2 * _runtime.Random()) - 1));
                double breakMs = Math.Min(health.BreakDuration.TotalMilliseconds * jitter, health.MaxBreakDuration.TotalMilliseconds);
                long until = nowUnix + (long)breakMs;
                RedisResult result = await db.ScriptEvaluateAsync(
                    FleetScripts.Failure,
                    [_keys.FailuresKey(name), _keys.OpenKey(name)],
                    [(long)_options.FailureCountWindow.TotalMilliseconds, health.FailureThreshold, until,
                     Ttl(until, nowUnix, _options.StateGracePeriod), channel,
                     FleetKeys.Message(FleetKeys.Open, until, 0, InstanceId, name),
                     FleetKeys.Message(FleetKeys.Suspect, 0, 0, InstanceId, name)]).ConfigureAwait(false);
                if (result.Resp2Type == ResultType.Integer && (long)result == -1)
                {
                    ApplyOpen(endpoint, until, 0); // this instance's failure opened it for the fleet; its own news is not read back
                }
                else if (!result.IsNull && FleetKeys.TryParseOpen((RedisValue)result, out long later, out int failedProbes))
                {
                    ApplyOpen(endpoint, later, failedProbes);
                }

                break;
            }

            case FleetEventKind.Success:
                _ = await db.ScriptEvaluateAsync(
                    FleetScripts.Reset,
                    [_keys.FailuresKey(name)],
                    [channel, FleetKeys.Message(FleetKeys.Reset, 0, 0, InstanceId, name)]).ConfigureAwait(false);
                break;
        }

        Interlocked.Increment(ref _published);
    }

    /// <summary>Takes, renews or lets go of each open endpoint's probe lock, so that one instance of the fleet probes it.</summary>
    private async Task ManageProbeLocksAsync(IConnectionMultiplexer redis)
    {
        IDatabase db = redis.GetDatabase();
        long now = _runtime.TimeProvider.GetTimestamp();
        long lead = (long)(_options.ProbeLockLead.TotalSeconds * _runtime.TimeProvider.TimestampFrequency);
        long realNow = Stopwatch.GetTimestamp();
        long lockTicks = (long)(_options.ProbeLockDuration.TotalSeconds * Stopwatch.Frequency);
        long margin = Math.Max((long)(2 * _options.PollInterval.TotalSeconds * Stopwatch.Frequency), lockTicks / 5);
        var ttl = (long)_options.ProbeLockDuration.TotalMilliseconds;
        foreach (FleetEndpoint endpoint in _endpoints)
        {
            EndpointHealth health = endpoint.Endpoint.Health;
            HealthStatus status = health.Status;
            RedisKey key = _keys.ProbeKey(endpoint.Endpoint.Name);
            if (endpoint.HoldsLock)
            {
                if (status.State != HealthState.Open)
                {
                    await ReleaseAsync(db, endpoint, key).ConfigureAwait(false);
                    continue;
                }

                long left = endpoint.LockExpiresAt - realNow;
                if (left > margin)
                {
                    continue;
                }

                if (!health.LocalProbeInFlight)
                {
                    // No request came to probe it: let another instance try, and stand back for one lock's time.
                    health.FleetProbeDenied = true;
                    if (!health.LocalProbeInFlight)
                    {
                        endpoint.LockBackoffUntil = realNow + lockTicks;
                        await ReleaseAsync(db, endpoint, key).ConfigureAwait(false);
                        continue;
                    }
                }

                Count();
                if ((long)await db.ScriptEvaluateAsync(FleetScripts.Renew, [key], [InstanceId, ttl]).ConfigureAwait(false) == 1)
                {
                    endpoint.LockExpiresAt = realNow + lockTicks;
                    health.FleetProbeDenied = false;
                }
                else
                {
                    DropLock(endpoint);
                }

                continue;
            }

            if (status.State == HealthState.Open && now >= status.OpenUntil - lead && realNow >= endpoint.LockBackoffUntil)
            {
                Count();
                if (await db.StringSetAsync(key, InstanceId, _options.ProbeLockDuration, When.NotExists).ConfigureAwait(false))
                {
                    endpoint.LockExpiresAt = realNow + lockTicks;
                    endpoint.HoldsLock = true;
                    health.FleetProbeDenied = false;
                    FleetLog.ProbeLockTaken(_logger, _options.KeyPrefix, endpoint.Endpoint.Name);
                }
                else
                {
                    // Another instance probes: its outcome arrives as news. Ask again only in case it lets the lock
                    // lapse, so that a large fleet does not poll Redis for the lock every interval.
                    endpoint.LockBackoffUntil = realNow + (lockTicks / 4);
                }
            }
        }
    }

    private async Task ReleaseAsync(IDatabase db, FleetEndpoint endpoint, RedisKey key)
    {
        DropLock(endpoint);
        Count();
        _ = await db.ScriptEvaluateAsync(FleetScripts.Release, [key], [InstanceId]).ConfigureAwait(false);
    }

    private static void DropLock(FleetEndpoint endpoint)
    {
        if (endpoint.HoldsLock)
        {
            endpoint.HoldsLock = false;
            endpoint.Endpoint.Health.FleetProbeDenied = true;
        }
    }

    private void OnMessage(ChannelMessage message)
    {
        if (!FleetKeys.TryParse(message.Message, out char kind, out long untilUnixMs, out int failedProbes, out string instance, out string name) ||
            string.Equals(instance, InstanceId, StringComparison.Ordinal) ||
            !_byName.TryGetValue(name, out FleetEndpoint? endpoint))
        {
            return; // another version's news, or an endpoint this instance does not have
        }

        switch (kind)
        {
            case FleetKeys.Open:
                endpoint.Suspect = false;
                ApplyOpen(endpoint, untilUnixMs, failedProbes);
                break;
            case FleetKeys.Closed:
                endpoint.Suspect = false;
                long now = _runtime.TimeProvider.GetTimestamp();
                long tolerance = (long)(_options.ProbeLockLead.TotalSeconds * _runtime.TimeProvider.TimestampFrequency);
                if (endpoint.Endpoint.Health.ApplyRemoteClose(ToTimestamp(untilUnixMs), now, tolerance))
                {
                    Interlocked.Increment(ref _applied);
                    FleetLog.RemoteChange(_logger, _options.KeyPrefix, endpoint.Endpoint.Name, HealthState.Healthy);
                }

                break;
            case FleetKeys.Cooldown:
                ApplyCooldown(endpoint, untilUnixMs);
                break;
            case FleetKeys.Suspect:
                endpoint.Suspect = true;
                break;
            case FleetKeys.Reset:
                endpoint.Suspect = false;
                break;
        }
    }

    private void ApplyOpen(FleetEndpoint endpoint, long untilUnixMs, int failedProbes)
    {
        if (endpoint.Endpoint.Health.ApplyRemoteOpen(ToTimestamp(untilUnixMs), failedProbes))
        {
            Interlocked.Increment(ref _applied);
            FleetLog.RemoteChange(_logger, _options.KeyPrefix, endpoint.Endpoint.Name, HealthState.Open);
        }
    }

    private void ApplyCooldown(FleetEndpoint endpoint, long untilUnixMs)
    {
        if (endpoint.Endpoint.Cooldown.ExtendFromFleet(ToTimestamp(untilUnixMs)))
        {
            Interlocked.Increment(ref _applied);
        }
    }

    private long ToUnixMs(long timestamp)
    {
        TimeProvider time = _runtime.TimeProvider;
        long now = time.GetTimestamp();
        return time.GetUtcNow().ToUnixTimeMilliseconds() + (long)Math.Ceiling(time.GetElapsedTime(now, timestamp).TotalMilliseconds);
    }

    private long ToTimestamp(long unixMs)
    {
        TimeProvider time = _runtime.TimeProvider;
        long now = time.GetTimestamp();
        double seconds = (unixMs - time.GetUtcNow().ToUnixTimeMilliseconds()) / 1000.0;
        return now + (long)(seconds * time.TimestampFrequency);
    }

    private static long Ttl(long untilUnixMs, long nowUnixMs, TimeSpan grace) =>
        Math.Max(1, untilUnixMs - nowUnixMs + (long)grace.TotalMilliseconds);

    private void Count() => Interlocked.Increment(ref _commands);

    private static void Add(ref long counter, int value)
    {
        if (value != 0)
        {
            _ = Interlocked.Add(ref counter, value);
        }
    }

    /// <summary>Wakes the loop now (a fleet quota ran short) rather than at the next poll.</summary>
    /// <remarks>At most one wake waits in the queue, so that starved requests cannot crowd out news.</remarks>
    private void Wake()
    {
        if (Interlocked.Exchange(ref _wakeQueued, 1) == 0)
        {
            Enqueue(new FleetEvent(FleetEventKind.Wake, 0, 0, 0));
        }
    }
}
