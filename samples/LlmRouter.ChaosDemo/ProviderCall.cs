namespace LlmRouter.ChaosDemo;

/// <summary>One call a live provider received.</summary>
/// <param name="UnixMinute">The wall-clock minute it arrived in (the window of a requests-per-minute limit).</param>
/// <param name="WhileDown">It arrived during one of the provider's outages.</param>
/// <param name="Probe">The calling instance held the provider Open or HalfOpen when the call arrived: the call was that instance's probe.</param>
internal readonly record struct ProviderCall(long UnixMinute, bool WhileDown, bool Probe);
