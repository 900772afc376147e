namespace LlmRouter;

/// <summary>The verdict on one failed attempt: its kind, and how long the provider asked us to wait, if it did.</summary>
/// <param name="Kind">The kind of failure.</param>
/// <param name="RetryAfter">The wait the provider asked for (Retry-After), if any.</param>
public readonly record struct FailureClassification(FailureKind Kind, TimeSpan? RetryAfter = null);
