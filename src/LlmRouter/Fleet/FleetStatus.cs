namespace LlmRouter;

/// <summary>How a router instance coordinates with its fleet: what <see cref="RouterChatClient.GetFleetStatus"/> returns.</summary>
public sealed class FleetStatus
{
    internal FleetStatus()
    {
    }

    /// <summary>Gets the key prefix of the fleet.</summary>
    public required string KeyPrefix { get; init; }

    /// <summary>Gets this instance's random id within the fleet (not derived from the host).</summary>
    public required string InstanceId { get; init; }

    /// <summary>Gets the coordination state.</summary>
    public required FleetConnectionState State { get; init; }

    /// <summary>Gets when the state last changed (UTC).</summary>
    public required DateTimeOffset StateSince { get; init; }

    /// <summary>Gets the type of the latest Redis error; <see langword="null"/> when there was none.</summary>
    public string? LastError { get; init; }

    /// <summary>Gets how many outages (lost connections or failing commands) this instance went through.</summary>
    public long Outages { get; init; }

    /// <summary>Gets how many full resynchronisations (start-up and every reconnect) completed.</summary>
    public long Resyncs { get; init; }

    /// <summary>Gets how many pieces of news this instance published.</summary>
    public long PublishedEvents { get; init; }

    /// <summary>Gets how many pieces of news from the fleet (its own included) changed this instance's mirror.</summary>
    public long AppliedEvents { get; init; }

    /// <summary>Gets how many pieces of news were dropped: the oldest, when the queue was full, or when Redis failed.</summary>
    public long DroppedEvents { get; init; }

    /// <summary>Gets how many pieces of news are waiting to be published, the one being published included.</summary>
    public int QueuedEvents { get; init; }

    /// <summary>Gets the endpoints whose fleet-wide probe lock this instance holds: only it may probe them.</summary>
    public required IReadOnlyList<string> ProbeLocksHeld { get; init; }

    /// <summary>Gets a value indicating whether spending caps are counted for the whole fleet: the last push to Redis succeeded and the connection holds.</summary>
    /// <remarks>
    /// <see langword="false"/> without capped budgets, with <see cref="RedisFleetOptions.ShareBudgets"/> off, and while Redis
    /// is unreachable: budgets are then local, each instance adding its own spending to the fleet's totals as last known
    /// (or counting alone if it never reached Redis); its unpushed spending is pushed on reconnect.
    /// </remarks>
    public bool BudgetsShared { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"fleet '{KeyPrefix}' {State} since {StateSince:O}: published {PublishedEvents}, applied {AppliedEvents}, dropped {DroppedEvents}, " +
        $"queued {QueuedEvents}, outages {Outages}, resyncs {Resyncs}, probe locks [{string.Join(", ", ProbeLocksHeld)}], budgets {(BudgetsShared ? "shared" : "local")}";
}
