using Microsoft.Extensions.Logging;

namespace LlmRouter;

/// <summary>Fleet mode's log events: one warning per outage, never one per request; exceptions are named by type only.</summary>
internal static partial class FleetLog
{
    [LoggerMessage(100, LogLevel.Warning, "Fleet '{Prefix}': Redis coordination lost ({Reason}); routing continues on this instance's own health until Redis is back.")]
    public static partial void Lost(ILogger logger, string prefix, string reason);

    [LoggerMessage(101, LogLevel.Information, "Fleet '{Prefix}': Redis coordination restored after {Seconds:0.0} s; shared state resynchronised.")]
    public static partial void Restored(ILogger logger, string prefix, double seconds);

    [LoggerMessage(102, LogLevel.Information, "Fleet '{Prefix}': in step with the fleet as instance {InstanceId}.")]
    public static partial void Joined(ILogger logger, string prefix, string instanceId);

    [LoggerMessage(103, LogLevel.Debug, "Fleet '{Prefix}': this instance holds the probe lock of endpoint '{Endpoint}'.")]
    public static partial void ProbeLockTaken(ILogger logger, string prefix, string endpoint);

    [LoggerMessage(104, LogLevel.Information, "Fleet '{Prefix}': endpoint '{Endpoint}' is {State} as another instance reported.")]
    public static partial void RemoteChange(ILogger logger, string prefix, string endpoint, HealthState state);
}
