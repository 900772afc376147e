using System.Globalization;
using System.Text;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// The constraint part of the candidate filter: which of the group's endpoints a request may reach, given its hints,
/// its tenant's defaults and what it needs (tools, images, JSON schema, room in the context window).
/// </summary>
/// <remarks>
/// Fails closed: every later stage (retries, failover, hedges, stream continuation, re-plans) draws only from the plan
/// built over what this filter lets through, so an excluded endpoint is never called for the request.
/// Allocates nothing for a request that excludes nothing.
/// </remarks>
internal sealed class ConstraintFilter
{
    private readonly RouterRuntime _runtime;

    public ConstraintFilter(RouterRuntime runtime, RouterEndpoint[] endpoints)
    {
        _runtime = runtime;
        foreach (RouterEndpoint endpoint in endpoints)
        {
            endpoint.Limits ??= new EndpointLimits(runtime.TimeProvider);
        }
    }

    /// <summary>Filters <paramref name="candidates"/> for the request.</summary>
    /// <param name="candidates">The group's endpoints; read only.</param>
    /// <param name="messages">The request's messages.</param>
    /// <param name="options">The caller's options, hints included.</param>
    /// <param name="hints">The request's hints, if any.</param>
    public ConstrainedCandidates Apply(RouterEndpoint[] candidates, IList<ChatMessage> messages, ChatOptions? options, RoutingHints? hints)
    {
        TenantOptions? tenant = null;
        if (hints?.Tenant is { } tenantName)
        {
            _ = _runtime.Options.Constraints.Tenants.TryGetValue(tenantName, out tenant);
        }

        // State held by one provider: the request goes to the endpoint that issued it and nowhere else.
        string? pinnedTo = null;
        string? pinReason = null;
        if (options is { ConversationId: not null } or { ContinuationToken: not null })
        {
            pinReason = Pin(options, out pinnedTo);
        }

        // The common case costs nothing: no endpoint restricts what it serves (capabilities, limits) and the request
        // and its tenant restrict nothing, so every candidate stays, in order.
        if (pinReason is null && tenant is null && !Constrains(hints) && !AnyEndpointRestricts(candidates))
        {
            return new ConstrainedCandidates(candidates, null, RoutingSort.Default, 0, false);
        }

        // The tenant's caps come first: a spent budget refuses the request before anything else is weighed.
        BudgetPressure pressure = BudgetPressure.None;
        double softThreshold = _runtime.Options.Constraints.BudgetSoftThreshold;
        DateTimeOffset utcNow = default;
        if (tenant?.Budget is { Any: true } tenantBudget)
        {
            utcNow = _runtime.TimeProvider.GetUtcNow();
            BudgetAccount account = _runtime.Budgets.TenantAccount(hints!.Tenant!);
            if (account.FirstExceeded(tenantBudget, utcNow, softThreshold, out bool pastSoft) is { } period)
            {
                throw BudgetExceeded(account, period, tenantBudget.CapOf(period)!.Value, utcNow);
            }

            pressure |= pastSoft ? BudgetPressure.Tenant : BudgetPressure.None;
        }

        var facts = new RequestFacts(messages, options);
        List<EndpointExclusion>? excluded = null;
        int kept = 0;
        Span<bool> keep = candidates.Length <= 256 ? stackalloc bool[candidates.Length] : new bool[candidates.Length];
        for (int i = 0; i < candidates.Length; i++)
        {
            RouterEndpoint endpoint = candidates[i];
            if (pinnedTo is not null && !string.Equals(endpoint.Name, pinnedTo, StringComparison.Ordinal))
            {
                (excluded ??= []).Add(new(endpoint.Name, ExclusionReason.ProviderState, $"the request continues state held by '{pinnedTo}'"));
            }
            else if (Check(endpoint, hints, tenant, ref facts, ref pressure, ref utcNow) is { } exclusion)
            {
                (excluded ??= []).Add(exclusion);
            }
            else
            {
                keep[i] = true;
                kept++;
            }
        }

        RoutingSort sort = hints?.Sort is { } requested and not RoutingSort.Default ? requested : tenant?.Sort ?? RoutingSort.Default;
        if (sort == RoutingSort.Default && (pressure & BudgetPressure.Tenant) != 0)
        {
            sort = RoutingSort.Price; // the tenant nears its cap: the cheapest endpoint that qualifies goes first
            pressure |= BudgetPressure.SortedByPrice;
        }

        double preferred = hints?.PreferredMaxLatency is { } latency && latency > TimeSpan.Zero ? latency.TotalMilliseconds : 0;
        bool noFallbacks = (hints?.NoFallbacks ?? false) || (tenant?.NoFallbacks ?? false) || pinReason is not null;
        if (excluded is null)
        {
            return new ConstrainedCandidates(candidates, null, sort, preferred, noFallbacks, pressure, pinReason);
        }

        var left = new RouterEndpoint[kept];
        for (int i = 0, j = 0; i < candidates.Length; i++)
        {
            if (keep[i])
            {
                left[j++] = candidates[i];
            }
        }

        return new ConstrainedCandidates(left, [.. excluded], sort, preferred, noFallbacks, pressure, pinReason);
    }

