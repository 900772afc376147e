namespace LlmRouter;

/// <summary>Tells what kind of failure an exception thrown by an endpoint is.</summary>
/// <remarks>
/// Register your own with <c>LlmRouterBuilder.AddFailureClassifier</c> to teach the router an SDK it does not know.
/// Classifiers you add are asked first, in the order added; the built-in one answers when none of them does. The
/// caller's cancellation and the router's own attempt timeout are recognised before any classifier is asked.
/// </remarks>
public interface IFailureClassifier
{
    /// <summary>Classifies an exception thrown by an endpoint.</summary>
    /// <param name="exception">The exception the endpoint threw.</param>
    /// <returns>The classification, or <see langword="null"/> to let the next classifier decide.</returns>
    FailureClassification? Classify(Exception exception);
}
