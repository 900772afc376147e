namespace LlmRouter;

/// <summary>One planned attempt: the endpoint, how many retries it has had in this request, and the earliest start.</summary>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="Retries">Retries already made on this endpoint for this request.</param>
/// <param name="NotBefore">The earliest start, as a <see cref="TimeProvider.GetTimestamp"/> value.</param>
internal readonly record struct PlanEntry(RouterEndpoint Endpoint, int Retries, long NotBefore);
