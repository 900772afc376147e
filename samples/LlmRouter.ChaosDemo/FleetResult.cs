namespace LlmRouter.ChaosDemo;

/// <summary>What one mode of the fleet comparison measured, from the providers' side.</summary>
/// <param name="Shared">Whether the instances shared state through Redis (fleet mode).</param>
/// <param name="Requests">Requests the instances received.</param>
/// <param name="Succeeded">Requests answered.</param>
/// <param name="Outages">Alpha's outages in the run.</param>
/// <param name="Calls">Every call each provider received: alpha, bravo, charlie.</param>
/// <param name="RequestsPerMinute">Bravo's configured limit.</param>
internal sealed record FleetResult(bool Shared, int Requests, int Succeeded, int Outages, ProviderCall[][] Calls, int RequestsPerMinute)
{
    public double SuccessRate => Requests == 0 ? double.NaN : Succeeded / (double)Requests;

    /// <summary>Gets the calls alpha received while it was down, per outage.</summary>
    public double WastedPerOutage => Calls[0].Count(static c => c.WhileDown) / (double)Outages;

    /// <summary>Gets the calls alpha received from an instance that held it Open or HalfOpen (that instance's probes), per outage.</summary>
    public double ProbesPerRecovery => Calls[0].Count(static c => c.Probe) / (double)Outages;

    /// <summary>Gets the most calls bravo received in one wall-clock minute.</summary>
    public int BusiestMinute => Calls[1].Length == 0 ? 0 : Calls[1].GroupBy(static c => c.UnixMinute).Max(static g => g.Count());

    /// <summary>Gets how far the busiest minute went past bravo's limit: 0 when it held.</summary>
    public int Overshoot => Math.Max(0, BusiestMinute - RequestsPerMinute);
}
