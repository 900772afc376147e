namespace LlmRouter;

/// <summary>Thrown when no endpoint may serve a request, before any attempt is made.</summary>
public sealed class NoEndpointAvailableException : LlmRouterException
{
    /// <summary>Initializes a new instance of the <see cref="NoEndpointAvailableException"/> class.</summary>
    public NoEndpointAvailableException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="NoEndpointAvailableException"/> class with a message.</summary>
    /// <param name="message">Why no endpoint is available.</param>
    public NoEndpointAvailableException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="NoEndpointAvailableException"/> class with a message and a cause.</summary>
    /// <param name="message">Why no endpoint is available.</param>
    /// <param name="innerException">The cause.</param>
    public NoEndpointAvailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets the endpoints the candidate filter excluded for the request, and why; empty when it excluded none.</summary>
    public IReadOnlyList<EndpointExclusion> Exclusions { get; internal init; } = [];
}
