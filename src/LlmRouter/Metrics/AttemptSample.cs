namespace LlmRouter;

/// <summary>One attempt as the metrics ring buffer keeps it: small, blittable, written without allocation.</summary>
internal struct AttemptSample
{
    /// <summary>When the attempt ended, as a <see cref="TimeProvider.GetTimestamp"/> value.</summary>
    public long Timestamp;

    public float LatencyMs;

    /// <summary>Time to first output for streams; NaN otherwise.</summary>
    public float TimeToFirstTokenMs;

    public int InputTokens;

    public int OutputTokens;

    /// <summary>The part of <see cref="InputTokens"/> read from the provider's prompt cache.</summary>
    public int CachedInputTokens;

    public float Cost;

    /// <summary>0 for success, else the <see cref="FailureKind"/> plus 1.</summary>
    public byte Outcome;

    public byte Flags;

    /// <summary>The attempt took part in a hedge race: it was started as a hedge, or (with <see cref="CanceledFlag"/>) it lost one.</summary>
    public const byte HedgeFlag = 1;

    /// <summary>
    /// Cancelled, but not for the endpoint's fault: with a success outcome, the caller stopped reading the stream before it
    /// ended; with a <see cref="FailureKind.Canceled"/> outcome, the router cancelled it (a lost hedge race).
    /// </summary>
    public const byte CanceledFlag = 2;

    /// <summary>A streamed attempt: its latency is the whole stream, so it stays out of the latency percentiles (TTFT covers it).</summary>
    public const byte StreamedFlag = 4;

    public readonly bool IsSuccess => Outcome == 0;
}
