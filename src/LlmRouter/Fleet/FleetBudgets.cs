using System.Globalization;
using StackExchange.Redis;

namespace LlmRouter;

/// <summary>
/// Shares spending caps with the fleet: pushes each capped account's unpushed spending to Redis as deltas in millionths
/// (<c>INCRBY</c> on a counter per scope, period and name, expiring an hour past the period's end) and keeps the fleet's
/// totals it gets back in the accounts. One round trip for all accounts; run by the fleet mirror's background loop only.
/// </summary>
/// <remarks>
/// Key: <c>{prefix}:llmrouter:budget:{tenant|endpoint}:{h|d|m}:{periodIndex}:{name}</c>, the name lower-cased and last,
/// so that any character in it is unambiguous. Only endpoints and configured tenants with a cap are pushed. A push that
/// fails is pushed again (a timeout after Redis applied it counts that spending twice: budgets err on the safe side).
/// A counter Redis lost (a restart without persistence) starts again from the largest total an instance last knew
/// (each push carries it as a floor), so a restart forgets at most what was pushed after that.
/// </remarks>
internal sealed class FleetBudgets(string prefix, RouterRuntime runtime, RouterEndpoint[] endpoints)
{
    private static readonly BudgetPeriod[] Periods = [BudgetPeriod.Hour, BudgetPeriod.Day, BudgetPeriod.Month];
    private readonly string _root = prefix + ":llmrouter:budget:";
    private readonly List<(BudgetAccount Account, BudgetPeriod Period, long Index, long Delta, long Floor)> _batch = [];

    /// <summary>Pushes and reads back every capped account's spending.</summary>
    /// <returns>The number of Redis round trips made: 0 when nothing is capped, else 1.</returns>
    public async Task<int> SyncAsync(IDatabase db)
    {
        DateTimeOffset utcNow = runtime.TimeProvider.GetUtcNow();
        _batch.Clear();
        foreach (RouterEndpoint endpoint in endpoints)
        {
            Collect(endpoint.Spending, endpoint.Options.Budget, utcNow);
        }

        foreach (KeyValuePair<string, TenantOptions> tenant in runtime.Options.Constraints.Tenants)
        {
            if (tenant.Value?.Budget is { Any: true } budget)
            {
                Collect(runtime.Budgets.TenantAccount(tenant.Key), budget, utcNow);
            }
        }

        if (_batch.Count == 0)
        {
            return 0;
        }

        var keys = new RedisKey[_batch.Count];
        var args = new RedisValue[3 * _batch.Count];
        for (int i = 0; i < _batch.Count; i++)
        {
            (BudgetAccount account, BudgetPeriod period, long index, long delta, long floor) = _batch[i];
            keys[i] = Key(account.Scope, period, index, account.Name);
            args[3 * i] = delta;
            // Relative: Redis's clock need not agree with the instances'.
            args[(3 * i) + 1] = (long)(BudgetAccount.Bounds(period, utcNow).End.AddHours(1) - utcNow).TotalMilliseconds;
            args[(3 * i) + 2] = floor;
        }

        var totals = (RedisResult[])(await db.ScriptEvaluateAsync(FleetScripts.Budgets, keys, args).ConfigureAwait(false))!;
        for (int i = 0; i < _batch.Count; i++)
        {
            (BudgetAccount account, BudgetPeriod period, long index, long delta, _) = _batch[i];
            account.ApplyFleetTotal(period, index, delta, (long)totals[i]);
        }

        return 1;
    }

    public string Key(string scope, BudgetPeriod period, long index, string name) =>
        string.Create(CultureInfo.InvariantCulture, $"{_root}{scope}:{Letter(period)}:{index}:{name.ToLowerInvariant()}");

    private static char Letter(BudgetPeriod period) => period switch
    {
        BudgetPeriod.Hour => 'h',
        BudgetPeriod.Day => 'd',
        _ => 'm',
    };

    private void Collect(BudgetAccount account, BudgetOptions? budget, DateTimeOffset utcNow)
    {
        if (budget is not { Any: true })
        {
            return;
        }

        foreach (BudgetPeriod period in Periods)
        {
            if (budget.CapOf(period) is not null)
            {
                long delta = account.TakeDelta(period, utcNow, out long index, out long floor);
                _batch.Add((account, period, index, delta, floor));
            }
        }
    }
}
