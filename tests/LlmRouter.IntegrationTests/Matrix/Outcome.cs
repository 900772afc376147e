namespace LlmRouter.IntegrationTests.Matrix;

/// <summary>What the router does with a failure (DESIGN.md §4).</summary>
public enum Outcome
{
    /// <summary>Tried the same endpoint again, which then answered.</summary>
    Retried,

    /// <summary>Moved to the next endpoint, which answered.</summary>
    FailedOver,

    /// <summary>Stopped at once with the SDK's exception: no other endpoint asked.</summary>
    Stopped,

    /// <summary>Output had reached the caller: the stream ended with <see cref="StreamInterruptedException"/>.</summary>
    Interrupted,

    /// <summary>No failure: the answer was served as it came.</summary>
    Served,
}
