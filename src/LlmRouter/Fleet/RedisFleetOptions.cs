namespace LlmRouter;

/// <summary>Settings of fleet mode: the router instances of one application share endpoint health through Redis.</summary>
/// <remarks>
/// Validated at start-up. Routing never waits for Redis: it reads a local mirror of the shared state, and news is
/// published from a bounded queue in the background. Only endpoint names, deadlines and counters go to Redis: no
/// prompt or response text, no API key; tenant names only those configured with a budget, and only while
/// <see cref="ShareBudgets"/> is on.
/// <para>
/// Read once, when the router is built (the connection, the key prefix and the background loop's timings): unlike the
/// router's own options, a change through <c>IOptionsMonitor</c> applies at the next start. The endpoints' limits and
/// budgets that fleet mode shares do change live, including a limit an endpoint gets after start-up.
/// </para>
/// </remarks>
public sealed class RedisFleetOptions
{
    /// <summary>Gets or sets the prefix of every Redis key and channel of this application's fleet.</summary>
    /// <remarks>
    /// Required. 1 to 100 characters among letters, digits and <c>- _ . :</c>. Every instance of one application uses
    /// the same prefix; two applications sharing a Redis server use different ones.
    /// </remarks>
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>Gets or sets the StackExchange.Redis configuration string (for example <c>redis:6379,password=…</c>).</summary>
    /// <remarks>
    /// When empty, the router uses the <c>IConnectionMultiplexer</c> the application registered in its services, and
    /// does not dispose it. When set, the router connects on its own in the background (an unreachable server never
    /// delays start-up) and owns that connection. It is never logged: it may hold a password.
    /// </remarks>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets how many pieces of news may wait to be published while Redis is slow.</summary>
    /// <remarks>Default 1024. Between 16 and 1,000,000. When full, the oldest news is dropped and counted in <see cref="FleetStatus.DroppedEvents"/>.</remarks>
    public int PublishQueueCapacity { get; set; } = 1024;

    /// <summary>Gets or sets how often the background loop looks for breaks about to end (to take the probe lock) and for a lost connection to resynchronise.</summary>
    /// <remarks>Default 250 ms. Between 10 ms and 1 minute. The loop sends nothing to Redis while every endpoint is closed.</remarks>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Gets or sets how long the fleet's probe lock of an endpoint lasts before it must be renewed.</summary>
    /// <remarks>
    /// Default 10 s. Between 100 ms and 10 minutes. The holder renews it while its probe is in flight; a holder that sends
    /// no probe within this time lets it lapse so that another instance may probe. An instance that dies holding it
    /// delays the probe by at most this long.
    /// </remarks>
    public TimeSpan ProbeLockDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how long before a break ends the instances compete for its probe lock.</summary>
    /// <remarks>Default 1 s. Between 0 and 1 minute. Also the clock skew tolerated between instances.</remarks>
    public TimeSpan ProbeLockLead { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets a value indicating whether hard failures are counted fleet-wide, so that the fleet opens an endpoint after <see cref="HealthOptions.FailureThreshold"/> failures in total rather than per instance.</summary>
    /// <remarks>Default <see langword="true"/>. A success anywhere resets the count, as locally.</remarks>
    public bool ShareFailureCounts { get; set; } = true;

    /// <summary>Gets or sets how long a fleet-wide failure count lives without a new failure.</summary>
    /// <remarks>Default 1 minute. Between 1 s and 1 day.</remarks>
    public TimeSpan FailureCountWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Gets or sets how long an open endpoint's shared state outlives its break, so that an instance starting while the fleet probes it still knows it is open.</summary>
    /// <remarks>Default 5 minutes. Between 1 s and 1 day.</remarks>
    public TimeSpan StateGracePeriod { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets a value indicating whether spending caps (<see cref="BudgetOptions"/>) hold for the whole fleet.</summary>
    /// <remarks>
    /// Default <see langword="true"/>. The background loop pushes each capped account's spending to Redis as deltas
    /// (one counter per scope, period and name: the endpoint's name, or the tenant's name as configured under
    /// <c>Constraints:Tenants</c>, never a name only a request carried) every <see cref="BudgetSyncInterval"/>, and keeps
    /// the fleet's total it gets back. Set it to <see langword="false"/> to keep budgets per instance and tenant names out of Redis.
    /// </remarks>
    public bool ShareBudgets { get; set; } = true;

    /// <summary>Gets or sets how often spending is pushed to Redis and the fleet's totals read back.</summary>
    /// <remarks>
    /// Default 1 s. Between 10 ms and 10 minutes. One Redis round trip per interval for all budgets of the instance.
    /// A cap shared by the fleet may be overshot by the requests in flight plus one interval's spending of the other
    /// instances (two intervals' at worst: one for them to push, one for this instance to read back).
    /// </remarks>
    public TimeSpan BudgetSyncInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets this instance's share of each fleet-wide limit when it cannot ask the fleet; <see langword="null"/> for one over the fleet's size.</summary>
    /// <remarks>
    /// Default <see langword="null"/>: the share is 1 / the number of instances seen alive at the last heartbeat (every
    /// 5 s while any endpoint has a limit). Between 0 (exclusive) and 1. Used for the requests and tokens per minute
    /// while Redis is unreachable, and always for <see cref="EndpointOptions.MaxConcurrency"/>, which is the fleet's:
    /// each instance admits at most max(1, ⌊MaxConcurrency × share⌋) at once (a fleet-wide semaphore in Redis would
    /// put a round trip on every request).
    /// </remarks>
    public double? FallbackShare { get; set; }
}
