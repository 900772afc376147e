using System.Globalization;
using System.Text;

namespace LlmRouter;

/// <summary>Thrown when every attempt the router was allowed to make failed.</summary>
/// <remarks><see cref="Exception.InnerException"/> is the last attempt's exception.</remarks>
public sealed class AllEndpointsFailedException : LlmRouterException
{
    /// <summary>Initializes a new instance of the <see cref="AllEndpointsFailedException"/> class.</summary>
    public AllEndpointsFailedException()
    {
        Attempts = [];
    }

    /// <summary>Initializes a new instance of the <see cref="AllEndpointsFailedException"/> class with a message.</summary>
    /// <param name="message">What happened.</param>
    public AllEndpointsFailedException(string message)
        : base(message)
    {
        Attempts = [];
    }

    /// <summary>Initializes a new instance of the <see cref="AllEndpointsFailedException"/> class with a message and a cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public AllEndpointsFailedException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Attempts = [];
    }

    /// <summary>Initializes a new instance of the <see cref="AllEndpointsFailedException"/> class from the attempts made.</summary>
    /// <param name="attempts">Every attempt, in order.</param>
    public AllEndpointsFailedException(IReadOnlyList<RoutingAttempt> attempts)
        : this(attempts, retryBudgetExhausted: false, exclusions: null)
    {
    }

    internal AllEndpointsFailedException(IReadOnlyList<RoutingAttempt> attempts, bool retryBudgetExhausted, IReadOnlyList<EndpointExclusion>? exclusions = null)
        : base(Describe(attempts, retryBudgetExhausted, exclusions), LastException(attempts))
    {
        Attempts = attempts;
        RetryBudgetExhausted = retryBudgetExhausted;
        Exclusions = exclusions ?? [];
    }

    /// <summary>
    /// Gets a value indicating whether the router's retry budget was spent, so that it made no retry and at most one
    /// failover for this request (see <see cref="RetryOptions.BudgetRatio"/>).
    /// </summary>
    public bool RetryBudgetExhausted { get; }

    /// <summary>Gets every attempt the router made, in order: endpoint, failure kind, duration and exception.</summary>
    public IReadOnlyList<RoutingAttempt> Attempts { get; }

    /// <summary>Gets the endpoints the request was not allowed to try, each with the reason (as <see cref="RoutingInfo.Excluded"/> lists them).</summary>
    /// <remarks>
    /// Says why the router did not fail over to them: for example a request pinned to the endpoint holding its
    /// conversation (<see cref="ExclusionReason.ProviderState"/>) fails with that endpoint rather than move elsewhere.
    /// </remarks>
    public IReadOnlyList<EndpointExclusion> Exclusions { get; } = [];

    private static Exception? LastException(IReadOnlyList<RoutingAttempt>? attempts)
    {
        ArgumentNullException.ThrowIfNull(attempts);
        return attempts.Count > 0 ? attempts[^1].Exception : null;
    }

    private static string Describe(IReadOnlyList<RoutingAttempt> attempts, bool retryBudgetExhausted, IReadOnlyList<EndpointExclusion>? exclusions)
    {
        ArgumentNullException.ThrowIfNull(attempts);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"All {attempts.Count} attempt(s) failed; no endpoint could serve the request.");
        foreach (RoutingAttempt attempt in attempts)
        {
            text.Append(CultureInfo.InvariantCulture, $" [{attempt.Endpoint}: {attempt.Failure?.ToString() ?? "succeeded"} after {attempt.Duration.TotalMilliseconds:0} ms");
            if (attempt.Exception is { } exception)
            {
                text.Append(CultureInfo.InvariantCulture, $", {exception.GetType().Name}");
            }

            text.Append(']');
        }

        if (exclusions is { Count: > 0 })
        {
            text.Append(" Not tried:");
            foreach (EndpointExclusion exclusion in exclusions)
            {
                text.Append(CultureInfo.InvariantCulture, $" {exclusion.Endpoint} excluded by {exclusion.Reason} ({exclusion.Detail});");
            }
        }

        if (retryBudgetExhausted)
        {
            text.Append(" The retry budget was spent (too many retries across recent requests), so no further retry or failover was made.");
        }

        text.Append(" Check the endpoints' health and the inner exceptions in Attempts.");
        return text.ToString();
    }
}
