namespace LlmRouter;

/// <summary>
/// An error the provider reported inside a streamed response (an <see cref="Microsoft.Extensions.AI.ErrorContent"/>
/// update, such as Anthropic's <c>overloaded_error</c> event) rather than as an HTTP status.
/// </summary>
/// <remarks>
/// The router classifies it by its code like an HTTP error: before the stream's first output it fails over
/// invisibly; after it, <see cref="StreamingOptions.MidStreamPolicy"/> decides. It appears in
/// <see cref="RoutingAttempt.Exception"/> and as the inner exception of <see cref="StreamInterruptedException"/>.
/// </remarks>
public sealed class InBandErrorException : LlmRouterException
{
    /// <summary>Initializes a new instance of the <see cref="InBandErrorException"/> class.</summary>
    public InBandErrorException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InBandErrorException"/> class with a message.</summary>
    /// <param name="message">What happened.</param>
    public InBandErrorException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InBandErrorException"/> class with a message and a cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public InBandErrorException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal InBandErrorException(string endpoint, string? errorCode, string? errorMessage, string? details)
        : base($"Endpoint '{endpoint}' reported an error inside its stream: {errorCode ?? "no code"}. ErrorMessage and Details hold the provider's own text.")
    {
        Endpoint = endpoint;
        ErrorCode = errorCode;
        ErrorMessage = errorMessage;
        Details = details;
    }

    /// <summary>Gets the name of the endpoint that reported the error.</summary>
    public string? Endpoint { get; }

    /// <summary>Gets the provider's error code (for example <c>overloaded_error</c> or <c>rate_limit_exceeded</c>), if it gave one.</summary>
    public string? ErrorCode { get; }

    /// <summary>Gets the provider's error message, if it gave one.</summary>
    public string? ErrorMessage { get; }

    /// <summary>Gets the provider's error details, if it gave any.</summary>
    public string? Details { get; }
}
