using Microsoft.Extensions.Options;

namespace LlmRouter;

/// <summary>Validates the constraint settings at start-up: endpoint descriptors, tenants, limits and budgets; each message names the field.</summary>
internal sealed class ConstraintOptionsValidator : IValidateOptions<LlmRouterOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmRouterOptions options)
    {
        var errors = new List<string>();
        foreach ((string endpointName, EndpointOptions endpoint) in options.Endpoints)
        {
            if (endpoint is not null)
            {
                ValidateEndpoint($"Endpoint '{endpointName}': ", endpoint, errors);
            }
        }

        TimeSpan wait = options.Constraints.LimitMaxWait;
        if (wait < TimeSpan.Zero || wait > LlmRouterOptionsValidator.MaxDuration)
        {
            errors.Add($"Constraints:LimitMaxWait must be between 0 and {LlmRouterOptionsValidator.MaxDuration} (was {wait}).");
        }

        AffinityOptions affinity = options.Affinity;
        if (affinity.MaxConversations is < 1 or > 10_000_000)
        {
            errors.Add($"Affinity:MaxConversations must be between 1 and 10000000 (was {affinity.MaxConversations}).");
        }

        if (affinity.TimeToLive < TimeSpan.FromSeconds(1) || affinity.TimeToLive > TimeSpan.FromDays(30))
        {
            errors.Add($"Affinity:TimeToLive must be between 1 second and 30 days (was {affinity.TimeToLive}).");
        }

        if (affinity.ProviderStateTimeToLive < TimeSpan.FromSeconds(1) || affinity.ProviderStateTimeToLive > TimeSpan.FromDays(365))
        {
            errors.Add($"Affinity:ProviderStateTimeToLive must be between 1 second and 365 days (was {affinity.ProviderStateTimeToLive}).");
        }

        double soft = options.Constraints.BudgetSoftThreshold;
        if (!(soft > 0 && soft <= 1))
        {
            errors.Add($"Constraints:BudgetSoftThreshold must be greater than 0 and at most 1 (was {soft}).");
        }

        foreach ((string tenantName, TenantOptions tenant) in options.Constraints.Tenants)
        {
            string prefix = $"Constraints:Tenants '{tenantName}': ";
            if (tenant is null)
            {
                errors.Add($"{prefix}has no settings.");
                continue;
            }

            CheckList(prefix + "AllowedRegions", tenant.AllowedRegions, errors);
            CheckList(prefix + "OnlyEndpoints", tenant.OnlyEndpoints, errors);
            CheckList(prefix + "IgnoreEndpoints", tenant.IgnoreEndpoints, errors);
            CheckPrice(prefix + "MaxInputCostPerMillionTokens", tenant.MaxInputCostPerMillionTokens, errors);
            CheckPrice(prefix + "MaxOutputCostPerMillionTokens", tenant.MaxOutputCostPerMillionTokens, errors);
            CheckPrice(prefix + "MaxRequestCost", tenant.MaxRequestCost, errors);
            CheckBudget(prefix + "Budget", tenant.Budget, errors);
            if (!Enum.IsDefined(tenant.Sort))
            {
                errors.Add($"{prefix}Sort '{tenant.Sort}' is not a RoutingSort; use one of: {string.Join(", ", Enum.GetNames<RoutingSort>())}.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateEndpoint(string prefix, EndpointOptions endpoint, List<string> errors)
    {
        if (endpoint.Region is { } region && string.IsNullOrWhiteSpace(region))
        {
            errors.Add($"{prefix}Region must not be empty or white space; leave it unset when unknown.");
        }

        CheckPrice(prefix + "CachedInputCostPerMillionTokens", endpoint.CachedInputCostPerMillionTokens, errors);
        if (endpoint.MaxOutputTokens is <= 0)
        {
            errors.Add($"{prefix}MaxOutputTokens must be positive when set (was {endpoint.MaxOutputTokens}).");
        }

        CheckLimit(prefix + "RequestsPerMinute", endpoint.RequestsPerMinute, errors);
        CheckLimit(prefix + "TokensPerMinute", endpoint.TokensPerMinute, errors);
        CheckLimit(prefix + "MaxConcurrency", endpoint.MaxConcurrency, errors);
        CheckBudget(prefix + "Budget", endpoint.Budget, errors);
    }

    private static void CheckBudget(string field, BudgetOptions? budget, List<string> errors)
    {
        if (budget is null)
        {
            return;
        }

        CheckPrice(field + ":PerHour", budget.PerHour, errors);
        CheckPrice(field + ":PerDay", budget.PerDay, errors);
        CheckPrice(field + ":PerMonth", budget.PerMonth, errors);
    }

    private static void CheckLimit(string field, int? value, List<string> errors)
    {
        if (value is < 1)
        {
            errors.Add($"{field} must be at least 1 when set (was {value}); leave it unset for no limit.");
        }
    }

    private static void CheckPrice(string field, decimal? value, List<string> errors)
    {
        if (value < 0)
        {
            errors.Add($"{field} must not be negative (was {value}).");
        }
    }

    private static void CheckList(string field, IList<string>? values, List<string> errors)
    {
        if (values is null)
        {
            return;
        }

        foreach (string value in values)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                errors.Add($"{field} must not hold an empty entry.");
                return;
            }
        }
    }
}
