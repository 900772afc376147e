namespace LlmRouter;

/// <summary>What the router remembers about an endpoint between requests.</summary>
/// <remarks>
/// An endpoint that is cooling down is tried only after every endpoint that is not. Cool-down deadlines only ever move
/// later: a shorter cool-down never shortens a longer one.
/// </remarks>
public sealed class HealthOptions
{
    /// <summary>Gets or sets how long an endpoint cools down after an authentication or configuration failure (401, 403, 404).</summary>
    /// <remarks>Default 5 minutes: such an endpoint stays broken until someone fixes its key or model name. At least 0.</remarks>
    public TimeSpan AuthFailureCooldown { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets how long an endpoint cools down after a rate-limit failure that carries no Retry-After.</summary>
    /// <remarks>Default 5 s. At least 0. A Retry-After, when present, sets the cool-down instead, capped by <see cref="MaxRateLimitCooldown"/>.</remarks>
    public TimeSpan DefaultRateLimitCooldown { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the longest cool-down a Retry-After may impose.</summary>
    /// <remarks>Default 5 minutes. At least <see cref="DefaultRateLimitCooldown"/>; guards against absurd Retry-After values.</remarks>
    public TimeSpan MaxRateLimitCooldown { get; set; } = TimeSpan.FromMinutes(5);
}
