using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmRouter;

/// <summary>Validates the router's options at start-up; each message names the field, and the endpoint where there is one.</summary>
internal sealed class LlmRouterOptionsValidator : IValidateOptions<LlmRouterOptions>
{
    /// <summary>The longest duration any setting may hold: far below what timers accept (about 49 days), far above any sane value.</summary>
    internal static readonly TimeSpan MaxDuration = TimeSpan.FromDays(1);

    /// <summary>The longest a response may stay cached.</summary>
    internal static readonly TimeSpan MaxCacheTimeToLive = TimeSpan.FromDays(30);

    private readonly EndpointRegistration[] _registrations;
    private readonly IServiceProviderIsKeyedService? _keyedServices;
    private readonly IServiceProviderIsService? _isService;

    public LlmRouterOptionsValidator(IEnumerable<EndpointRegistration> registrations, IServiceProvider services)
    {
        _registrations = [.. registrations];
        _keyedServices = services.GetService<IServiceProviderIsKeyedService>();
        _isService = services.GetService<IServiceProviderIsService>();
    }

    public ValidateOptionsResult Validate(string? name, LlmRouterOptions options)
    {
        var errors = new List<string>();
        ValidateRouter(options, errors);
        ValidateLearning(options, errors);
        ValidateStreamingAndHedging(options, errors);
        ValidateCache(options.Cache, errors);
        ValidateRegistrations(errors);

        if (options.Endpoints.Count == 0)
        {
            errors.Add("LlmRouter has no endpoints. Add one with AddEndpoint(...) or under 'LlmRouter:Endpoints' in configuration.");
        }

        bool anyWeight = false;
        foreach ((string endpointName, EndpointOptions endpoint) in options.Endpoints)
        {
            if (endpoint is null)
            {
                errors.Add($"Endpoint '{endpointName}' has no settings.");
                continue;
            }

            anyWeight |= endpoint.Weight > 0;
            ValidateEndpoint(endpointName, endpoint, errors);
            if (!HasRegistration(endpointName) && _keyedServices?.IsKeyedService(typeof(IChatClient), endpointName) == false)
            {
                errors.Add(
                    $"Endpoint '{endpointName}' is configured but no IChatClient is registered for it. Register a keyed IChatClient " +
                    $"with key '{endpointName}' (for example AddKeyedChatClient(\"{endpointName}\", ...)) or add it with AddEndpoint.");
            }
        }

        if (options.Strategy == RoutingStrategy.WeightedRandom && options.Endpoints.Count > 0 && !anyWeight)
        {
            errors.Add("Strategy is WeightedRandom but every endpoint has Weight 0; give at least one endpoint a positive Weight.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateRouter(LlmRouterOptions options, List<string> errors)
    {
        if (!Enum.IsDefined(options.Strategy))
        {
            errors.Add($"Strategy '{options.Strategy}' is not a RoutingStrategy; use one of: {string.Join(", ", Enum.GetNames<RoutingStrategy>())}.");
        }

        CheckTimeout("AttemptTimeout", options.AttemptTimeout, errors);

        RetryOptions retry = options.Retry;
        if (retry.MaxAttempts is < 1 or > 100)
        {
            errors.Add($"Retry:MaxAttempts must be between 1 and 100 (was {retry.MaxAttempts}).");
        }

        if (retry.MaxRetriesPerEndpoint is < 0 or > 10)
        {
            errors.Add($"Retry:MaxRetriesPerEndpoint must be between 0 and 10 (was {retry.MaxRetriesPerEndpoint}).");
        }

        CheckNotNegative("Retry:BaseDelay", retry.BaseDelay, errors);
        CheckNotNegative("Retry:MaxRetryAfter", retry.MaxRetryAfter, errors);
        CheckNotNegative("Retry:MaxDelay", retry.MaxDelay, errors);
        if (retry.MaxDelay < retry.BaseDelay)
        {
            errors.Add($"Retry:MaxDelay ({retry.MaxDelay}) must be at least Retry:BaseDelay ({retry.BaseDelay}).");
        }

        HealthOptions health = options.Health;
        CheckRange("Health:FailureThreshold", health.FailureThreshold, 1, 1000, errors);
        CheckBetween("Health:BreakDuration", health.BreakDuration, TimeSpan.FromMilliseconds(1), MaxDuration, errors);
        if (health.MaxBreakDuration < health.BreakDuration || health.MaxBreakDuration > MaxDuration)
        {
            errors.Add($"Health:MaxBreakDuration ({health.MaxBreakDuration}) must be at least Health:BreakDuration ({health.BreakDuration}) and at most {MaxDuration}.");
        }

        CheckFraction("Health:BreakJitter", health.BreakJitter, 0, 0.9, errors);
        CheckRange("Health:DegradedAfterSlowRequests", health.DegradedAfterSlowRequests, 1, 1000, errors);
        CheckRange("Health:RecoverAfterFastRequests", health.RecoverAfterFastRequests, 1, 1000, errors);
        CheckFraction("Health:CanaryShare", health.CanaryShare, 0, 1, errors);
        CheckNotNegative("Health:SlowStartDuration", health.SlowStartDuration, errors);
        CheckNotNegative("Health:AllOpenMaxWait", health.AllOpenMaxWait, errors);
        if (health.ProbeTimeout is { } probeTimeout)
        {
            CheckBetween("Health:ProbeTimeout", probeTimeout, TimeSpan.FromMilliseconds(1), MaxDuration, errors);
        }
        CheckNotNegative("Health:AuthFailureCooldown", health.AuthFailureCooldown, errors);
        CheckNotNegative("Health:DefaultRateLimitCooldown", health.DefaultRateLimitCooldown, errors);
        CheckNotNegative("Health:MaxRateLimitCooldown", health.MaxRateLimitCooldown, errors);
        if (health.MaxRateLimitCooldown < health.DefaultRateLimitCooldown)
        {
            errors.Add($"Health:MaxRateLimitCooldown ({health.MaxRateLimitCooldown}) must be at least Health:DefaultRateLimitCooldown ({health.DefaultRateLimitCooldown}).");
        }
    }

    private static void ValidateLearning(LlmRouterOptions options, List<string> errors)
    {
        MetricsOptions metrics = options.Metrics;
        CheckRange("Metrics:Capacity", metrics.Capacity, 16, 1 << 20, errors);
        CheckBetween("Metrics:Window", metrics.Window, TimeSpan.FromSeconds(1), MaxDuration, errors);
        CheckBetween("Metrics:SuccessHalfLife", metrics.SuccessHalfLife, TimeSpan.FromSeconds(1), MaxDuration, errors);
        CheckBetween("Metrics:SnapshotInterval", metrics.SnapshotInterval, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10), errors);

        ScoringOptions scoring = options.Scoring;
        CheckFraction("Scoring:LatencyWeight", scoring.LatencyWeight, 0, 1000, errors);
        CheckFraction("Scoring:CostWeight", scoring.CostWeight, 0, 1000, errors);
        CheckFraction("Scoring:SuccessWeight", scoring.SuccessWeight, 0, 1000, errors);
        CheckFraction("Scoring:CustomWeight", scoring.CustomWeight, 0, 1000, errors);
        if (scoring.LatencyWeight + scoring.CostWeight + scoring.SuccessWeight + scoring.CustomWeight <= 0)
        {
            errors.Add("Scoring weights (LatencyWeight, CostWeight, SuccessWeight, CustomWeight) are all 0; give at least one a positive value.");
        }

        CheckFraction("Scoring:LatencySensitivity", scoring.LatencySensitivity, 0.1, 10, errors);
        CheckFraction("Scoring:ExplorationShare", scoring.ExplorationShare, 0, 0.5, errors);
        CheckRange("Scoring:MinSamples", scoring.MinSamples, 1, 1000, errors);
        CheckRange("Scoring:AssumedOutputTokens", scoring.AssumedOutputTokens, 1, 1_000_000, errors);
    }

    private static void ValidateStreamingAndHedging(LlmRouterOptions options, List<string> errors)
    {
        RetryOptions retry = options.Retry;
        CheckFraction("Retry:BudgetRatio", retry.BudgetRatio, 0, 10, errors);
        CheckFraction("Retry:BudgetMinPerSecond", retry.BudgetMinPerSecond, 0, 10_000, errors);
        CheckBetween("Retry:BudgetWindow", retry.BudgetWindow, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10), errors);

        StreamingOptions streaming = options.Streaming;
        if (streaming.FirstTokenTimeout is { } firstToken)
        {
            CheckTimeout("Streaming:FirstTokenTimeout", firstToken, errors, allowInfinite: false);
        }

        CheckFraction("Streaming:FirstTokenTimeoutMultiplier", streaming.FirstTokenTimeoutMultiplier, 1, 100, errors);
        CheckTimeout("Streaming:MinFirstTokenTimeout", streaming.MinFirstTokenTimeout, errors, allowInfinite: false);
        CheckTimeout("Streaming:MaxFirstTokenTimeout", streaming.MaxFirstTokenTimeout, errors, allowInfinite: false);
        if (streaming.MaxFirstTokenTimeout < streaming.MinFirstTokenTimeout)
        {
            errors.Add($"Streaming:MaxFirstTokenTimeout ({streaming.MaxFirstTokenTimeout}) must be at least Streaming:MinFirstTokenTimeout ({streaming.MinFirstTokenTimeout}).");
        }

        CheckTimeout("Streaming:StallTimeout", streaming.StallTimeout, errors);
        if (!Enum.IsDefined(streaming.MidStreamPolicy))
        {
            errors.Add($"Streaming:MidStreamPolicy '{streaming.MidStreamPolicy}' is not a MidStreamPolicy; use one of: {string.Join(", ", Enum.GetNames<MidStreamPolicy>())}.");
        }

        if (string.IsNullOrWhiteSpace(streaming.ContinuationPrompt))
        {
            errors.Add("Streaming:ContinuationPrompt must not be empty: the continuing endpoint needs the instruction.");
        }

        HedgingOptions hedging = options.Hedging;
        CheckRange("Hedging:MaxHedges", hedging.MaxHedges, 1, 5, errors);
        if (hedging.Delay is { } delay)
        {
            CheckBetween("Hedging:Delay", delay, TimeSpan.Zero, MaxDuration, errors);
        }

        CheckTimeout("Hedging:MinDelay", hedging.MinDelay, errors, allowInfinite: false);
        CheckTimeout("Hedging:MaxDelay", hedging.MaxDelay, errors, allowInfinite: false);
        if (hedging.MaxDelay < hedging.MinDelay)
        {
            errors.Add($"Hedging:MaxDelay ({hedging.MaxDelay}) must be at least Hedging:MinDelay ({hedging.MinDelay}).");
        }
    }

    private void ValidateCache(CacheOptions cache, List<string> errors)
    {
        CheckBetween("Cache:TimeToLive", cache.TimeToLive, TimeSpan.FromTicks(1), MaxCacheTimeToLive, errors);
        if (cache.SizeLimitBytes is < 1024 or > 64L * 1024 * 1024 * 1024)
        {
            errors.Add($"Cache:SizeLimitBytes must be between 1024 and {64L * 1024 * 1024 * 1024} (was {cache.SizeLimitBytes}).");
        }

        CheckBetween("Cache:DistributedTimeout", cache.DistributedTimeout, TimeSpan.FromTicks(1), TimeSpan.FromMinutes(1), errors);
        CheckBetween("Cache:DistributedRetryInterval", cache.DistributedRetryInterval, TimeSpan.Zero, TimeSpan.FromHours(1), errors);
        if (string.IsNullOrWhiteSpace(cache.KeyPrefix))
        {
            errors.Add("Cache:KeyPrefix must not be empty: it keeps this application's entries apart in a shared distributed cache.");
        }

        if (cache.UseDistributedCache && _isService?.IsService(typeof(IDistributedCache)) == false)
        {
            errors.Add(
                "Cache:UseDistributedCache is true but no IDistributedCache is registered. Register one (for example " +
                "AddStackExchangeRedisCache(...) from Microsoft.Extensions.Caching.StackExchangeRedis) or set it to false.");
        }
    }

    private static void CheckRange(string field, int value, int min, int max, List<string> errors)
    {
        if (value < min || value > max)
        {
            errors.Add($"{field} must be between {min} and {max} (was {value}).");
        }
    }

    private static void CheckFraction(string field, double value, double min, double max, List<string> errors)
    {
        if (!double.IsFinite(value) || value < min || value > max)
        {
            errors.Add($"{field} must be a number between {min} and {max} (was {value}).");
        }
    }

    private static void CheckBetween(string field, TimeSpan value, TimeSpan min, TimeSpan max, List<string> errors)
    {
        if (value < min || value > max)
        {
            errors.Add($"{field} must be between {min} and {max} (was {value}).");
        }
    }

    private void ValidateRegistrations(List<string> errors)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var reported = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (EndpointRegistration registration in _registrations)
        {
            if (!seen.Add(registration.Name) && reported.Add(registration.Name))
            {
                errors.Add($"Endpoint '{registration.Name}' is added more than once; endpoint names must be unique (ignoring case).");
            }

            if (registration.ServiceKey is { } key && _keyedServices?.IsKeyedService(typeof(IChatClient), key) == false)
            {
                errors.Add(
                    $"Endpoint '{registration.Name}' wraps the keyed IChatClient '{key}', but none is registered with that key. " +
                    "Register it (for example with AddKeyedChatClient) before the router is resolved.");
            }
        }
    }

