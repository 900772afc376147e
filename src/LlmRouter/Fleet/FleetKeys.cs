using System.Globalization;
using StackExchange.Redis;

namespace LlmRouter;

/// <summary>
/// The Redis key and channel layout of one fleet's health, and the format of its news. Only endpoint names, deadlines
/// (Unix milliseconds), counters and random instance ids are written (quota keys: <see cref="FleetQuotaLeaser"/>;
/// budget keys, which also name configured tenants: <see cref="FleetBudgets"/>).
/// </summary>
/// <remarks>
/// <code>
/// {prefix}:llmrouter:open:{endpoint}   "{untilUnixMs}|{failedProbes}"  PX = break left + grace; deleted on close
/// {prefix}:llmrouter:cool:{endpoint}   "{untilUnixMs}"                 PX = cool-down left
/// {prefix}:llmrouter:fails:{endpoint}  integer                         PX = failure-count window; deleted on success or open
/// {prefix}:llmrouter:probe:{endpoint}  "{instanceId}"                  PX = probe lock duration (SET NX)
/// channel {prefix}:llmrouter:events    "1|{kind}|{untilUnixMs}|{failedProbes}|{instanceId}|{endpoint}"
///                                      kind: o open, c closed, r rate-limit cool-down, s suspect (failures counted), k count reset
/// </code>
/// Endpoint names are lower-cased (the router compares them ignoring case) and come last in a message, so they may hold '|'.
/// </remarks>
internal sealed class FleetKeys(string prefix)
{
    public const char Open = 'o';
    public const char Closed = 'c';
    public const char Cooldown = 'r';
    public const char Suspect = 's';
    public const char Reset = 'k';

    private readonly string _root = prefix + ":llmrouter:";

    public RedisChannel Channel { get; } = RedisChannel.Literal(prefix + ":llmrouter:events");

    public RedisKey OpenKey(string endpoint) => _root + "open:" + endpoint.ToLowerInvariant();

    public RedisKey CooldownKey(string endpoint) => _root + "cool:" + endpoint.ToLowerInvariant();

    public RedisKey FailuresKey(string endpoint) => _root + "fails:" + endpoint.ToLowerInvariant();

    public RedisKey ProbeKey(string endpoint) => _root + "probe:" + endpoint.ToLowerInvariant();

    public static string Message(char kind, long untilUnixMs, int failedProbes, string instanceId, string endpoint) =>
        string.Create(CultureInfo.InvariantCulture, $"1|{kind}|{untilUnixMs}|{failedProbes}|{instanceId}|{endpoint.ToLowerInvariant()}");

    /// <summary>Parses a message; false for anything malformed or of a later format version (ignored, never thrown).</summary>
    public static bool TryParse(string? message, out char kind, out long untilUnixMs, out int failedProbes, out string instanceId, out string endpoint)
    {
        instanceId = string.Empty;
        kind = default;
        untilUnixMs = 0;
        failedProbes = 0;
        endpoint = string.Empty;
        if (message is null)
        {
            return false;
        }

        string[] parts = message.Split('|', 6);
        if (parts.Length != 6 || parts[0] != "1" || parts[1].Length != 1 ||
            !long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out untilUnixMs) ||
            !int.TryParse(parts[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out failedProbes))
        {
            return false;
        }

        kind = parts[1][0];
        instanceId = parts[4];
        endpoint = parts[5];
        return true;
    }

    /// <summary>Parses an open key's value "{untilUnixMs}|{failedProbes}".</summary>
    public static bool TryParseOpen(RedisValue value, out long untilUnixMs, out int failedProbes)
    {
        untilUnixMs = 0;
        failedProbes = 0;
        if (value.IsNullOrEmpty)
        {
            return false;
        }

        string[] parts = ((string)value!).Split('|');
        return parts.Length == 2 &&
            long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out untilUnixMs) &&
            int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out failedProbes);
    }
}
