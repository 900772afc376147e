namespace LlmRouter;

/// <summary>
/// The Lua scripts of fleet mode: each changes the shared state and publishes the news in one round trip, and each
/// keeps deadlines moving only later, whatever order the instances' news arrives in.
/// </summary>
internal static class FleetScripts
{
    /// <summary>KEYS: open, fails, probe lock. ARGV: until, failedProbes, ttlMs, channel, message, instanceId. Returns the later value already there, or nil.</summary>
    public const string Open = """
        local cur = redis.call('GET', KEYS[1])
        if redis.call('GET', KEYS[3]) == ARGV[6] then redis.call('DEL', KEYS[3]) end
        if cur then
          local u = tonumber(string.match(cur, '^(%d+)'))
          if u and u >= tonumber(ARGV[1]) then return cur end
        end
        redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
        redis.call('DEL', KEYS[2])
        redis.call('PUBLISH', ARGV[4], ARGV[5])
        return false
        """;

    /// <summary>KEYS: open, probe lock, fails. ARGV: until of the probed break, tolerance ms, instanceId, channel, message.</summary>
    public const string Close = """
        local cur = redis.call('GET', KEYS[1])
        if cur then
          local u = tonumber(string.match(cur, '^(%d+)'))
          if u and u <= tonumber(ARGV[1]) + tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
        end
        if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
        redis.call('DEL', KEYS[3])
        redis.call('PUBLISH', ARGV[4], ARGV[5])
        return false
        """;

    /// <summary>KEYS: cool-down. ARGV: until, ttlMs, channel, message. Returns the later value already there, or nil.</summary>
    public const string Cooldown = """
        local cur = redis.call('GET', KEYS[1])
        if cur and tonumber(cur) and tonumber(cur) >= tonumber(ARGV[1]) then return cur end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('PUBLISH', ARGV[3], ARGV[4])
        return false
        """;

    /// <summary>
    /// KEYS: fails, open. ARGV: windowMs, threshold, until, ttlMs, channel, openMessage, suspectMessage.
    /// Counts a hard failure; at the threshold opens the endpoint for the fleet. Returns the count, -1 when it opened, or the later open value already there.
    /// </summary>
    public const string Failure = """
        local n = redis.call('INCR', KEYS[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        if n == 1 then redis.call('PUBLISH', ARGV[5], ARGV[7]) end
        if n < tonumber(ARGV[2]) then return n end
        redis.call('DEL', KEYS[1])
        local cur = redis.call('GET', KEYS[2])
        if cur then
          local u = tonumber(string.match(cur, '^(%d+)'))
          if u and u >= tonumber(ARGV[3]) then return cur end
        end
        redis.call('SET', KEYS[2], ARGV[3] .. '|0', 'PX', ARGV[4])
        redis.call('PUBLISH', ARGV[5], ARGV[6])
        return -1
        """;

    /// <summary>KEYS: fails. ARGV: channel, message. A success resets the fleet's failure count.</summary>
    public const string Reset = """
        if redis.call('DEL', KEYS[1]) == 1 then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
        return false
        """;

    /// <summary>KEYS: probe lock. ARGV: instanceId, ttlMs. Renews the lock when this instance still holds it; returns 1 if so.</summary>
    public const string Renew = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    /// <summary>KEYS: probe lock. ARGV: instanceId. Releases the lock when this instance holds it.</summary>
    public const string Release = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        return false
        """;

    /// <summary>
    /// KEYS: the minute's counter. ARGV: block, limit, ttlMs. Leases up to a block of the minute's quota, never past
    /// the limit; returns the units granted (0 when the fleet has used the minute's limit).
    /// </summary>
    public const string Lease = """
        local block = tonumber(ARGV[1])
        local used = redis.call('INCRBY', KEYS[1], block)
        if used == block then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
        local over = used - tonumber(ARGV[2])
        if over <= 0 then return {block, used} end
        if over > block then over = block end
        redis.call('DECRBY', KEYS[1], over)
        return {block - over, used - over}
        """;

    /// <summary>KEYS: members. ARGV: nowMs, instanceId, staleBeforeMs. Records this instance as alive; returns the fleet size.</summary>
    public const string Heartbeat = """
        redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], 600000)
        return redis.call('ZCARD', KEYS[1])
        """;

    /// <summary>
    /// KEYS: one budget counter per capped account and period. ARGV: per key, the delta in millionths, the time to
    /// live in ms (to an hour past the period's end), and the total the instance last knew (a counter lost by a restart
    /// below it starts again from it). Adds each delta; returns every counter's total.
    /// </summary>
    public const string Budgets = """
        local totals = {}
        for i = 1, #KEYS do
          local delta = tonumber(ARGV[3 * i - 2])
          local floor = tonumber(ARGV[3 * i]) + delta
          local total = redis.call('INCRBY', KEYS[i], delta)
          if total < floor then
            redis.call('SET', KEYS[i], floor)
            total = floor
          end
          redis.call('PEXPIRE', KEYS[i], ARGV[3 * i - 1])
          totals[i] = total
        end
        return totals
        """;
}
