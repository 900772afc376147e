using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>What reported usage costs at an endpoint's prices, cached input billed at its own price.</summary>
internal static class UsageCost
{
    /// <summary>The cost of <paramref name="usage"/>: uncached input, cached input and output, each at its price.</summary>
    /// <remarks>
    /// <see cref="UsageDetails.CachedInputTokenCount"/> is taken as part of <see cref="UsageDetails.InputTokenCount"/>
    /// (as OpenAI reports it); it is capped at the input count so that a provider counting it apart is never billed below zero.
    /// </remarks>
    public static decimal Of(EndpointOptions prices, UsageDetails? usage)
    {
        if (usage is null)
        {
            return 0;
        }

        long input = Math.Max(0, usage.InputTokenCount ?? 0);
        long cached = Math.Clamp(usage.CachedInputTokenCount ?? 0, 0, input);
        long output = Math.Max(0, usage.OutputTokenCount ?? 0);
        decimal cachedPrice = prices.CachedInputCostPerMillionTokens ?? prices.InputCostPerMillionTokens;
        return (((input - cached) * prices.InputCostPerMillionTokens) + (cached * cachedPrice) + (output * prices.OutputCostPerMillionTokens)) / 1_000_000m;
    }
}
