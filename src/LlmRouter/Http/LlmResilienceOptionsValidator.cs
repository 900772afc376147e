using Microsoft.Extensions.Options;

namespace LlmRouter;

/// <summary>Validates <see cref="LlmResilienceOptions"/> at start-up; a message names the HTTP client and the field.</summary>
internal sealed class LlmResilienceOptionsValidator : IValidateOptions<LlmResilienceOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmResilienceOptions options)
    {
        var failures = new List<string>();
        string client = string.IsNullOrEmpty(name) ? "(default)" : name;
        if (options.AttemptTimeout <= TimeSpan.Zero && options.AttemptTimeout != Timeout.InfiniteTimeSpan)
        {
            failures.Add($"HTTP client '{client}': LlmResilienceOptions.AttemptTimeout must be positive (or infinite), but is {options.AttemptTimeout}.");
        }
        else if (options.AttemptTimeout != Timeout.InfiniteTimeSpan && options.AttemptTimeout > TimeSpan.FromDays(1))
        {
            failures.Add($"HTTP client '{client}': LlmResilienceOptions.AttemptTimeout must be at most one day, but is {options.AttemptTimeout}.");
        }

        if (options.ConnectionRetries is < 0 or > 5)
        {
            failures.Add($"HTTP client '{client}': LlmResilienceOptions.ConnectionRetries must be between 0 and 5, but is {options.ConnectionRetries}.");
        }

        if (options.ConnectionRetryDelay < TimeSpan.Zero || options.ConnectionRetryDelay > TimeSpan.FromSeconds(30))
        {
            failures.Add($"HTTP client '{client}': LlmResilienceOptions.ConnectionRetryDelay must be between 0 and 30 seconds, but is {options.ConnectionRetryDelay}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
