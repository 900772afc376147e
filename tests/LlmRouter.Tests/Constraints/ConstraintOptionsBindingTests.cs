using System.Text;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmRouter.Tests.Constraints;

/// <summary>Every constraint setting binds from JSON, and an invalid one fails at start-up with a message naming the field.</summary>
public sealed class ConstraintOptionsBindingTests
{
    private const string Json = """
        {
          "LlmRouter": {
            "Constraints": {
              "Tenants": {
                "acme-eu": {
                  "AllowedRegions": [ "eu" ],
                  "OnlyEndpoints": [ "mistral", "azure-eu" ],
                  "IgnoreEndpoints": [ "azure-eu" ],
                  "RequireZeroDataRetention": true,
                  "RequireNoTraining": true,
                  "MaxInputCostPerMillionTokens": 3,
                  "MaxOutputCostPerMillionTokens": 12,
                  "MaxRequestCost": 0.05,
                  "Sort": "Latency",
                  "NoFallbacks": true
                }
              }
            },
            "Endpoints": {
              "mistral": {
                "Provider": "mistral",
                "Model": "mistral-large",
                "Region": "eu-west",
                "Tags": [ "fast", "eu" ],
                "SupportsToolCalling": false,
                "SupportsImageInput": false,
                "SupportsJsonSchema": false,
                "ContextWindowTokens": 128000,
                "MaxOutputTokens": 4096,
                "ZeroDataRetention": true,
                "NoTraining": true,
                "InputCostPerMillionTokens": 2,
                "CachedInputCostPerMillionTokens": 0.5,
                "OutputCostPerMillionTokens": 6
              }
            }
          }
        }
        """;

    [Fact]
    public void AddLlmRouter_JsonSection_BindsEveryConstraintSetting()
    {
        LlmRouterOptions options = Bind(Json).GetRequiredService<IOptions<LlmRouterOptions>>().Value;

        EndpointOptions endpoint = options.Endpoints["mistral"];
        Assert.Equal("mistral", endpoint.Provider);
        Assert.Equal("mistral-large", endpoint.Model);
        Assert.Equal("eu-west", endpoint.Region);
        Assert.Equal(["fast", "eu"], endpoint.Tags);
        Assert.False(endpoint.SupportsToolCalling);
        Assert.False(endpoint.SupportsImageInput);
        Assert.False(endpoint.SupportsJsonSchema);
        Assert.Equal(4096, endpoint.MaxOutputTokens);
        Assert.True(endpoint.ZeroDataRetention);
        Assert.True(endpoint.NoTraining);
        Assert.Equal(0.5m, endpoint.CachedInputCostPerMillionTokens);

        TenantOptions tenant = options.Constraints.Tenants["ACME-EU"];
        Assert.Equal(["eu"], tenant.AllowedRegions);
        Assert.Equal(["mistral", "azure-eu"], tenant.OnlyEndpoints);
        Assert.Equal(["azure-eu"], tenant.IgnoreEndpoints);
        Assert.True(tenant.RequireZeroDataRetention);
        Assert.True(tenant.RequireNoTraining);
        Assert.Equal(3m, tenant.MaxInputCostPerMillionTokens);
        Assert.Equal(12m, tenant.MaxOutputCostPerMillionTokens);
        Assert.Equal(0.05m, tenant.MaxRequestCost);
        Assert.Equal(RoutingSort.Latency, tenant.Sort);
        Assert.True(tenant.NoFallbacks);
    }

    [Fact]
    public void AddLlmRouter_JsonSection_UnsetConstraintsKeepPermissiveDefaults()
    {
        LlmRouterOptions options = Bind("""{ "LlmRouter": { "Endpoints": { "mistral": { "Weight": 1 } } } }""").GetRequiredService<IOptions<LlmRouterOptions>>().Value;

        EndpointOptions endpoint = options.Endpoints["mistral"];
        Assert.Null(endpoint.Region);
        Assert.True(endpoint.SupportsToolCalling && endpoint.SupportsImageInput && endpoint.SupportsJsonSchema);
        Assert.False(endpoint.ZeroDataRetention);
        Assert.Null(endpoint.CachedInputCostPerMillionTokens);
        Assert.Empty(options.Constraints.Tenants);
    }

    [Theory]
    [InlineData("""{ "Region": " " }""", "Endpoint 'mistral': Region")]
    [InlineData("""{ "CachedInputCostPerMillionTokens": -1 }""", "Endpoint 'mistral': CachedInputCostPerMillionTokens must not be negative")]
    [InlineData("""{ "MaxOutputTokens": 0 }""", "Endpoint 'mistral': MaxOutputTokens must be positive")]
    public void InvalidEndpointConstraint_FailsAtStartUpNamingEndpointAndField(string endpoint, string expected) =>
        AssertFails($$"""{ "LlmRouter": { "Endpoints": { "mistral": {{endpoint}} } } }""", expected);

    [Theory]
    [InlineData("""{ "AllowedRegions": [ "" ] }""", "Constraints:Tenants 'acme': AllowedRegions must not hold an empty entry")]
    [InlineData("""{ "OnlyEndpoints": [ " " ] }""", "Constraints:Tenants 'acme': OnlyEndpoints")]
    [InlineData("""{ "MaxInputCostPerMillionTokens": -1 }""", "Constraints:Tenants 'acme': MaxInputCostPerMillionTokens must not be negative")]
    [InlineData("""{ "MaxOutputCostPerMillionTokens": -1 }""", "Constraints:Tenants 'acme': MaxOutputCostPerMillionTokens")]
    [InlineData("""{ "MaxRequestCost": -0.1 }""", "Constraints:Tenants 'acme': MaxRequestCost")]
    public void InvalidTenant_FailsAtStartUpNamingTenantAndField(string tenant, string expected) =>
        AssertFails($$"""{ "LlmRouter": { "Constraints": { "Tenants": { "acme": {{tenant}} } }, "Endpoints": { "mistral": { "Weight": 1 } } } }""", expected);

    [Fact]
    public void InvalidTenantSort_FailsAtStartUp()
    {
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("a", new ScriptedChatClient("a"));
        _ = services.AddLlmRouter(r => r.AddKeyedEndpoint("a").Configure(o => o.Constraints.Tenants["t"] = new TenantOptions { Sort = (RoutingSort)42 }));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());
        Assert.Contains("Constraints:Tenants 't': Sort '42' is not a RoutingSort", Assert.Single(exception.Failures), StringComparison.Ordinal);
    }

    private static void AssertFails(string json, string expected)
    {
        using ServiceProvider provider = Bind(json);
        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());
        Assert.Contains(exception.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    private static ServiceProvider Bind(string json)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("mistral", new ScriptedChatClient("mistral"));
        _ = services.AddLlmRouter(configuration.GetSection("LlmRouter"));
        return services.BuildServiceProvider();
    }
}
