namespace LlmRouter;

/// <summary>How a request's candidates are ordered when it overrides the router's strategy (<see cref="RoutingHints.Sort"/>).</summary>
public enum RoutingSort
{
    /// <summary>The router's strategy decides.</summary>
    Default,

    /// <summary>Lowest estimated cost of the request first.</summary>
    Price,

    /// <summary>Lowest recent latency first (time to first token for streams); unmeasured endpoints last.</summary>
    Latency,

    /// <summary>Most output tokens per second first; unmeasured endpoints last.</summary>
    Throughput,
}
