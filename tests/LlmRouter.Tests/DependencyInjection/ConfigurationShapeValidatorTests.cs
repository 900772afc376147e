using System.Text;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmRouter.Tests.DependencyInjection;

/// <summary>
/// What the configuration binder silently skipped (found by ConfigurationFuzzTests) now fails at start-up, naming the
/// field and the endpoint or tenant.
/// </summary>
public sealed class ConfigurationShapeValidatorTests
{
    public static TheoryData<string, string> BadSections => new()
    {
        // A single value for a list: the tenant's residency rule was dropped, so its requests could go anywhere.
        { """ "Constraints": { "Tenants": { "acme": { "AllowedRegions": "eu" } } } """, "Constraints:Tenants 'acme': AllowedRegions must be an array, not the single value 'eu'" },
        // Inside an endpoint the binder keeps the default for a value it cannot convert: the endpoint looked free.
        { """ "Endpoints": { "openai": { "OutputCostPerMillionTokens": "abc" } } """, "Endpoint 'openai': OutputCostPerMillionTokens has the value 'abc', which is not a valid Decimal" },
        { """ "Endpoints": { "openai": { "MaxConcurrency": true } } """, "Endpoint 'openai': MaxConcurrency has the value 'True', which is not a valid Int32" },
        // null binds as false: the truncation check was turned off.
        { """ "Endpoints": { "openai": { "RequiresFinishReason": null } } """, "Endpoint 'openai': RequiresFinishReason is null" },
        { """ "Endpoints": { "openai": { "Wieght": 2 } } """, "Endpoint 'openai': Wieght is not a setting of EndpointOptions" },
        { """ "Retry": { "MaxAtempts": 3 } """, "Retry:MaxAtempts is not a setting of RetryOptions" },
        { """ "Retry": { "MaxAttempts": { "a": 1 } } """, "Retry:MaxAttempts must be a single value, not an object or an array" },
        { """ "Retry": { "MaxAttempts": [ 1, 2 ] } """, "Retry:MaxAttempts must be a single value, not an object or an array" },
        { """ "Retry": 5 """, "Retry must be a section of settings, not the single value '5'" },
        { """ "Constraints": { "Tenants": { "acme": "x" } } """, "Constraints:Tenants:acme must be a section of settings, not the single value 'x'" },
        { """ "Strategy": null """, "Strategy is null" },
        { """ "Randomizer": "0.5" """, "Randomizer cannot be set from configuration" },
    };

    [Theory]
    [MemberData(nameof(BadSections))]
    public void Resolve_MisshapenSection_FailsNamingTheField(string fragment, string expected)
    {
        string json = "{ \"LlmRouter\": { " + fragment + (fragment.Contains("\"Endpoints\"", StringComparison.Ordinal) ? string.Empty : ", \"Endpoints\": { \"openai\": {} }") + " } }";

        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => Resolve(json));

        Assert.Contains(exception.Failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Resolve_ReadmeSections_AreAccepted()
    {
        const string json = """
            {
              "LlmRouter": {
                "Strategy": "Ordered",
                "AttemptTimeout": "00:00:30",
                "Retry": { "MaxAttempts": 5, "MaxRetriesPerEndpoint": 1, "BaseDelay": "00:00:00.2", "MaxRetryAfter": "00:00:10" },
                "Health": { "AuthFailureCooldown": "00:05:00" },
                "Streaming": { "StallTimeout": "00:00:20", "MidStreamPolicy": "Continue" },
                "Hedging": { "Enabled": true, "MaxHedges": 1, "Delay": "" },
                "Constraints": { "LimitMaxWait": "00:00:10",
                                 "Tenants": { "acme-eu": { "AllowedRegions": [ "eu" ], "RequireZeroDataRetention": true, "OnlyEndpoints": [] } } },
                "Endpoints": {
                  "openai": { "Priority": 0, "InputCostPerMillionTokens": 2.5, "OutputCostPerMillionTokens": "10", "Tags": [ "fast" ] },
                  "local":  { "Priority": 1, "Group": "cheap", "ContextWindowTokens": 128000, "contextwindowtokens2": null }
                }
              }
            }
            """;

        // The second key of "local" is a typo on purpose: everything else in the section is valid.
        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => Resolve(json));
        Assert.StartsWith("Endpoint 'local': contextwindowtokens2 is not a setting of EndpointOptions", Assert.Single(exception.Failures), StringComparison.Ordinal);

        _ = Resolve(json.Replace(", \"contextwindowtokens2\": null", string.Empty, StringComparison.Ordinal));
    }

    private static RouterChatClient Resolve(string json)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("openai", new ScriptedChatClient("openai"));
        _ = services.AddKeyedChatClient("local", new ScriptedChatClient("local"));
        _ = services.AddLlmRouter(configuration.GetSection("LlmRouter"));
        using ServiceProvider provider = services.BuildServiceProvider();
        return Assert.IsType<RouterChatClient>(provider.GetRequiredService<IChatClient>());
    }
}
