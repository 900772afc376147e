namespace LlmRouter.ChaosDemo;

/// <summary>Teaches the router the simulated SDK's 429 and its Retry-After, the way an application teaches it a real SDK's.</summary>
internal sealed class SimulatedFailureClassifier : IFailureClassifier
{
    public FailureClassification? Classify(Exception exception) =>
        exception is RateLimitedException limited ? new FailureClassification(FailureKind.RateLimited, limited.RetryAfter) : null;
}