    private static void ValidateEndpoint(string name, EndpointOptions endpoint, List<string> errors)
    {
        if (!double.IsFinite(endpoint.Weight) || endpoint.Weight < 0)
        {
            errors.Add($"Endpoint '{name}': Weight must be a finite number of at least 0 (was {endpoint.Weight}).");
        }

        if (endpoint.InputCostPerMillionTokens < 0)
        {
            errors.Add($"Endpoint '{name}': InputCostPerMillionTokens must not be negative (was {endpoint.InputCostPerMillionTokens}).");
        }

        if (endpoint.OutputCostPerMillionTokens < 0)
        {
            errors.Add($"Endpoint '{name}': OutputCostPerMillionTokens must not be negative (was {endpoint.OutputCostPerMillionTokens}).");
        }

        if (endpoint.AttemptTimeout is { } timeout)
        {
            CheckTimeout($"Endpoint '{name}': AttemptTimeout", timeout, errors);
        }

        if (endpoint.ContextWindowTokens is <= 0)
        {
            errors.Add($"Endpoint '{name}': ContextWindowTokens must be positive when set (was {endpoint.ContextWindowTokens}).");
        }

        if (endpoint.Group is { } group && string.IsNullOrWhiteSpace(group))
        {
            errors.Add($"Endpoint '{name}': Group must not be empty or white space; leave it unset for no group.");
        }
    }

    private bool HasRegistration(string name)
    {
        foreach (EndpointRegistration registration in _registrations)
        {
            if (string.Equals(registration.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static void CheckTimeout(string field, TimeSpan value, List<string> errors, bool allowInfinite = true)
    {
        if (allowInfinite && value == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        if (value <= TimeSpan.Zero || value > MaxDuration)
        {
            errors.Add($"{field} must be positive and at most {MaxDuration} (was {value}); use Infinite for no timeout.");
        }
    }

    private static void CheckNotNegative(string field, TimeSpan value, List<string> errors)
    {
        if (value < TimeSpan.Zero || value > MaxDuration)
        {
            errors.Add($"{field} must be between 0 and {MaxDuration} (was {value}).");
        }
    }
}
