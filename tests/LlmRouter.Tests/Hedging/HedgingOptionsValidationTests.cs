using System.Text;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmRouter.Tests.Hedging;

/// <summary>Start-up validation and configuration binding of the hedging, retry-budget and streaming settings.</summary>
public sealed class HedgingOptionsValidationTests
{
    private static readonly Dictionary<string, (Action<LlmRouterOptions> Configure, string Expected)> Cases = new()
    {
        ["MaxHedges0"] = (o => o.Hedging.MaxHedges = 0, "Hedging:MaxHedges must be between 1 and 5 (was 0)"),
        ["MaxHedges6"] = (o => o.Hedging.MaxHedges = 6, "Hedging:MaxHedges must be between 1 and 5 (was 6)"),
        ["MinDelayAboveMaxDelay"] = (
            o =>
            {
                o.Hedging.MinDelay = TimeSpan.FromSeconds(5);
                o.Hedging.MaxDelay = TimeSpan.FromSeconds(1);
            },
            "Hedging:MaxDelay (00:00:01) must be at least Hedging:MinDelay (00:00:05)"),
        ["NegativeDelay"] = (o => o.Hedging.Delay = TimeSpan.FromMilliseconds(-1), "Hedging:Delay must be between"),
        ["ZeroMinDelay"] = (o => o.Hedging.MinDelay = TimeSpan.Zero, "Hedging:MinDelay must be positive"),
        ["BudgetRatioNegative"] = (o => o.Retry.BudgetRatio = -1, "Retry:BudgetRatio must be a number between 0 and 10 (was -1)"),
        ["BudgetRatioNaN"] = (o => o.Retry.BudgetRatio = double.NaN, "Retry:BudgetRatio must be a number between 0 and 10 (was NaN)"),
        ["BudgetRatioInfinite"] = (o => o.Retry.BudgetRatio = double.PositiveInfinity, "Retry:BudgetRatio must be a number"),
        ["BudgetMinPerSecondNegative"] = (o => o.Retry.BudgetMinPerSecond = -0.5, "Retry:BudgetMinPerSecond must be a number between 0 and 10000"),
        ["BudgetWindow0"] = (o => o.Retry.BudgetWindow = TimeSpan.Zero, "Retry:BudgetWindow must be between 00:00:01 and 00:10:00 (was 00:00:00)"),
        ["BudgetWindowAboveTenMinutes"] = (o => o.Retry.BudgetWindow = TimeSpan.FromMinutes(11), "Retry:BudgetWindow must be between"),
        ["StallTimeout0"] = (o => o.Streaming.StallTimeout = TimeSpan.Zero, "Streaming:StallTimeout must be positive"),
        ["FirstTokenTimeout0"] = (o => o.Streaming.FirstTokenTimeout = TimeSpan.Zero, "Streaming:FirstTokenTimeout must be positive"),
        ["Multiplier0.5"] = (o => o.Streaming.FirstTokenTimeoutMultiplier = 0.5, "Streaming:FirstTokenTimeoutMultiplier must be a number between 1 and 100 (was 0.5)"),
        ["MinFirstTokenAboveMax"] = (
            o =>
            {
                o.Streaming.MinFirstTokenTimeout = TimeSpan.FromSeconds(90);
                o.Streaming.MaxFirstTokenTimeout = TimeSpan.FromSeconds(60);
            },
            "Streaming:MaxFirstTokenTimeout (00:01:00) must be at least Streaming:MinFirstTokenTimeout (00:01:30)"),
        ["EmptyContinuationPrompt"] = (o => o.Streaming.ContinuationPrompt = "", "Streaming:ContinuationPrompt must not be empty"),
        ["WhiteSpaceContinuationPrompt"] = (o => o.Streaming.ContinuationPrompt = "  ", "Streaming:ContinuationPrompt must not be empty"),
        ["UndefinedMidStreamPolicy"] = (o => o.Streaming.MidStreamPolicy = (MidStreamPolicy)42, "Streaming:MidStreamPolicy '42' is not a MidStreamPolicy; use one of: Throw, Continue"),
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task HostStart_InvalidValue_FailsNamingTheField(string name)
    {
        (Action<LlmRouterOptions> configure, string expected) = Cases[name];
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        _ = builder.Logging.ClearProviders();
        _ = builder.Services.AddLlmRouter(r => r.AddEndpoint("a", new ScriptedChatClient("a")).Configure(configure));
        using IHost host = builder.Build();

        OptionsValidationException exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Equal(typeof(LlmRouterOptions), exception.OptionsType);
        Assert.StartsWith(expected, Assert.Single(exception.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BoundaryValues_AreAccepted()
    {
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o =>
            {
                o.Hedging.Enabled = true;
                o.Hedging.MaxHedges = 5;
                o.Hedging.Delay = TimeSpan.Zero;
                o.Hedging.MinDelay = TimeSpan.FromSeconds(1);
                o.Hedging.MaxDelay = TimeSpan.FromSeconds(1);
                o.Retry.BudgetRatio = 0;
                o.Retry.BudgetMinPerSecond = 0;
                o.Retry.BudgetWindow = TimeSpan.FromMinutes(10);
                o.Streaming.StallTimeout = Timeout.InfiniteTimeSpan;
                o.Streaming.FirstTokenTimeoutMultiplier = 1;
                o.Streaming.MidStreamPolicy = MidStreamPolicy.Continue;
            }));
        using ServiceProvider provider = services.BuildServiceProvider();

        _ = Assert.IsType<RouterChatClient>(provider.GetRequiredService<IChatClient>());
    }

    [Fact]
    public void Bind_JsonSection_BindsTheNewSections()
    {
        const string json = """
            {
              "LlmRouter": {
                "Hedging": { "Enabled": true, "MaxHedges": 2, "Delay": "00:00:00.250", "MinDelay": "00:00:00.050", "MaxDelay": "00:00:03" },
                "Retry": { "BudgetRatio": 0.2, "BudgetMinPerSecond": 3, "BudgetWindow": "00:00:30" },
                "Streaming": {
                  "FirstTokenTimeout": "00:00:07", "FirstTokenTimeoutMultiplier": 3, "MinFirstTokenTimeout": "00:00:02",
                  "MaxFirstTokenTimeout": "00:00:40", "StallTimeout": "00:00:15", "MidStreamPolicy": "Continue",
                  "ContinuationPrompt": "Go on."
                },
                "Endpoints": { "local": { "Weight": 1 } }
              }
            }
            """;
        LlmRouterOptions options = Resolve(new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build());

        Assert.True(options.Hedging.Enabled);
        Assert.Equal(2, options.Hedging.MaxHedges);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.Hedging.Delay);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.Hedging.MinDelay);
        Assert.Equal(TimeSpan.FromSeconds(3), options.Hedging.MaxDelay);
        Assert.Equal(0.2, options.Retry.BudgetRatio);
        Assert.Equal(3, options.Retry.BudgetMinPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Retry.BudgetWindow);
        Assert.Equal(TimeSpan.FromSeconds(7), options.Streaming.FirstTokenTimeout);
        Assert.Equal(3, options.Streaming.FirstTokenTimeoutMultiplier);
        Assert.Equal(TimeSpan.FromSeconds(2), options.Streaming.MinFirstTokenTimeout);
        Assert.Equal(TimeSpan.FromSeconds(40), options.Streaming.MaxFirstTokenTimeout);
        Assert.Equal(TimeSpan.FromSeconds(15), options.Streaming.StallTimeout);
        Assert.Equal(MidStreamPolicy.Continue, options.Streaming.MidStreamPolicy);
        Assert.Equal("Go on.", options.Streaming.ContinuationPrompt);
    }

