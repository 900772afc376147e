namespace LlmRouter;

/// <summary>An attempt in flight: its plan entry, its scope (timeouts and cancellation), when it started, and its task.</summary>
/// <typeparam name="T">What the attempt yields on success.</typeparam>
/// <param name="Entry">The plan entry it runs.</param>
/// <param name="Scope">Its cancellation and timeouts.</param>
/// <param name="Start">When it started, as a <see cref="TimeProvider.GetTimestamp"/> value.</param>
/// <param name="Task">Its outcome.</param>
internal readonly record struct RunningAttempt<T>(PlanEntry Entry, AttemptScope Scope, long Start, Task<T> Task);
