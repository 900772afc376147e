namespace LlmRouter;

/// <summary>The base of every exception the router itself throws.</summary>
/// <remarks>
/// A provider's own exception for an invalid request (<see cref="FailureKind.BadRequest"/>, or a content-filter or
/// context-length failure with no eligible fallback) is rethrown unchanged instead, as a direct call would throw it.
/// </remarks>
public class LlmRouterException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="LlmRouterException"/> class.</summary>
    public LlmRouterException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LlmRouterException"/> class with a message.</summary>
    /// <param name="message">What happened and what to do.</param>
    public LlmRouterException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LlmRouterException"/> class with a message and a cause.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public LlmRouterException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