    /// <summary>Which endpoint holds the request's provider-side state, and the reason the plan says.</summary>
    /// <remarks>
    /// An id the router did not see issued (issued before a restart, or through another client) names no endpoint: the
    /// request then goes to its plan's first endpoint only, never to a second one that would lack the state.
    /// </remarks>
    private string Pin(ChatOptions options, out string? pinnedTo)
    {
        long now = _runtime.TimeProvider.GetTimestamp();
        string what = options.ConversationId is not null ? "ConversationId" : "ContinuationToken";
        ulong key = options.ConversationId is { } id ? ConversationKey.OfConversationId(id) : ConversationKey.OfContinuationToken(options.ContinuationToken!);
        pinnedTo = _runtime.ProviderState.Lookup(key, now);
        return pinnedTo is not null
            ? $"pinned to the endpoint that issued the request's {what}"
            : $"the request's {what} was not issued through this router: its first choice only, no fallbacks";
    }

    /// <summary>Whether the endpoint spent more than the soft threshold of one of its caps (and none entirely).</summary>
    public bool PastSoftThreshold(RouterEndpoint endpoint)
    {
        if (endpoint.Options.Budget is not { Any: true } budget)
        {
            return false;
        }

        _ = endpoint.Spending.FirstExceeded(budget, _runtime.TimeProvider.GetUtcNow(), _runtime.Options.Constraints.BudgetSoftThreshold, out bool pastSoft);
        return pastSoft;
    }

    private static BudgetExceededException BudgetExceeded(BudgetAccount account, BudgetPeriod period, decimal cap, DateTimeOffset utcNow)
    {
        decimal spent = account.Spent(period, utcNow);
        DateTimeOffset resets = BudgetAccount.Bounds(period, utcNow).End;
        string text = string.Create(
            CultureInfo.InvariantCulture,
            $"Tenant '{account.Name}' spent {spent:0.######} of its {period.ToString().ToLowerInvariant()} cap {cap} (Constraints:Tenants:{account.Name}:Budget:Per{period}); " +
            $"its requests are refused until the period ends at {resets:u}. Raise the cap, or wait.");
        return new BudgetExceededException(text) { Tenant = account.Name, Period = period, Spent = spent, Cap = cap, ResetsAt = resets };
    }

