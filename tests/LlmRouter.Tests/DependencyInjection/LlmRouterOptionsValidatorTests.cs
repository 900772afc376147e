using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmRouter.Tests.DependencyInjection;

public sealed class LlmRouterOptionsValidatorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Start-up validation with a host.

    [Fact]
    public async Task HostStart_InvalidOptions_ThrowsOptionsValidationExceptionBeforeTheRouterIsResolved()
    {
        var factoryCalls = 0;
        HostApplicationBuilder builder = NewHostBuilder();
        _ = builder.Services.AddLlmRouter(r => r.AddEndpoint(
            "a",
            _ =>
            {
                factoryCalls++;
                return new ScriptedChatClient("a");
            },
            e => e.Weight = -1));
        using IHost host = builder.Build();

        OptionsValidationException exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Equal(typeof(LlmRouterOptions), exception.OptionsType);
        string failure = Assert.Single(exception.Failures);
        Assert.Contains("Endpoint 'a'", failure, StringComparison.Ordinal);
        Assert.Contains("Weight", failure, StringComparison.Ordinal);
        Assert.Equal(0, factoryCalls);
    }

    [Fact]
    public async Task HostStart_NoEndpoints_ThrowsOptionsValidationException()
    {
        HostApplicationBuilder builder = NewHostBuilder();
        _ = builder.Services.AddLlmRouter(_ => { });
        using IHost host = builder.Build();

        OptionsValidationException exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Contains("no endpoints", Assert.Single(exception.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostStart_MissingKeyedClient_ThrowsOptionsValidationException()
    {
        HostApplicationBuilder builder = NewHostBuilder();
        _ = builder.Services.AddLlmRouter(r => r.AddKeyedEndpoint("claude"));
        using IHost host = builder.Build();

        OptionsValidationException exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        string failure = Assert.Single(exception.Failures);
        Assert.Contains("Endpoint 'claude'", failure, StringComparison.Ordinal);
        Assert.Contains("keyed IChatClient 'claude'", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostStart_ValidOptions_StartsAndTheRouterServes()
    {
        var a = new ScriptedChatClient("a").Answers("from a");
        HostApplicationBuilder builder = NewHostBuilder();
        _ = builder.Services.AddLlmRouter(r => r.AddEndpoint("a", a));
        using IHost host = builder.Build();

        await host.StartAsync(Ct);
        ChatResponse response = await host.Services.GetRequiredService<IChatClient>().GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        await host.StopAsync(Ct);

        Assert.Equal("from a", response.Text);
    }

    // Without a host: resolving the router validates.

    [Fact]
    public void Resolve_InvalidOptionsWithoutHost_ThrowsOptionsValidationExceptionForIChatClientAndRouterChatClient()
    {
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r.AddEndpoint("a", new ScriptedChatClient("a"), e => e.Weight = -1));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());
        _ = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<RouterChatClient>());

        Assert.Equal(typeof(LlmRouterOptions), exception.OptionsType);
        Assert.Contains("Endpoint 'a': Weight", Assert.Single(exception.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NoEndpoints_FailsNamingWhereToAddThem()
    {
        string failure = SingleFailure(_ => { });

        Assert.Contains("no endpoints", failure, StringComparison.Ordinal);
        Assert.Contains("AddEndpoint", failure, StringComparison.Ordinal);
        Assert.Contains("LlmRouter:Endpoints", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DuplicateEndpointName_FailsNamingTheEndpoint()
    {
        string failure = SingleFailure(r => r
            .AddEndpoint("a", new ScriptedChatClient("a1"))
            .AddEndpoint("a", new ScriptedChatClient("a2")));

        Assert.Contains("Endpoint 'a'", failure, StringComparison.Ordinal);
        Assert.Contains("more than once", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DuplicateEndpointNameDifferingByCase_FailsNamingTheEndpoint()
    {
        string failure = SingleFailure(r => r
            .AddEndpoint("openai", new ScriptedChatClient("a1"))
            .AddEndpoint("OpenAI", _ => new ScriptedChatClient("a2")));

        Assert.Contains("Endpoint 'OpenAI'", failure, StringComparison.Ordinal);
        Assert.Contains("more than once", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EndpointAddedThreeTimes_ReportedOnce()
    {
        string failure = SingleFailure(r => r
            .AddEndpoint("a", new ScriptedChatClient("a1"))
            .AddEndpoint("a", new ScriptedChatClient("a2"))
            .AddEndpoint("A", new ScriptedChatClient("a3")));

        Assert.Contains("more than once", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(-0.001)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Validate_InvalidWeight_FailsNamingEndpointAndField(double weight)
    {
        string failure = SingleFailure(r => r.AddEndpoint("a", new ScriptedChatClient("a"), e => e.Weight = weight));

        Assert.Contains("Endpoint 'a': Weight", failure, StringComparison.Ordinal);
        Assert.Contains($"(was {weight})", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NegativeInputCost_FailsNamingEndpointAndField()
    {
        string failure = SingleFailure(r => r.AddEndpoint("a", new ScriptedChatClient("a"), e => e.InputCostPerMillionTokens = -0.5m));

        Assert.Contains("Endpoint 'a': InputCostPerMillionTokens", failure, StringComparison.Ordinal);
        Assert.Contains("-0.5", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BreakDurationBelowOneMillisecond_FailsNamingTheField()
    {
        // Documented as between 1 ms and 1 day; only "positive" was checked (found by ConfigurationFuzzTests).
        string failure = SingleFailure(r => r.AddEndpoint("a", new ScriptedChatClient("a")).Configure(o => o.Health.BreakDuration = TimeSpan.FromTicks(9_999)));

        Assert.StartsWith("Health:BreakDuration must be between 00:00:00.0010000 and 1.00:00:00", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NegativeOutputCost_FailsNamingEndpointAndField()
    {
        string failure = SingleFailure(r => r.AddEndpoint("a", new ScriptedChatClient("a"), e => e.OutputCostPerMillionTokens = -2m));

        Assert.Contains("Endpoint 'a': OutputCostPerMillionTokens", failure, StringComparison.Ordinal);
        Assert.Contains("-2", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    [InlineData(-5000)]
    public void Validate_RouterAttemptTimeoutNotPositive_FailsNamingTheField(int milliseconds)
    {
        TimeSpan timeout = TimeSpan.FromMilliseconds(milliseconds);

        string failure = SingleFailure(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o => o.AttemptTimeout = timeout));

        Assert.StartsWith("AttemptTimeout must be positive", failure, StringComparison.Ordinal);
        Assert.Contains($"(was {timeout})", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    [InlineData(-5000)]
    public void Validate_EndpointAttemptTimeoutNotPositive_FailsNamingEndpointAndField(int milliseconds)
    {
        TimeSpan timeout = TimeSpan.FromMilliseconds(milliseconds);

        string failure = SingleFailure(r => r
            .AddEndpoint("ok", new ScriptedChatClient("ok"), e => e.AttemptTimeout = TimeSpan.FromSeconds(1))
            .AddEndpoint("a", new ScriptedChatClient("a"), e => e.AttemptTimeout = timeout));

        Assert.Contains("Endpoint 'a': AttemptTimeout", failure, StringComparison.Ordinal);
        Assert.Contains($"(was {timeout})", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_InfiniteAttemptTimeouts_AreAccepted()
    {
        var a = new ScriptedChatClient("a").Answers("from a");
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r
            .AddEndpoint("a", a, e => e.AttemptTimeout = Timeout.InfiniteTimeSpan)
            .Configure(o => o.AttemptTimeout = Timeout.InfiniteTimeSpan));
        using ServiceProvider provider = services.BuildServiceProvider();

        ChatResponse response = await provider.GetRequiredService<IChatClient>().GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);

        Assert.Equal("from a", response.Text);
    }

    [Theory]
    [InlineData(false, 60)]
    [InlineData(true, 60)]
    [InlineData(false, null)]
    [InlineData(true, null)]
    public void Validate_AttemptTimeoutBeyondOneDay_IsRejectedAtStartupNamingTheField(bool onEndpoint, int? days)
    {
        // Timers take at most about 49.7 days; anything above a day is a mistake, and Infinite says "no timeout".
        TimeSpan timeout = days is { } d ? TimeSpan.FromDays(d) : TimeSpan.MaxValue;
        var a = new ScriptedChatClient("a").Answers("from a");
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r
            .AddEndpoint("a", a, e => e.AttemptTimeout = onEndpoint ? timeout : null)
            .Configure(o => o.AttemptTimeout = onEndpoint ? TimeSpan.FromSeconds(100) : timeout));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());

        string failure = Assert.Single(exception.Failures);
        Assert.StartsWith(onEndpoint ? "Endpoint 'a': AttemptTimeout must be positive and at most" : "AttemptTimeout must be positive and at most", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Validate_ContextWindowTokensNotPositive_FailsNamingEndpointAndField(int tokens)
    {
        string failure = SingleFailure(r => r.AddEndpoint("a", new ScriptedChatClient("a"), e => e.ContextWindowTokens = tokens));

        Assert.Contains("Endpoint 'a': ContextWindowTokens", failure, StringComparison.Ordinal);
        Assert.Contains($"(was {tokens})", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t")]
    public void Validate_WhiteSpaceGroup_FailsNamingEndpointAndField(string group)
    {
        string failure = SingleFailure(r => r.AddEndpoint("a", new ScriptedChatClient("a"), e => e.Group = group));

        Assert.Contains("Endpoint 'a': Group", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_KeyedEndpointWithoutKeyedClient_FailsNamingEndpointAndKey()
    {
        string failure = SingleFailure(r => r.AddKeyedEndpoint("claude"));

        Assert.Contains("Endpoint 'claude'", failure, StringComparison.Ordinal);
        Assert.Contains("keyed IChatClient 'claude'", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_KeyedEndpointWithServiceKeyWithoutKeyedClient_FailsNamingEndpointAndKey()
    {
        // A client under the endpoint's name does not count: the endpoint wraps "other-key".
        string failure = SingleFailure(
            r => r.AddKeyedEndpoint("x", serviceKey: "other-key"),
            services => services.AddKeyedChatClient("x", new ScriptedChatClient("x")));

        Assert.Contains("Endpoint 'x'", failure, StringComparison.Ordinal);
        Assert.Contains("keyed IChatClient 'other-key'", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_KeyedClientRegisteredAsAnotherType_FailsNamingEndpointAndKey()
    {
        string failure = SingleFailure(
            r => r.AddKeyedEndpoint("claude"),
            services => services.AddKeyedSingleton<object>("claude", new object()));

        Assert.Contains("Endpoint 'claude'", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ConfiguredEndpointWithoutKeyedClient_FailsNamingEndpointAndKey()
    {
        IConfiguration configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["LlmRouter:Endpoints:openai:Weight"] = "1" })
            .Build();
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(configuration.GetSection("LlmRouter"));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());

        string failure = Assert.Single(exception.Failures);
        Assert.Contains("Endpoint 'openai' is configured but no IChatClient is registered", failure, StringComparison.Ordinal);
        Assert.Contains("AddKeyedChatClient(\"openai\"", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EndpointWithNullSettings_FailsNamingTheEndpoint()
    {
        string failure = SingleFailure(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o => o.Endpoints["a"] = null!));

        Assert.Contains("Endpoint 'a' has no settings", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(101)]
    public void Validate_RetryMaxAttemptsOutOfRange_FailsNamingTheField(int maxAttempts)
    {
        string failure = SingleFailure(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o => o.Retry.MaxAttempts = maxAttempts));

        Assert.Contains("Retry:MaxAttempts", failure, StringComparison.Ordinal);
        Assert.Contains($"(was {maxAttempts})", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(11)]
    public void Validate_RetryMaxRetriesPerEndpointOutOfRange_FailsNamingTheField(int retries)
    {
        string failure = SingleFailure(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o => o.Retry.MaxRetriesPerEndpoint = retries));

        Assert.Contains("Retry:MaxRetriesPerEndpoint", failure, StringComparison.Ordinal);
        Assert.Contains($"(was {retries})", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RetryMaxDelayBelowBaseDelay_FailsNamingBothFields()
    {
        string failure = SingleFailure(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o =>
            {
                o.Retry.BaseDelay = TimeSpan.FromSeconds(2);
                o.Retry.MaxDelay = TimeSpan.FromSeconds(1);
            }));

        Assert.Contains("Retry:MaxDelay (00:00:01)", failure, StringComparison.Ordinal);
        Assert.Contains("Retry:BaseDelay (00:00:02)", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NegativeRetryBaseDelay_FailsNamingTheField()
    {
        string failure = SingleFailure(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o => o.Retry.BaseDelay = TimeSpan.FromMilliseconds(-100)));

        Assert.Contains("Retry:BaseDelay must be between 0 and 1.00:00:00", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NegativeRetryMaxRetryAfter_FailsNamingTheField()
    {
        string failure = SingleFailure(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o => o.Retry.MaxRetryAfter = TimeSpan.FromSeconds(-1)));

        Assert.Contains("Retry:MaxRetryAfter must be between 0 and 1.00:00:00", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_HealthMaxRateLimitCooldownBelowDefault_FailsNamingBothFields()
    {
        string failure = SingleFailure(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o =>
            {
                o.Health.DefaultRateLimitCooldown = TimeSpan.FromSeconds(30);
                o.Health.MaxRateLimitCooldown = TimeSpan.FromSeconds(10);
            }));

        Assert.Contains("Health:MaxRateLimitCooldown (00:00:10)", failure, StringComparison.Ordinal);
        Assert.Contains("Health:DefaultRateLimitCooldown (00:00:30)", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NegativeHealthCooldowns_FailNamingTheFields()
    {
        OptionsValidationException exception = Failures(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o =>
            {
                o.Health.AuthFailureCooldown = TimeSpan.FromSeconds(-1);
                o.Health.DefaultRateLimitCooldown = TimeSpan.FromSeconds(-1);
            }));

        Assert.Equal(2, exception.Failures.Count());
        Assert.Contains(exception.Failures, f => f.StartsWith("Health:AuthFailureCooldown must be between 0 and 1.00:00:00", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Health:DefaultRateLimitCooldown must be between 0 and 1.00:00:00", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_WeightedRandomWithEveryWeightZero_FailsNamingStrategyAndWeight()
    {
        string failure = SingleFailure(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"), e => e.Weight = 0)
            .AddEndpoint("b", new ScriptedChatClient("b"), e => e.Weight = 0)
            .Configure(o => o.Strategy = RoutingStrategy.WeightedRandom));

        Assert.Contains("WeightedRandom", failure, StringComparison.Ordinal);
        Assert.Contains("Weight 0", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OrderedWithEveryWeightZero_IsAccepted()
    {
        AssertValid(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"), e => e.Weight = 0)
            .AddEndpoint("b", new ScriptedChatClient("b"), e => e.Weight = 0));
    }

    [Fact]
    public void Validate_UndefinedStrategy_FailsNamingTheFieldAndTheChoices()
    {
        string failure = SingleFailure(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o => o.Strategy = (RoutingStrategy)42));

        Assert.Contains("Strategy '42'", failure, StringComparison.Ordinal);
        Assert.Contains("Ordered, WeightedRandom", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BoundaryValues_AreAccepted()
    {
        AssertValid(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"), e =>
            {
                e.Weight = 0;
                e.InputCostPerMillionTokens = 0;
                e.OutputCostPerMillionTokens = 0;
                e.ContextWindowTokens = 1;
                e.AttemptTimeout = TimeSpan.FromTicks(1);
            })
            .AddEndpoint("b", new ScriptedChatClient("b"))
            .Configure(o =>
            {
                o.Strategy = RoutingStrategy.WeightedRandom;
                o.AttemptTimeout = TimeSpan.FromTicks(1);
                o.Retry.MaxAttempts = 100;
                o.Retry.MaxRetriesPerEndpoint = 10;
                o.Retry.BaseDelay = TimeSpan.Zero;
                o.Retry.MaxDelay = TimeSpan.Zero;
                o.Retry.MaxRetryAfter = TimeSpan.Zero;
                o.Health.AuthFailureCooldown = TimeSpan.Zero;
                o.Health.DefaultRateLimitCooldown = TimeSpan.FromSeconds(3);
                o.Health.MaxRateLimitCooldown = TimeSpan.FromSeconds(3);
            }));
        AssertValid(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o =>
            {
                o.Retry.MaxAttempts = 1;
                o.Retry.MaxRetriesPerEndpoint = 0;
            }));
    }

    [Fact]
    public void Validate_SeveralErrors_AreAllReportedTogether()
    {
        OptionsValidationException exception = Failures(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"), e => e.Weight = -1)
            .AddEndpoint("b", new ScriptedChatClient("b"), e =>
            {
                e.Group = " ";
                e.ContextWindowTokens = 0;
            })
            .AddEndpoint("B", new ScriptedChatClient("B2"))
            .AddKeyedEndpoint("claude")
            .Configure(o =>
            {
                o.Retry.MaxAttempts = 0;
                o.Strategy = (RoutingStrategy)77;
            }));

        Assert.Equal(7, exception.Failures.Count());
        Assert.Contains(exception.Failures, f => f.Contains("Endpoint 'a': Weight", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.Contains("Endpoint 'b': Group", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.Contains("Endpoint 'b': ContextWindowTokens", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.Contains("Endpoint 'B' is added more than once", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.Contains("keyed IChatClient 'claude'", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.Contains("Retry:MaxAttempts", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.Contains("Strategy '77'", StringComparison.Ordinal));
        foreach (string failure in exception.Failures)
        {
            Assert.Contains(failure, exception.Message, StringComparison.Ordinal);
        }
    }

    private static HostApplicationBuilder NewHostBuilder()
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        _ = builder.Logging.ClearProviders();
        return builder;
    }

    private static OptionsValidationException Failures(Action<LlmRouterBuilder> configure, Action<IServiceCollection>? register = null)
    {
        var services = new ServiceCollection();
        register?.Invoke(services);
        _ = services.AddLlmRouter(configure);
        using ServiceProvider provider = services.BuildServiceProvider();
        return Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());
    }

    private static string SingleFailure(Action<LlmRouterBuilder> configure, Action<IServiceCollection>? register = null) =>
        Assert.Single(Failures(configure, register).Failures);

    private static void AssertValid(Action<LlmRouterBuilder> configure)
    {
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(configure);
        using ServiceProvider provider = services.BuildServiceProvider();
        _ = Assert.IsType<RouterChatClient>(provider.GetRequiredService<IChatClient>());
    }
}
