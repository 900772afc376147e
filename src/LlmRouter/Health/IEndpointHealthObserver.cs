namespace LlmRouter;

/// <summary>
/// Hears what one endpoint's health learns locally, so that fleet mode can share it. Called on the request path,
/// after the endpoint's lock is released: implementations only record or enqueue, never wait.
/// </summary>
/// <remarks>Changes applied from the fleet (<see cref="EndpointHealth.ApplyRemoteOpen"/> and the like) are not reported back.</remarks>
internal interface IEndpointHealthObserver
{
    /// <summary>A transient or timeout failure that counts toward opening (not a probe's).</summary>
    void OnHardFailure();

    /// <summary>A successful attempt; most calls should cost no more than a field read.</summary>
    void OnSuccess();

    /// <summary>The endpoint opened, or its open break moved later (a failed probe).</summary>
    /// <param name="openUntil">The break's end, as a <see cref="TimeProvider.GetTimestamp"/> value.</param>
    /// <param name="failedProbes">How many probes in a row have failed.</param>
    void OnOpened(long openUntil, int failedProbes);

    /// <summary>An open endpoint closed (its probe succeeded).</summary>
    /// <param name="openUntil">The end of the break that the probe ended.</param>
    void OnClosed(long openUntil);

    /// <summary>A rate-limit cool-down moved later.</summary>
    /// <param name="deadline">The new deadline, as a <see cref="TimeProvider.GetTimestamp"/> value.</param>
    void OnCooldown(long deadline);
}
