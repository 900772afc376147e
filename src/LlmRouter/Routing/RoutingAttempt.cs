namespace LlmRouter;

/// <summary>One attempt the router made on an endpoint for a request.</summary>
public sealed class RoutingAttempt
{
    internal RoutingAttempt(string endpoint, FailureKind? failure, TimeSpan duration, Exception? exception, TimeSpan? retryAfter)
    {
        Endpoint = endpoint;
        Failure = failure;
        Duration = duration;
        Exception = exception;
        RetryAfter = retryAfter;
    }

    /// <summary>Gets the endpoint's name.</summary>
    public string Endpoint { get; }

    /// <summary>Gets the kind of failure, or <see langword="null"/> when the attempt succeeded.</summary>
    public FailureKind? Failure { get; }

    /// <summary>Gets how long the attempt took, until its response, its first streamed content or its failure.</summary>
    public TimeSpan Duration { get; }

    /// <summary>Gets the exception the endpoint threw, if any.</summary>
    /// <remarks>A content-filter refusal returned as a response (rather than thrown) has none.</remarks>
    public Exception? Exception { get; }

    /// <summary>Gets the wait the provider asked for, if it did.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Endpoint}: {(Failure is { } kind ? kind.ToString() : "Success")} in {Duration.TotalMilliseconds:0} ms";
}
