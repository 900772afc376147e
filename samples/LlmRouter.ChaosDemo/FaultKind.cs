namespace LlmRouter.ChaosDemo;

/// <summary>The ways a simulated provider misbehaves.</summary>
internal enum FaultKind
{
    /// <summary>Down: every call fails fast with 503.</summary>
    OutageFast,

    /// <summary>Down: every call hangs until the client's own timeout (60 s, like an SDK's network timeout).</summary>
    OutageHang,

    /// <summary>Up but slow: latency multiplied.</summary>
    Brownout,

    /// <summary>Most calls refused with 429 and a Retry-After.</summary>
    RateLimit,
}
