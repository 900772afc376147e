using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// Thrown when a streamed response fails after some of it already reached the caller, so that a failover would
/// repeat or contradict output the caller has seen.
/// </summary>
/// <remarks>
/// The router never ends such a stream silently: this exception tells the caller that the text it received is
/// incomplete, and carries that text so it can be kept, shown as partial, or sent again. The inner exception is the
/// endpoint's failure.
/// </remarks>
public sealed class StreamInterruptedException : LlmRouterException
{
    /// <summary>Initializes a new instance of the <see cref="StreamInterruptedException"/> class.</summary>
    public StreamInterruptedException()
    {
        PartialText = string.Empty;
        Endpoint = string.Empty;
        Attempts = [];
    }

    /// <summary>Initializes a new instance of the <see cref="StreamInterruptedException"/> class with a message.</summary>
    /// <param name="message">What happened.</param>
    public StreamInterruptedException(string message)
        : base(message)
    {
        PartialText = string.Empty;
        Endpoint = string.Empty;
        Attempts = [];
    }

    /// <summary>Initializes a new instance of the <see cref="StreamInterruptedException"/> class with a message and a cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public StreamInterruptedException(string message, Exception? innerException)
        : base(message, innerException)
    {
        PartialText = string.Empty;
        Endpoint = string.Empty;
        Attempts = [];
    }

    internal StreamInterruptedException(
        string endpoint, string partialText, UsageDetails? usage, IReadOnlyList<RoutingAttempt> attempts, Exception innerException)
        : base(
            $"The stream from endpoint '{endpoint}' failed after {partialText.Length} character(s) of output had reached the caller; " +
            "the output is incomplete. PartialText holds what was received.",
            innerException)
    {
        Endpoint = endpoint;
        PartialText = partialText;
        Usage = usage;
        Attempts = attempts;
    }

    /// <summary>Gets the name of the endpoint whose stream failed.</summary>
    public string Endpoint { get; }

    /// <summary>Gets the text that reached the caller before the failure.</summary>
    public string PartialText { get; }

    /// <summary>Gets the usage the endpoint reported before the failure, if it reported any.</summary>
    public UsageDetails? Usage { get; }

    /// <summary>Gets every attempt of the request, the failed stream last.</summary>
    public IReadOnlyList<RoutingAttempt> Attempts { get; }
}
