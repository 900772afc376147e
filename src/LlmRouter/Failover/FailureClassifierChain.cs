namespace LlmRouter;

/// <summary>Asks the user's classifiers in order, then the built-in one; unwraps aggregates first.</summary>
internal sealed class FailureClassifierChain
{
    private readonly IFailureClassifier[] _classifiers;

    public FailureClassifierChain(IEnumerable<IFailureClassifier> userClassifiers, TimeProvider timeProvider)
    {
        _classifiers = [.. userClassifiers, new DefaultFailureClassifier(timeProvider)];
    }

    /// <summary>Classifies an exception an endpoint threw that is neither the caller's cancellation nor the attempt timeout.</summary>
    public FailureClassification Classify(Exception exception)
    {
        // The OpenAI SDK's retry policy can surface every attempt as an AggregateException: the last attempt is
        // the provider's current state, so it decides.
        while (exception is AggregateException { InnerExceptions.Count: > 0 } aggregate)
        {
            exception = aggregate.InnerExceptions[^1];
        }

        foreach (IFailureClassifier classifier in _classifiers)
        {
            FailureClassification? classification;
            try
            {
                classification = classifier.Classify(exception);
            }
#pragma warning disable CA1031 // A broken classifier must not leak the attempt's bookkeeping (in-flight count, probe slot, span).
            catch (Exception)
#pragma warning restore CA1031
            {
                continue; // the next classifier, and in the end the built-in one, decides
            }

            if (classification is { } known)
            {
                return known;
            }
        }

        return new FailureClassification(FailureKind.Transient);
    }
}