    [Fact]
    public void Bind_UnsetNewSections_KeepTheirDefaults()
    {
        LlmRouterOptions options = Resolve(InMemory(new() { ["LlmRouter:Endpoints:local:Weight"] = "1" }));

        Assert.False(options.Hedging.Enabled);
        Assert.Equal(1, options.Hedging.MaxHedges);
        Assert.Null(options.Hedging.Delay);
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.Hedging.MinDelay);
        Assert.Equal(TimeSpan.FromSeconds(10), options.Hedging.MaxDelay);
        Assert.Equal(0.1, options.Retry.BudgetRatio);
        Assert.Equal(1, options.Retry.BudgetMinPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(10), options.Retry.BudgetWindow);
        Assert.Equal(MidStreamPolicy.Throw, options.Streaming.MidStreamPolicy);
    }

    [Fact]
    public void Bind_InMemoryInvalidValues_FailNamingEachField()
    {
        IConfiguration configuration = InMemory(new()
        {
            ["LlmRouter:Endpoints:local:Weight"] = "1",
            ["LlmRouter:Hedging:MaxHedges"] = "9",
            ["LlmRouter:Retry:BudgetRatio"] = "-1",
            ["LlmRouter:Retry:BudgetWindow"] = "00:00:00",
            ["LlmRouter:Streaming:MidStreamPolicy"] = "7",
            ["LlmRouter:Streaming:ContinuationPrompt"] = "",
        });
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("local", new ScriptedChatClient("local"));
        _ = services.AddLlmRouter(configuration.GetSection("LlmRouter"));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());

        Assert.Contains(exception.Failures, f => f.StartsWith("Hedging:MaxHedges", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Retry:BudgetRatio", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Retry:BudgetWindow", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Streaming:MidStreamPolicy '7'", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Streaming:ContinuationPrompt", StringComparison.Ordinal));
        Assert.Equal(5, exception.Failures.Count());
    }

    private static IConfigurationRoot InMemory(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private static LlmRouterOptions Resolve(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("local", new ScriptedChatClient("local"));
        _ = services.AddLlmRouter(configuration.GetSection("LlmRouter"));
        using ServiceProvider provider = services.BuildServiceProvider();
        LlmRouterOptions options = provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value;
        _ = Assert.IsType<RouterChatClient>(provider.GetRequiredService<IChatClient>()); // and it validates
        return options;
    }
}
