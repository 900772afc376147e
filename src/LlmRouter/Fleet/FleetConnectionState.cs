namespace LlmRouter;

/// <summary>Whether a router instance is in step with its fleet.</summary>
public enum FleetConnectionState
{
    /// <summary>Connecting to Redis for the first time; routing uses local health meanwhile.</summary>
    Connecting = 0,

    /// <summary>Connected and in step: news is shared, and one instance of the fleet probes each recovering endpoint.</summary>
    Connected = 1,

    /// <summary>Redis is unreachable or failing: routing uses local health alone, and probes locally, until a full resynchronisation on reconnect.</summary>
    Disconnected = 2,
}
