namespace LlmRouter;

/// <summary>
/// Thrown when every endpoint that may serve a request stayed at its rate or concurrency limits
/// (<see cref="EndpointOptions.RequestsPerMinute"/>, <see cref="EndpointOptions.TokensPerMinute"/>,
/// <see cref="EndpointOptions.MaxConcurrency"/>) for <see cref="ConstraintOptions.LimitMaxWait"/>; no endpoint was called.
/// </summary>
public sealed class EndpointLimitsReachedException : LlmRouterException
{
    /// <summary>Initializes a new instance of the <see cref="EndpointLimitsReachedException"/> class.</summary>
    public EndpointLimitsReachedException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="EndpointLimitsReachedException"/> class with a message.</summary>
    /// <param name="message">Which limits were hit.</param>
    public EndpointLimitsReachedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="EndpointLimitsReachedException"/> class with a message and a cause.</summary>
    /// <param name="message">Which limits were hit.</param>
    /// <param name="innerException">The cause.</param>
    public EndpointLimitsReachedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets every endpoint excluded for the request and why; those at a limit have <see cref="ExclusionReason.Limit"/>.</summary>
    public IReadOnlyList<EndpointExclusion> Exclusions { get; internal init; } = [];
}
