namespace LlmRouter;

/// <summary>How the router guards streamed responses: how long it waits for the first token and between updates, and what it does when a stream breaks.</summary>
/// <remarks>
/// Both timeouts fail the attempt as <see cref="FailureKind.Timeout"/>. Before the first output reaches the caller the
/// request fails over invisibly; after it, <see cref="MidStreamPolicy"/> decides. Each wait is also bounded by the
/// attempt timeout (<see cref="LlmRouterOptions.AttemptTimeout"/> or the endpoint's own), whichever is shorter.
/// </remarks>
public sealed class StreamingOptions
{
    /// <summary>Gets or sets a fixed time-to-first-token timeout; when set, the adaptive timeout is not used.</summary>
    /// <remarks>Default <see langword="null"/>: adaptive (see <see cref="FirstTokenTimeoutMultiplier"/>). Positive and at most one day.</remarks>
    public TimeSpan? FirstTokenTimeout { get; set; }

    /// <summary>Gets or sets the adaptive time-to-first-token timeout, as a multiple of the endpoint's p95 time to first token.</summary>
    /// <remarks>
    /// Default 4. Between 1 and 100. The result is kept between <see cref="MinFirstTokenTimeout"/> and
    /// <see cref="MaxFirstTokenTimeout"/>; an endpoint with too few streamed samples
    /// (<see cref="ScoringOptions.MinSamples"/>) gets <see cref="MaxFirstTokenTimeout"/>.
    /// </remarks>
    public double FirstTokenTimeoutMultiplier { get; set; } = 4;

    /// <summary>Gets or sets the floor of the adaptive time-to-first-token timeout.</summary>
    /// <remarks>Default 5 s. Positive, and at most <see cref="MaxFirstTokenTimeout"/>.</remarks>
    public TimeSpan MinFirstTokenTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the ceiling of the adaptive time-to-first-token timeout, and its value while the endpoint is unmeasured.</summary>
    /// <remarks>Default 60 s. At most one day. Raise it for reasoning models that think for minutes before they answer.</remarks>
    public TimeSpan MaxFirstTokenTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Gets or sets the longest wait for the next update once a stream has produced output (the stall timeout).</summary>
    /// <remarks>
    /// Default 30 s. Positive and at most one day, or <see cref="Timeout.InfiniteTimeSpan"/>. Only time spent waiting on
    /// the endpoint counts, never time the caller spends holding an update.
    /// </remarks>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets what happens when a stream fails after output reached the caller.</summary>
    /// <remarks>Default <see cref="MidStreamPolicy.Throw"/>.</remarks>
    public MidStreamPolicy MidStreamPolicy { get; set; } = MidStreamPolicy.Throw;

    /// <summary>Gets or sets the instruction sent, after the partial answer as the assistant's turn, to the endpoint that continues it.</summary>
    /// <remarks>Used by <see cref="MidStreamPolicy.Continue"/>. Must not be empty.</remarks>
    public string ContinuationPrompt { get; set; } =
        "Your previous answer was cut off. Continue it exactly where it stopped, without repeating any of it and without any preamble.";
}
