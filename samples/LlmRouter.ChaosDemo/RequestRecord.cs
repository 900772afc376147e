namespace LlmRouter.ChaosDemo;

/// <summary>One request's fate in a run: when it started (seconds into the run), how long it took, and whether it succeeded.</summary>
internal readonly record struct RequestRecord(double StartSeconds, float DurationMs, bool Succeeded);
