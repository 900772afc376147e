using System.Collections.Concurrent;

namespace LlmRouter;

/// <summary>The spending accounts of the tenants that have settings (<see cref="ConstraintOptions.Tenants"/>); endpoints keep their own.</summary>
/// <remarks>Only configured tenants get an account, so the ledger's size is bounded by the options, whatever names requests carry.</remarks>
internal sealed class BudgetLedger
{
    private readonly ConcurrentDictionary<string, BudgetAccount> _tenants = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The account of a configured tenant.</summary>
    public BudgetAccount TenantAccount(string tenant) =>
        _tenants.GetOrAdd(tenant, static name => new BudgetAccount(BudgetScopes.Tenant, name));

    /// <summary>The accounts of tenants that spent anything, or were asked about.</summary>
    public ICollection<BudgetAccount> Tenants => _tenants.Values;
}
