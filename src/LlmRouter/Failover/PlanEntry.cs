namespace LlmRouter;

/// <summary>One planned attempt: the endpoint, how many retries it has had in this request, the earliest start, and how health admitted it.</summary>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="Retries">Retries already made on this endpoint for this request.</param>
/// <param name="NotBefore">The earliest start, as a <see cref="TimeProvider.GetTimestamp"/> value.</param>
/// <param name="Admission">How the health state machine admitted the attempt (set when the attempt is taken).</param>
/// <param name="Span">The attempt's trace span, when someone listens.</param>
/// <param name="Hedge">Whether the attempt was started as a hedge of a slow one.</param>
/// <param name="Lease">What the attempt took from the endpoint's rate and concurrency limits, given back when it ends.</param>
internal readonly record struct PlanEntry(
    RouterEndpoint Endpoint, int Retries, long NotBefore, Admission Admission = Admission.Admitted, System.Diagnostics.Activity? Span = null, bool Hedge = false,
    LimitLease? Lease = null);
