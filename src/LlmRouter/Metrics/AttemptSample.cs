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

    public float Cost;

    /// <summary>0 for success, else the <see cref="FailureKind"/> plus 1.</summary>
    public byte Outcome;

    public byte Flags;

    public const byte HedgeFlag = 1;
    public const byte CanceledFlag = 2;

    /// <summary>A streamed attempt: its latency is the whole stream, so it stays out of the latency percentiles (TTFT covers it).</summary>
    public const byte StreamedFlag = 4;

    public readonly bool IsSuccess => Outcome == 0;
}
