namespace LlmRouter;

/// <summary>Whether an attempt may go to an endpoint now.</summary>
internal enum Admission
{
    /// <summary>Go ahead.</summary>
    Admitted,

    /// <summary>Go ahead: this attempt is the half-open probe; its outcome closes or re-opens the endpoint.</summary>
    Probe,

    /// <summary>Open, or half-open with a probe already in flight: skip it.</summary>
    Rejected,
}
