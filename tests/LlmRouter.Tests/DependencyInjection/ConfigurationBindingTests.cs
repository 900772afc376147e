using System.Text;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmRouter.Tests.DependencyInjection;

public sealed class ConfigurationBindingTests
{
    private const string FullSection = """
        {
          "LlmRouter": {
            "Strategy": "WeightedRandom",
            "AttemptTimeout": "00:00:30",
            "Retry": { "MaxAttempts": 3, "BaseDelay": "00:00:00.5" },
            "Health": { "AuthFailureCooldown": "00:10:00" },
            "Endpoints": {
              "openai": {
                "Weight": 3,
                "Priority": 1,
                "Group": "smart",
                "InputCostPerMillionTokens": 2.5,
                "OutputCostPerMillionTokens": 10,
                "AttemptTimeout": "00:00:20",
                "ContextWindowTokens": 128000,
                "IsContentFilterFallback": true
              },
              "local": { "Weight": 1 }
            }
          }
        }
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void AddLlmRouter_JsonSection_BindsEveryValue()
    {
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("openai", new ScriptedChatClient("openai"));
        _ = services.AddKeyedChatClient("local", new ScriptedChatClient("local"));
        _ = services.AddLlmRouter(Section(FullSection));
        using ServiceProvider provider = services.BuildServiceProvider();

        LlmRouterOptions options = provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value;

        Assert.Equal(RoutingStrategy.WeightedRandom, options.Strategy);
        Assert.Equal(TimeSpan.FromSeconds(30), options.AttemptTimeout);
        Assert.Equal(3, options.Retry.MaxAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.Retry.BaseDelay);
        Assert.Equal(TimeSpan.FromMinutes(10), options.Health.AuthFailureCooldown);
        Assert.Equal(2, options.Endpoints.Count);

        EndpointOptions openai = options.Endpoints["openai"];
        Assert.Equal(3, openai.Weight);
        Assert.Equal(1, openai.Priority);
        Assert.Equal("smart", openai.Group);
        Assert.Equal(2.5m, openai.InputCostPerMillionTokens);
        Assert.Equal(10m, openai.OutputCostPerMillionTokens);
        Assert.Equal(TimeSpan.FromSeconds(20), openai.AttemptTimeout);
        Assert.Equal(128_000, openai.ContextWindowTokens);
        Assert.True(openai.IsContentFilterFallback);

        EndpointOptions local = options.Endpoints["local"];
        Assert.Equal(1, local.Weight);
        Assert.Equal(0, local.Priority);
        Assert.Null(local.Group);
        Assert.Null(local.AttemptTimeout);
        Assert.Null(local.ContextWindowTokens);
        Assert.False(local.IsContentFilterFallback);
    }

    [Fact]
    public void AddLlmRouter_JsonSection_UnsetValuesKeepTheirDefaults()
    {
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("openai", new ScriptedChatClient("openai"));
        _ = services.AddKeyedChatClient("local", new ScriptedChatClient("local"));
        _ = services.AddLlmRouter(Section(FullSection));
        using ServiceProvider provider = services.BuildServiceProvider();

        LlmRouterOptions options = provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value;

        var defaults = new LlmRouterOptions();
        Assert.Equal(defaults.Retry.MaxRetriesPerEndpoint, options.Retry.MaxRetriesPerEndpoint);
        Assert.Equal(defaults.Retry.MaxDelay, options.Retry.MaxDelay);
        Assert.Equal(defaults.Retry.MaxRetryAfter, options.Retry.MaxRetryAfter);
        Assert.Equal(defaults.Health.DefaultRateLimitCooldown, options.Health.DefaultRateLimitCooldown);
        Assert.Equal(defaults.Health.MaxRateLimitCooldown, options.Health.MaxRateLimitCooldown);
        Assert.Null(options.Randomizer);
    }

    [Fact]
    public void AddLlmRouter_JsonSection_EndpointNamesAreCaseInsensitive()
    {
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("openai", new ScriptedChatClient("openai"));
        _ = services.AddKeyedChatClient("local", new ScriptedChatClient("local"));
        _ = services.AddLlmRouter(Section(FullSection));
        using ServiceProvider provider = services.BuildServiceProvider();

        LlmRouterOptions options = provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value;

        Assert.Same(options.Endpoints["openai"], options.Endpoints["OPENAI"]);
    }

    [Fact]
    public async Task AddLlmRouter_JsonSection_EndpointsAreServedByKeyedClientsOfTheirNames()
    {
        const string json = """
            { "LlmRouter": { "Endpoints": { "openai": { "Priority": 1 }, "local": { "Priority": 0 } } } }
            """;
        var openai = new ScriptedChatClient("openai").Answers("from openai");
        var local = new ScriptedChatClient("local").Throws(RouterFactory.Http(401));
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("openai", openai);
        _ = services.AddKeyedChatClient("local", local);
        _ = services.AddLlmRouter(Section(json));
        using ServiceProvider provider = services.BuildServiceProvider();

        ChatResponse response = await provider.GetRequiredService<IChatClient>().GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);

        Assert.Equal("from openai", response.Text);
        Assert.Equal(["local", "openai"], response.GetRoutingInfo()!.Attempts.Select(a => a.Endpoint));
        Assert.Equal(1, local.Calls);
        Assert.Equal(1, openai.Calls);
    }

    [Fact]
    public async Task AddLlmRouter_JsonSectionAndCodeEndpoint_Combine()
    {
        var openai = new ScriptedChatClient("openai").Answers("from openai");
        var local = new ScriptedChatClient("local").Answers("from local");
        var extra = new ScriptedChatClient("extra").Answers("from extra");
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("openai", openai);
        _ = services.AddKeyedChatClient("local", local);
        _ = services.AddLlmRouter(Section(FullSection))
            .AddEndpoint("extra", extra, e => e.Weight = 1_000_000)
            .Configure(o => o.Randomizer = () => 0.5);
        using ServiceProvider provider = services.BuildServiceProvider();
        RouterChatClient router = provider.GetRequiredService<RouterChatClient>();

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);

        Assert.Equal(3, router.EndpointNames.Count);
        Assert.Equal(["extra", "local", "openai"], router.EndpointNames.Order(StringComparer.Ordinal));
        Assert.Equal(3, provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value.Endpoints.Count);
        Assert.Equal("from extra", response.Text);
        Assert.Equal(0, openai.Calls + local.Calls);
    }

    [Fact]
    public async Task AddLlmRouter_ConfiguredEndpointAlsoAddedInCode_ClientFromCodeOptionsFromConfigThenCode()
    {
        var fromKey = new ScriptedChatClient("keyed").Answers("from keyed");
        var fromCode = new ScriptedChatClient("code").Answers("from code");
        var local = new ScriptedChatClient("local").Answers("from local");
        int? priorityCodeSaw = null;
        string? groupCodeSaw = null;
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("openai", fromKey);
        _ = services.AddKeyedChatClient("local", local);
        _ = services.AddLlmRouter(Section(FullSection))
            .AddEndpoint("openai", fromCode, e =>
            {
                priorityCodeSaw = e.Priority;
                groupCodeSaw = e.Group;
                e.Weight = 1_000_000;
                e.ContextWindowTokens = 200_000;
            })
            .Configure(o => o.Randomizer = () => 0.5);
        using ServiceProvider provider = services.BuildServiceProvider();
        RouterChatClient router = provider.GetRequiredService<RouterChatClient>();

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);

        // The code lambda ran after binding: it saw the configured values, and its own win.
        Assert.Equal(1, priorityCodeSaw);
        Assert.Equal("smart", groupCodeSaw);
        EndpointOptions openai = provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value.Endpoints["openai"];
        Assert.Equal(1_000_000, openai.Weight);
        Assert.Equal(200_000, openai.ContextWindowTokens);
        Assert.Equal(1, openai.Priority);
        Assert.Equal(2.5m, openai.InputCostPerMillionTokens);
        Assert.Equal(TimeSpan.FromSeconds(20), openai.AttemptTimeout);
        Assert.True(openai.IsContentFilterFallback);

        Assert.Equal(2, router.EndpointNames.Count);
        Assert.Equal("from code", response.Text);
        Assert.Equal(0, fromKey.Calls);
    }

    [Fact]
    public void AddLlmRouter_ConfiguredEndpointAddedInCode_NeedsNoKeyedClient()
    {
        const string json = """{ "LlmRouter": { "Endpoints": { "openai": { "Priority": 3 } } } }""";
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(Section(json)).AddEndpoint("OpenAI", new ScriptedChatClient("code"));
        using ServiceProvider provider = services.BuildServiceProvider();

        RouterChatClient router = provider.GetRequiredService<RouterChatClient>();

        Assert.Equal("openai", Assert.Single(router.EndpointNames), ignoreCase: true);
        Assert.Equal(3, provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value.Endpoints["openai"].Priority);
    }

    [Fact]
    public void Configure_AfterJsonSection_OverridesTheBoundValue()
    {
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("openai", new ScriptedChatClient("openai"));
        _ = services.AddKeyedChatClient("local", new ScriptedChatClient("local"));
        _ = services.AddLlmRouter(Section(FullSection)).Configure(o =>
        {
            o.AttemptTimeout = TimeSpan.FromMinutes(1);
            o.Retry.MaxAttempts = 7;
        });
        using ServiceProvider provider = services.BuildServiceProvider();

        LlmRouterOptions options = provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value;

        Assert.Equal(TimeSpan.FromMinutes(1), options.AttemptTimeout);
        Assert.Equal(7, options.Retry.MaxAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.Retry.BaseDelay);
    }

    [Fact]
    public void AddLlmRouter_CodeRegisteredBeforeJsonSection_CodeSettingsStillApplyAfterBinding()
    {
        // LlmRouterBuilder.Configure is documented to run after configuration binding, and an endpoint added in code
        // takes config first, code after. Known bug: both are plain Configure actions run in registration order, so
        // when AddLlmRouter(section) comes second the configuration silently overwrites the code. This test fails.
        const string json = """
            { "LlmRouter": { "AttemptTimeout": "00:00:30", "Endpoints": { "openai": { "Priority": 1, "Group": "smart" } } } }
            """;
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r
            .AddEndpoint("openai", new ScriptedChatClient("openai"), e => e.Priority = 5)
            .Configure(o => o.AttemptTimeout = TimeSpan.FromMinutes(1)));
        _ = services.AddLlmRouter(Section(json));
        using ServiceProvider provider = services.BuildServiceProvider();

        LlmRouterOptions options = provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value;

        Assert.Equal("smart", options.Endpoints["openai"].Group);
        Assert.Equal(5, options.Endpoints["openai"].Priority);
        Assert.Equal(TimeSpan.FromMinutes(1), options.AttemptTimeout);
    }

    [Fact]
    public void AddLlmRouter_JsonEndpointWithEmptyObject_IsAnEndpointWithDefaults()
    {
        const string json = """{ "LlmRouter": { "Endpoints": { "local": { } } } }""";
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("local", new ScriptedChatClient("local"));
        _ = services.AddLlmRouter(Section(json));
        using ServiceProvider provider = services.BuildServiceProvider();

        RouterChatClient router = provider.GetRequiredService<RouterChatClient>();

        Assert.Equal(["local"], router.EndpointNames);
        Assert.Equal(1, provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value.Endpoints["local"].Weight);
    }

    [Fact]
    public void AddLlmRouter_JsonStrategyNumberNotDefined_FailsValidationNamingStrategy()
    {
        const string json = """{ "LlmRouter": { "Strategy": "42", "Endpoints": { "local": { "Weight": 1 } } } }""";
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("local", new ScriptedChatClient("local"));
        _ = services.AddLlmRouter(Section(json));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());

        Assert.Contains("Strategy '42'", Assert.Single(exception.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public void AddLlmRouter_JsonInvalidValues_FailValidationNamingEndpointAndField()
    {
        const string json = """
            {
              "LlmRouter": {
                "AttemptTimeout": "00:00:00",
                "Retry": { "MaxDelay": "00:00:00.1", "BaseDelay": "00:00:01" },
                "Endpoints": { "openai": { "Weight": -2, "Group": " ", "InputCostPerMillionTokens": -1 } }
              }
            }
            """;
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("openai", new ScriptedChatClient("openai"));
        _ = services.AddLlmRouter(Section(json));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());

        Assert.Equal(5, exception.Failures.Count());
        Assert.Contains(exception.Failures, f => f.StartsWith("AttemptTimeout", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Retry:MaxDelay", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Endpoint 'openai': Weight", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Endpoint 'openai': Group", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Endpoint 'openai': InputCostPerMillionTokens", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HostStart_JsonSectionWithKeyedClients_StartsAndServes()
    {
        var openai = new ScriptedChatClient("openai").Answers("from openai");
        var local = new ScriptedChatClient("local").Answers("from local");
        HostApplicationBuilder builder = NewHostBuilder(FullSection);
        _ = builder.Services.AddKeyedChatClient("openai", openai);
        _ = builder.Services.AddKeyedChatClient("local", local);
        _ = builder.Services.AddLlmRouter(builder.Configuration.GetSection("LlmRouter"))
            .Configure(o => o.Randomizer = () => 0.5);
        using IHost host = builder.Build();

        await host.StartAsync(Ct);
        ChatResponse response = await host.Services.GetRequiredService<IChatClient>().GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        await host.StopAsync(Ct);

        Assert.Contains(response.Text, new[] { "from openai", "from local" });
        Assert.Equal(1, openai.Calls + local.Calls);
    }

    [Fact]
    public async Task HostStart_JsonEndpointWithoutKeyedClient_ThrowsOptionsValidationException()
    {
        var local = new ScriptedChatClient("local");
        HostApplicationBuilder builder = NewHostBuilder(FullSection);
        _ = builder.Services.AddKeyedChatClient("local", local);
        _ = builder.Services.AddLlmRouter(builder.Configuration.GetSection("LlmRouter"));
        using IHost host = builder.Build();

        OptionsValidationException exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        string failure = Assert.Single(exception.Failures);
        Assert.Contains("Endpoint 'openai' is configured but no IChatClient is registered", failure, StringComparison.Ordinal);
    }

    private static IConfigurationSection Section(string json) => Configuration(json).GetSection("LlmRouter");

    private static IConfigurationRoot Configuration(string json)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json));
        return new ConfigurationBuilder().AddJsonStream(stream).Build();
    }

    private static HostApplicationBuilder NewHostBuilder(string json)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        _ = builder.Logging.ClearProviders();
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json));
        _ = builder.Configuration.AddJsonStream(stream);
        return builder;
    }
}
