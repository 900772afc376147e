using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmRouter;

/// <summary>Validates fleet mode's options at start-up; each message names the field.</summary>
internal sealed class RedisFleetOptionsValidator(IServiceProvider services) : IValidateOptions<RedisFleetOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisFleetOptions options)
    {
        var errors = new List<string>();
        string prefix = options.KeyPrefix ?? string.Empty;
        if (prefix.Length is 0 or > 100 || !prefix.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
        {
            errors.Add("Fleet KeyPrefix must be 1 to 100 characters among letters, digits and '-', '_', '.', ':' (for example \"orders-api\"); every instance of one application uses the same prefix.");
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            if (services.GetService<IServiceProviderIsService>() is { } isService && !isService.IsService(typeof(IConnectionMultiplexer)))
            {
                errors.Add("Fleet ConnectionString is empty and no IConnectionMultiplexer is registered: set ConnectionString (for example \"redis:6379\") or register an IConnectionMultiplexer.");
            }
        }
        else
        {
            try
            {
                _ = ConfigurationOptions.Parse(options.ConnectionString);
            }
            catch (ArgumentException e)
            {
                // The parser names the bad option; the string itself may hold a password and is not repeated.
                errors.Add($"Fleet ConnectionString is not a valid StackExchange.Redis configuration: {e.Message}");
            }
        }

        Range(errors, nameof(options.PublishQueueCapacity), options.PublishQueueCapacity, 16, 1_000_000);
        Range(errors, nameof(options.PollInterval), options.PollInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));
        Range(errors, nameof(options.ProbeLockDuration), options.ProbeLockDuration, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
        Range(errors, nameof(options.ProbeLockLead), options.ProbeLockLead, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        Range(errors, nameof(options.FailureCountWindow), options.FailureCountWindow, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        Range(errors, nameof(options.BudgetSyncInterval), options.BudgetSyncInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10));
        Range(errors, nameof(options.StateGracePeriod), options.StateGracePeriod, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        if (options.FallbackShare is { } share && !(share > 0 && share <= 1))
        {
            errors.Add($"Fleet FallbackShare is {share}; it must be greater than 0 and at most 1 (or unset for one over the fleet's size).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Range<T>(List<string> errors, string field, T value, T min, T max)
        where T : IComparable<T>
    {
        if (value.CompareTo(min) < 0 || value.CompareTo(max) > 0)
        {
            errors.Add($"Fleet {field} is {value}; it must be between {min} and {max}.");
        }
    }
}
