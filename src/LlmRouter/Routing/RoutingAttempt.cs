namespace LlmRouter;

/// <summary>One attempt the router made on an endpoint for a request.</summary>
public sealed class RoutingAttempt
{
    internal RoutingAttempt(
        string endpoint, FailureKind? failure, TimeSpan duration, Exception? exception, TimeSpan? retryAfter, bool isHedge = false, bool canceledByHedge = false)
    {
        Endpoint = endpoint;
        Failure = failure;
        Duration = duration;
        Exception = exception;
        RetryAfter = retryAfter;
        IsHedge = isHedge;
        CanceledByHedge = canceledByHedge;
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

    /// <summary>Gets a value indicating whether the attempt was started as a hedge of a slow attempt.</summary>
    public bool IsHedge { get; }

    /// <summary>
    /// Gets a value indicating whether the attempt was cancelled because another attempt of the request answered first;
    /// its <see cref="Failure"/> is then <see cref="FailureKind.Canceled"/>, and it counts against nothing.
    /// </summary>
    public bool CanceledByHedge { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Endpoint}{(IsHedge ? " (hedge)" : string.Empty)}: {(CanceledByHedge ? "lost the hedge race" : Failure is { } kind ? kind.ToString() : "Success")} in {Duration.TotalMilliseconds:0} ms";
}
