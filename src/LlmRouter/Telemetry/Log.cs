using Microsoft.Extensions.Logging;

namespace LlmRouter;

/// <summary>The router's log events. Never logs prompt or response text, nor credentials.</summary>
/// <remarks>
/// A provider's exception is named by its type, never passed to the logger: its message and its request URI may carry
/// an API key (some providers take it as <c>?key=</c>) or echo the prompt, and any log formatter would print them. The
/// exceptions themselves reach the caller, in <see cref="RoutingAttempt.Exception"/> and as inner exceptions.
/// </remarks>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Attempt {AttemptNumber} on endpoint '{Endpoint}' failed as {FailureKind} ({ExceptionType}) after {DurationMs:0} ms.")]
    public static partial void AttemptFailed(ILogger logger, int attemptNumber, string endpoint, FailureKind failureKind, string exceptionType, double durationMs);

    [LoggerMessage(2, LogLevel.Debug, "Retrying endpoint '{Endpoint}' in {DelayMs:0} ms after {FailureKind}.")]
    public static partial void RetryScheduled(ILogger logger, string endpoint, double delayMs, FailureKind failureKind);

    [LoggerMessage(3, LogLevel.Information, "Failing over from endpoint '{From}' to '{To}'.")]
    public static partial void FailingOver(ILogger logger, string from, string to);

    [LoggerMessage(4, LogLevel.Error, "All {AttemptCount} attempt(s) failed; the request fails.")]
    public static partial void AllEndpointsFailed(ILogger logger, int attemptCount);

    [LoggerMessage(5, LogLevel.Warning, "The stream from endpoint '{Endpoint}' failed as {FailureKind} after output reached the caller; the caller gets StreamInterruptedException ({ExceptionType}).")]
    public static partial void StreamInterrupted(ILogger logger, string endpoint, FailureKind failureKind, string exceptionType);

    [LoggerMessage(6, LogLevel.Information, "Endpoint '{Endpoint}' cools down for {CooldownMs:0} ms after {FailureKind}.")]
    public static partial void CoolingDown(ILogger logger, string endpoint, double cooldownMs, FailureKind failureKind);

    [LoggerMessage(7, LogLevel.Debug, "Endpoint '{Endpoint}' refused the content; trying a content-filter fallback.")]
    public static partial void ContentRefused(ILogger logger, string endpoint);

    [LoggerMessage(9, LogLevel.Information, "Endpoint '{Endpoint}' is now {State} after {Cause}.")]
    public static partial void HealthChanged(ILogger logger, string endpoint, HealthState state, string cause);

    [LoggerMessage(8, LogLevel.Debug, "Disposing the abandoned stream of endpoint '{Endpoint}' failed ({ExceptionType}).")]
    public static partial void AbandonedStreamDisposeFailed(ILogger logger, string endpoint, string exceptionType);

    [LoggerMessage(10, LogLevel.Debug, "Hedging: attempt {AttemptNumber} starts on endpoint '{Endpoint}' while an earlier attempt is still running.")]
    public static partial void Hedging(ILogger logger, string endpoint, int attemptNumber);

    [LoggerMessage(11, LogLevel.Warning, "The stream from endpoint '{Endpoint}' failed as {FailureKind} after output reached the caller; continuing the answer on another endpoint ({ExceptionType}).")]
    public static partial void ContinuingStream(ILogger logger, string endpoint, FailureKind failureKind, string exceptionType);

    [LoggerMessage(12, LogLevel.Information, "The interrupted stream from endpoint '{Endpoint}' cannot be continued: {Reason}.")]
    public static partial void ContinuationRefused(ILogger logger, string endpoint, string reason);

    [LoggerMessage(13, LogLevel.Debug, "A cancelled attempt on endpoint '{Endpoint}' ended with {ExceptionType} after the request moved on.")]
    public static partial void AbandonedAttemptFailed(ILogger logger, string endpoint, string exceptionType);

    [LoggerMessage(14, LogLevel.Warning, "The distributed response cache failed to {Operation}; it is left alone for {RetryIntervalMs:0} ms and requests are served from memory or an endpoint ({ExceptionType}).")]
    public static partial void DistributedCacheFailed(ILogger logger, string operation, double retryIntervalMs, string exceptionType);

    [LoggerMessage(15, LogLevel.Debug, "The request is not cached: {Reason}.")]
    public static partial void NotCacheable(ILogger logger, string reason);
}
