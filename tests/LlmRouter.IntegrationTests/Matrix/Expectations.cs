using LlmRouter.IntegrationTests.TestSupport;

namespace LlmRouter.IntegrationTests.Matrix;

/// <summary>DESIGN.md §4 applied to each SDK × fault: the failure kind the router must see and what it must do.</summary>
public static class Expectations
{
    /// <summary>The expected kind (<see langword="null"/> for no failure) and outcome.</summary>
    public static (FailureKind? Kind, Outcome Outcome) For(Sdk sdk, Fault fault, bool streaming) => fault switch
    {
        // The endpoint cools down (for Retry-After where the SDK exposes it: only OpenAI's ClientResultException
        // carries the response headers) and the request moves on at once to an endpoint that can answer now.
        Fault.RateLimited429 => (FailureKind.RateLimited, Outcome.FailedOver),
        Fault.ServerError500 or Fault.Unavailable503 or Fault.Overloaded529 => (FailureKind.Transient, Outcome.Retried),
        Fault.ContentFilter => (FailureKind.ContentFilter, Outcome.FailedOver),
        Fault.ContextLength => (FailureKind.ContextLength, Outcome.FailedOver),
        Fault.InvalidKey401 or Fault.ModelNotFound404 => (FailureKind.Auth, Outcome.FailedOver),
        Fault.BadRequest400 => (FailureKind.BadRequest, Outcome.Stopped),
        Fault.DelayBeforeHeaders or Fault.DelayBeforeFirstChunk => (FailureKind.Timeout, Outcome.FailedOver),
        Fault.DropBeforeOutput or Fault.MalformedBeforeOutput or Fault.InBandErrorBeforeOutput => (FailureKind.Transient, Outcome.Retried),
        Fault.StallAfterOutput => (FailureKind.Timeout, Outcome.Interrupted),
        Fault.DropAfterOutput or Fault.MalformedAfterOutput or Fault.InBandErrorAfterOutput or Fault.NoFinishReason => (FailureKind.Transient, Outcome.Interrupted),
        Fault.NoTerminator => (null, Outcome.Served),
        _ => throw new ArgumentOutOfRangeException(nameof(fault)),
    };

    /// <summary>
    /// Cases where the router does not do what DESIGN.md §4 says, each a reported bug with its own skipped test
    /// (<see cref="KnownRouterBugTests"/>); the matrix leaves them out rather than pin the wrong behaviour.
    /// </summary>
    public static bool IsKnownBug(Sdk sdk, Fault fault, bool streaming) =>
        (streaming && fault == Fault.ContentFilter) ||
        (streaming && sdk == Sdk.Ollama && fault is Fault.DelayBeforeFirstChunk or Fault.StallAfterOutput);
}