    /// <summary>Whether waiting could help: some endpoint was excluded only by a rate or concurrency limit.</summary>
    public static bool AnyLimited(EndpointExclusion[]? exclusions)
    {
        foreach (EndpointExclusion exclusion in exclusions ?? [])
        {
            if (exclusion.Reason == ExclusionReason.Limit)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The exception for a request whose every candidate stayed at its limits past the wait.</summary>
    public EndpointLimitsReachedException LimitsReached(EndpointExclusion[] exclusions)
    {
        var text = new StringBuilder("Every candidate endpoint stayed at its limits for Constraints:LimitMaxWait (")
            .Append(_runtime.Options.Constraints.LimitMaxWait.ToString("c", CultureInfo.InvariantCulture)).Append("):");
        foreach (EndpointExclusion exclusion in exclusions)
        {
            _ = text.Append(CultureInfo.InvariantCulture, $" {exclusion.Endpoint} excluded by {exclusion.Reason} ({exclusion.Detail});");
        }

        _ = text.Append(" Send fewer requests, raise the limits, or add endpoints.");
        return new EndpointLimitsReachedException(text.ToString()) { Exclusions = exclusions };
    }

    /// <summary>The exception for a request that no endpoint may serve, saying why each was excluded.</summary>
    public static NoEndpointAvailableException NoneLeft(EndpointExclusion[] exclusions)
    {
        var text = new StringBuilder("No endpoint may serve the request:");
        foreach (EndpointExclusion exclusion in exclusions)
        {
            _ = text.Append(CultureInfo.InvariantCulture, $" {exclusion.Endpoint} excluded by {exclusion.Reason} ({exclusion.Detail});");
        }

        _ = text.Append(" Relax the request's routing hints or its tenant's constraints, or add an endpoint that meets them.");
        return new NoEndpointAvailableException(text.ToString()) { Exclusions = exclusions };
    }

    private static bool Constrains(RoutingHints? hints) =>
        hints is not null &&
        (hints.OnlyEndpoints is not null || hints.IgnoreEndpoints is not null || hints.AllowedRegions is not null ||
         hints.RequireZeroDataRetention || hints.RequireNoTraining || hints.MaxInputCostPerMillionTokens is not null ||
         hints.MaxOutputCostPerMillionTokens is not null || hints.MaxRequestCost is not null || hints.Sort != RoutingSort.Default ||
         hints.PreferredMaxLatency is not null || hints.NoFallbacks);

    /// <summary>Whether any candidate may refuse a request by itself: a missing capability, an output or context cap, a rate or concurrency limit.</summary>
    private static bool AnyEndpointRestricts(RouterEndpoint[] candidates)
    {
        foreach (RouterEndpoint endpoint in candidates)
        {
            EndpointOptions options = endpoint.Options;
            if (!options.SupportsToolCalling || !options.SupportsImageInput || !options.SupportsJsonSchema ||
                options.MaxOutputTokens is not null || options.ContextWindowTokens is not null ||
                options.RequestsPerMinute is not null || options.TokensPerMinute is not null || options.MaxConcurrency is not null ||
                options.Budget is { Any: true })
            {
                return true;
            }
        }

        return false;
    }

    private EndpointExclusion? Check(
        RouterEndpoint endpoint, RoutingHints? hints, TenantOptions? tenant, ref RequestFacts facts, ref BudgetPressure pressure, ref DateTimeOffset utcNow)
    {
        EndpointOptions options = endpoint.Options;
        string name = endpoint.Name;

        // Endpoint lists.
        if (NotListed(name, hints?.OnlyEndpoints) || NotListed(name, tenant?.OnlyEndpoints))
        {
            return new(name, ExclusionReason.Endpoint, "not among the request's or tenant's OnlyEndpoints");
        }

        if (Listed(name, hints?.IgnoreEndpoints) || Listed(name, tenant?.IgnoreEndpoints))
        {
            return new(name, ExclusionReason.Endpoint, "in the request's or tenant's IgnoreEndpoints");
        }

        // Residency: fails closed, an endpoint with no region is outside every restriction.
        if ((RegionRefused(options.Region, hints?.AllowedRegions) ?? RegionRefused(options.Region, tenant?.AllowedRegions)) is { } regions)
        {
            return new(name, ExclusionReason.Region, $"region '{options.Region ?? "(none)"}' is not in the allowed regions [{regions}]");
        }

        // Data policy.
        if (((hints?.RequireZeroDataRetention ?? false) || (tenant?.RequireZeroDataRetention ?? false)) && !options.ZeroDataRetention)
        {
            return new(name, ExclusionReason.DataPolicy, "zero data retention is required and the endpoint's ZeroDataRetention is false");
        }

        if (((hints?.RequireNoTraining ?? false) || (tenant?.RequireNoTraining ?? false)) && !options.NoTraining)
        {
            return new(name, ExclusionReason.DataPolicy, "no training is required and the endpoint's NoTraining is false");
        }

        // Capabilities the request needs.
        if (facts.HasTools && !options.SupportsToolCalling)
        {
            return new(name, ExclusionReason.Capability, "the request carries tools and SupportsToolCalling is false");
        }

        if (facts.HasJsonSchema && !options.SupportsJsonSchema)
        {
            return new(name, ExclusionReason.Capability, "the request asks for a JSON-schema response and SupportsJsonSchema is false");
        }

        if (!options.SupportsImageInput && facts.HasImages)
        {
            return new(name, ExclusionReason.Capability, "the request carries images and SupportsImageInput is false");
        }

        int? maxOutput = facts.MaxOutputTokens;
        if (options.MaxOutputTokens is { } outputCap && maxOutput > outputCap)
        {
            return new(name, ExclusionReason.Capability, $"the request's MaxOutputTokens ({maxOutput}) exceeds the endpoint's MaxOutputTokens ({outputCap})");
        }

        if (options.ContextWindowTokens is { } window && !facts.Fits(window))
        {
            return new(name, ExclusionReason.Capability,
                $"about {facts.ExactTokens} input tokens plus {maxOutput ?? 0} output tokens exceed ContextWindowTokens ({window})");
        }

        // Prices: the lower of the request's and the tenant's caps. Without either there are none, and the nullable
        // decimals are not worked through for every endpoint (they were most of a limits-only check's time).
        bool capped = hints is not null || tenant is not null;
        decimal? maxInput = !capped ? null : Lower(hints?.MaxInputCostPerMillionTokens, tenant?.MaxInputCostPerMillionTokens);
        if (maxInput is { } inputCap && options.InputCostPerMillionTokens > inputCap)
        {
            return new(name, ExclusionReason.Price, $"InputCostPerMillionTokens {options.InputCostPerMillionTokens} is above the cap {inputCap}");
        }

        decimal? maxOutputPrice = !capped ? null : Lower(hints?.MaxOutputCostPerMillionTokens, tenant?.MaxOutputCostPerMillionTokens);
        if (maxOutputPrice is { } outputPriceCap && options.OutputCostPerMillionTokens > outputPriceCap)
        {
            return new(name, ExclusionReason.Price, $"OutputCostPerMillionTokens {options.OutputCostPerMillionTokens} is above the cap {outputPriceCap}");
        }

        decimal? maxCost = !capped ? null : Lower(hints?.MaxRequestCost, tenant?.MaxRequestCost);
        if (maxCost is { } costCap)
        {
            double cost = EstimateCost(endpoint, ref facts);
            if (cost > (double)costCap)
            {
                return new(name, ExclusionReason.Price, $"the request's estimated cost {cost.ToString("0.######", CultureInfo.InvariantCulture)} is above the cap {costCap}");
            }
        }

        // The endpoint's own spending caps.
        if (options.Budget is { Any: true } budget)
        {
            utcNow = utcNow == default ? _runtime.TimeProvider.GetUtcNow() : utcNow;
            if (endpoint.Spending.FirstExceeded(budget, utcNow, _runtime.Options.Constraints.BudgetSoftThreshold, out bool pastSoft) is { } period)
            {
                decimal cap = budget.CapOf(period)!.Value;
                return new(name, ExclusionReason.Budget, string.Create(
                    CultureInfo.InvariantCulture,
                    $"spent {endpoint.Spending.Spent(period, utcNow):0.######} of its {period.ToString().ToLowerInvariant()} cap {cap} until {BudgetAccount.Bounds(period, utcNow).End:u}"));
            }

            pressure |= pastSoft ? BudgetPressure.Endpoint : BudgetPressure.None;
        }

        // Rate and concurrency limits: an endpoint at one is passed over (the attempt takes its share when it starts).
        if (endpoint.Limits is { } limits)
        {
            limits.Configure(options);
            if (limits.Any && limits.AtLimit(limits.HasTokenLimit ? facts.QuickTokens + (facts.MaxOutputTokens ?? _runtime.Options.Scoring.AssumedOutputTokens) : 0) is { } limit)
            {
                return new(name, ExclusionReason.Limit, limit);
            }
        }

        return null;
    }

    /// <summary>The request's estimated cost on the endpoint: the quick input estimate and the output cap (or the assumed output).</summary>
    internal double EstimateCost(RouterEndpoint endpoint, ref RequestFacts facts)
    {
        RouterEndpoint.Prices prices = endpoint.PerToken;
        double output = facts.MaxOutputTokens ?? _runtime.Options.Scoring.AssumedOutputTokens;
        return (facts.QuickTokens * prices.Input) + (output * prices.Output);
    }

    private static bool NotListed(string name, IList<string>? only) => only is not null && !Contains(only, name);

    private static bool Listed(string name, IList<string>? list) => list is not null && Contains(list, name);

    private static bool Contains(IList<string> list, string name)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The allowed regions as text when <paramref name="region"/> is outside them; null when it is inside, or nothing is restricted.</summary>
    private static string? RegionRefused(string? region, IList<string>? allowed)
    {
        if (allowed is null)
        {
            return null;
        }

        if (region is not null)
        {
            for (int i = 0; i < allowed.Count; i++)
            {
                if (RegionMatches(region, allowed[i]))
                {
                    return null;
                }
            }
        }

        return string.Join(", ", allowed);
    }

    /// <summary>"eu" admits "eu" and "eu-west", not "europe" nor "us".</summary>
    internal static bool RegionMatches(string region, string allowed) =>
        !string.IsNullOrEmpty(allowed) &&
        region.StartsWith(allowed, StringComparison.OrdinalIgnoreCase) &&
        (region.Length == allowed.Length || region[allowed.Length] == '-');

    private static decimal? Lower(decimal? a, decimal? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
}
