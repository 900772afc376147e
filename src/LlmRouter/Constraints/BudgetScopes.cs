namespace LlmRouter;

/// <summary>The names of what a budget belongs to, as <see cref="BudgetStatus.Scope"/> and telemetry say them.</summary>
internal static class BudgetScopes
{
    public const string Tenant = "tenant";

    public const string Endpoint = "endpoint";
}
