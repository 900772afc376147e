using System.Diagnostics.Metrics;
using System.Text;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.Constraints;

/// <summary>
/// Spending caps per tenant and per endpoint: counted from reported usage × prices, refused before any upstream call,
/// soft threshold favouring cheaper endpoints, UTC calendar periods.
/// </summary>
public sealed class BudgetTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10); // a hang guard in real time, never a wait

    /// <summary>One request at 0.3/M input tokens with 1M input tokens reported: costs exactly 0.3.</summary>
    private static readonly UsageDetails MillionInput = new() { InputTokenCount = 1_000_000, OutputTokenCount = 0, TotalTokenCount = 1_000_000 };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 10, 15, 30, 0, TimeSpan.Zero));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ChatOptions Tenant(string tenant) => new ChatOptions().WithRouting(r => r.Tenant = tenant);

    [Fact]
    public async Task TenantHardCap_Spent_RejectsBeforeAnyUpstreamCall_NamingTenantPeriodSpentAndCap()
    {
        var a = new SwitchableChatClient("a") { Usage = MillionInput };
        using RouterChatClient router = Create(
            o => o.Constraints.Tenants["acme"] = new TenantOptions { Budget = new BudgetOptions { PerDay = 1m } },
            (a, e => e.InputCostPerMillionTokens = 0.3m));

        for (int i = 0; i < 4; i++)
        {
            _ = await router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct); // 0.3 each: 1.2 after the fourth
        }

        BudgetExceededException exception = await Assert.ThrowsAsync<BudgetExceededException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), Tenant("ACME"), Ct));
        BudgetExceededException streamed = await Assert.ThrowsAsync<BudgetExceededException>(async () =>
        {
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct))
            {
                Assert.Fail($"no update expected, got '{update.Text}'");
            }
        });

        Assert.Equal(4, a.Calls); // neither refused request reached the endpoint
        Assert.Equal("acme", exception.Tenant);
        Assert.Equal(BudgetPeriod.Day, exception.Period);
        Assert.Equal(1.2m, exception.Spent);
        Assert.Equal(1m, exception.Cap);
        Assert.Equal(new DateTimeOffset(2026, 3, 11, 0, 0, 0, TimeSpan.Zero), exception.ResetsAt);
        Assert.Contains("Tenant 'acme' spent 1.2 of its day cap 1", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Constraints:Tenants:acme:Budget:PerDay", exception.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<LlmRouterException>(exception);
        Assert.Equal(BudgetPeriod.Day, streamed.Period);

        // Other tenants and untagged requests are not governed by acme's cap.
        _ = await router.GetResponseAsync(RouterFactory.Hello(), Tenant("other"), Ct);
        _ = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        Assert.Equal(6, a.Calls);
    }

    [Fact]
    public async Task TenantCapZero_RefusesEveryRequest_BeforeAnyCall()
    {
        var a = new SwitchableChatClient("a");
        using RouterChatClient router = Create(
            o => o.Constraints.Tenants["frozen"] = new TenantOptions { Budget = new BudgetOptions { PerMonth = 0m } },
            (a, _ => { }));

        BudgetExceededException exception = await Assert.ThrowsAsync<BudgetExceededException>(() => router.GetResponseAsync(RouterFactory.Hello(), Tenant("frozen"), Ct));

        Assert.Equal((BudgetPeriod.Month, 0m, 0m), (exception.Period, exception.Spent, exception.Cap));
        Assert.Equal(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero), exception.ResetsAt);
        Assert.Equal(0, a.Calls);
    }

    [Fact]
    public async Task EndpointCap_Spent_ExcludesItWithBudgetReason_OthersServe_AndNoneLeftNamesTheBudgets()
    {
        var a = new SwitchableChatClient("a") { Usage = MillionInput };
        var b = new SwitchableChatClient("b") { Usage = MillionInput };
        using RouterChatClient router = Create(
            o => { o.Strategy = RoutingStrategy.Ordered; o.Constraints.BudgetSoftThreshold = 1; },
            (a, e => { e.InputCostPerMillionTokens = 0.3m; e.Budget = new BudgetOptions { PerHour = 0.5m }; }),
            (b, e => { e.InputCostPerMillionTokens = 0.3m; e.Budget = new BudgetOptions { PerMonth = 0.9m }; }));

        RoutingInfo[] infos = new RoutingInfo[5];
        for (int i = 0; i < infos.Length; i++)
        {
            infos[i] = (await router.GetResponseAsync(RouterFactory.Hello(), null, Ct)).GetRoutingInfo()!;
        }

        Assert.Equal(["a", "a", "b", "b", "b"], infos.Select(i => i.Endpoint));
        EndpointExclusion exclusion = Assert.Single(infos[2].Excluded);
        Assert.Equal("a", exclusion.Endpoint);
        Assert.Equal(ExclusionReason.Budget, exclusion.Reason);
        Assert.Contains("spent 0.6 of its hour cap 0.5 until 2026-03-10 16:00:00Z", exclusion.Detail, StringComparison.Ordinal);
        Assert.All(infos[2].Attempts, attempt => Assert.Equal("b", attempt.Endpoint));
        Assert.Equal(2, a.Calls);

        NoEndpointAvailableException none = await Assert.ThrowsAsync<NoEndpointAvailableException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), null, Ct));
        Assert.Contains("a excluded by Budget", none.Message, StringComparison.Ordinal);
        Assert.Contains("b excluded by Budget (spent 0.9 of its month cap 0.9", none.Message, StringComparison.Ordinal);
        Assert.Equal(5, a.Calls + b.Calls);

        // The endpoint's hour rolls over: it serves again.
        _time.SetUtcNow(new DateTimeOffset(2026, 3, 10, 16, 0, 0, TimeSpan.Zero));
        Assert.Equal("a", (await router.GetResponseAsync(RouterFactory.Hello(), null, Ct)).GetRoutingInfo()!.Endpoint);
    }

    [Fact]
    public async Task TenantSoftThreshold_Passed_ShiftsTrafficToTheCheaperEndpoint()
    {
        // Premium is fast and ten times dearer: the score prefers it until the tenant nears its cap.
        var premium = new LatencyChatClient("premium", _time, 50) { InputTokens = 10_000, OutputTokens = 0 };
        var cheap = new LatencyChatClient("cheap", _time, 400) { InputTokens = 10_000, OutputTokens = 0 };
        using RouterChatClient router = Create(
            o =>
            {
                o.Randomizer = SeededRandom.Create(11);
                o.Constraints.Tenants["acme"] = new TenantOptions { Budget = new BudgetOptions { PerDay = 10m } };
            },
            (premium, e => e.InputCostPerMillionTokens = 10m), // 0.1 a request
            (cheap, e => e.InputCostPerMillionTokens = 1m)); // 0.01 a request

        // Both measured first (untagged requests: the tenant's budget is untouched), so that the score knows premium is faster.
        _ = await SendAsync(router, 5, new ChatOptions().WithRouting(r => r.OnlyEndpoints = ["premium"]));
        _ = await SendAsync(router, 5, new ChatOptions().WithRouting(r => r.OnlyEndpoints = ["cheap"]));
        Assert.DoesNotContain(router.GetBudgets(), s => s.Spent > 0);

        List<RoutingInfo> before = await SendAsync(router, 60, Tenant("acme"));
        BudgetStatus day = Assert.Single(router.GetBudgets());
        Assert.False(day.PastSoftThreshold);
        while (!Assert.Single(router.GetBudgets()).PastSoftThreshold)
        {
            _ = await SendAsync(router, 1, Tenant("acme"));
        }

        List<RoutingInfo> after = await SendAsync(router, 60, Tenant("acme"));

        double premiumBefore = RouterDriver.FirstChoices(before, "premium") / (double)before.Count;
        double cheapAfter = RouterDriver.FirstChoices(after, "cheap") / (double)after.Count;
        Assert.True(premiumBefore >= 0.85, $"premium's share before the soft threshold: {premiumBefore:P0}");
        Assert.True(cheapAfter >= 0.95, $"cheap's share past the soft threshold: {cheapAfter:P0}");
        Assert.Contains("the tenant's budget is past its soft threshold", after[^1].Reason, StringComparison.Ordinal);

        // Requests of other tenants keep the strategy's order.
        List<RoutingInfo> untagged = await SendAsync(router, 20, null);
        Assert.True(RouterDriver.FirstChoices(untagged, "premium") >= 17, $"premium's share of untagged requests: {RouterDriver.FirstChoices(untagged, "premium")} of 20");
        Assert.All(untagged, i => Assert.DoesNotContain("budget", i.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TenantSoftThreshold_Passed_KeepsASortTheTenantSetItself()
    {
        var fast = new LatencyChatClient("fast", _time, 50) { InputTokens = 1_000_000, OutputTokens = 0 };
        var cheap = new LatencyChatClient("cheap", _time, 400) { InputTokens = 1_000_000, OutputTokens = 0 };
        using RouterChatClient router = Create(
            o => o.Constraints.Tenants["acme"] = new TenantOptions { Sort = RoutingSort.Latency, Budget = new BudgetOptions { PerDay = 1m } },
            (fast, e => e.InputCostPerMillionTokens = 0.3m),
            (cheap, e => e.InputCostPerMillionTokens = 0.01m));
        _ = await SendAsync(router, 5, new ChatOptions().WithRouting(r => r.OnlyEndpoints = ["fast"]));
        _ = await SendAsync(router, 5, new ChatOptions().WithRouting(r => r.OnlyEndpoints = ["cheap"]));

        List<RoutingInfo> infos = await SendAsync(router, 3, Tenant("acme")); // 0.9 of 1 after three: past the soft threshold

        Assert.True(Assert.Single(router.GetBudgets()).PastSoftThreshold);
        Assert.Equal("fast", (await SendAsync(router, 1, Tenant("acme")))[0].Endpoint);
        Assert.All(infos, i => Assert.Equal("fast", i.Endpoint));
    }

    [Fact]
    public async Task EndpointSoftThreshold_Passed_PlacesItBehindTheOthers()
    {
        var a = new SwitchableChatClient("a") { Usage = MillionInput };
        var b = new SwitchableChatClient("b") { Usage = MillionInput };
        using RouterChatClient router = Create(
            o => { o.Strategy = RoutingStrategy.Ordered; o.Retry.BaseDelay = TimeSpan.Zero; o.Retry.MaxDelay = TimeSpan.Zero; },
            (a, e => { e.InputCostPerMillionTokens = 0.3m; e.Budget = new BudgetOptions { PerHour = 1m }; }),
            (b, e => e.InputCostPerMillionTokens = 0.3m));

        List<RoutingInfo> infos = await SendAsync(router, 5, null); // a reaches 0.9 of 1 after three

        Assert.Equal(["a", "a", "a", "b", "b"], infos.Select(i => i.Endpoint));
        Assert.Contains("past its budget's soft threshold", infos[3].Reason, StringComparison.Ordinal);
        Assert.Empty(infos[3].Excluded); // behind, not excluded: it still serves when b fails

        b.Failing = true;
        Assert.Equal("a", (await router.GetResponseAsync(RouterFactory.Hello(), null, Ct)).GetRoutingInfo()!.Endpoint);
    }

    [Theory]
    [InlineData(BudgetPeriod.Hour, "2026-03-10T11:00:00Z")]
    [InlineData(BudgetPeriod.Day, "2026-03-11T00:00:00Z")]
    [InlineData(BudgetPeriod.Month, "2027-01-01T00:00:00Z")] // December into January: a new year
    [InlineData(BudgetPeriod.Month, "2028-03-01T00:00:00Z")] // out of a leap February
    public async Task Period_RollsOverAtTheUtcBoundary_NotBefore(BudgetPeriod period, string boundaryText)
    {
        DateTimeOffset boundary = DateTimeOffset.Parse(boundaryText, System.Globalization.CultureInfo.InvariantCulture);
        var time = new FakeTimeProvider(boundary.AddMinutes(-5));
        var a = new SwitchableChatClient("a") { Usage = MillionInput };
        var budget = new BudgetOptions();
        switch (period)
        {
            case BudgetPeriod.Hour: budget.PerHour = 0.5m; break;
            case BudgetPeriod.Day: budget.PerDay = 0.5m; break;
            default: budget.PerMonth = 0.5m; break;
        }

        using RouterChatClient router = RouterFactory.Create(
            time,
            o => o.Constraints.Tenants["acme"] = new TenantOptions { Budget = budget },
            null,
            ("a", a, e => e.InputCostPerMillionTokens = 0.3m));

        _ = await router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct);
        _ = await router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct);
        BudgetExceededException refused = await Assert.ThrowsAsync<BudgetExceededException>(() => router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct));
        Assert.Equal(period, refused.Period);
        Assert.Equal(boundary, refused.ResetsAt);

        time.SetUtcNow(boundary.AddTicks(-1));
        _ = await Assert.ThrowsAsync<BudgetExceededException>(() => router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct));

        time.SetUtcNow(boundary);
        Assert.Equal(0m, Assert.Single(router.GetBudgets()).Spent);
        _ = await router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct);

        BudgetStatus status = Assert.Single(router.GetBudgets());
        Assert.Equal(0.3m, status.Spent);
        Assert.Equal(boundary, status.PeriodStart);
        Assert.Equal(3, a.Calls);
    }

    [Fact]
    public async Task CachedInput_IsBilledAtItsOwnPrice_InTenantAndEndpointBudgets()
    {
        var cached = new SwitchableChatClient("cached")
        {
            Usage = new UsageDetails { InputTokenCount = 1_000_000, CachedInputTokenCount = 800_000, OutputTokenCount = 100_000 },
        };
        var unpriced = new SwitchableChatClient("unpriced") { Usage = cached.Usage };
        using RouterChatClient router = Create(
            o => o.Constraints.Tenants["acme"] = new TenantOptions { Budget = new BudgetOptions { PerMonth = 100m } },
            (cached, e => { e.InputCostPerMillionTokens = 2m; e.CachedInputCostPerMillionTokens = 0.5m; e.OutputCostPerMillionTokens = 10m; e.Budget = new BudgetOptions { PerMonth = 100m }; }),
            (unpriced, e => { e.InputCostPerMillionTokens = 2m; e.OutputCostPerMillionTokens = 10m; e.Budget = new BudgetOptions { PerMonth = 100m }; }));

        _ = await router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme").WithRouting(r => r.OnlyEndpoints = ["cached"]), Ct);
        _ = await router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme").WithRouting(r => r.OnlyEndpoints = ["unpriced"]), Ct);

        IReadOnlyList<BudgetStatus> budgets = router.GetBudgets();
        // 200k at 2 + 800k at 0.5 + 100k at 10 = 0.4 + 0.4 + 1 = 1.8.
        Assert.Equal(1.8m, budgets.Single(s => s is { Scope: "endpoint", Name: "cached" }).Spent);
        // No cached price: the cached tokens cost the input price, 1M at 2 + 100k at 10 = 3.
        Assert.Equal(3m, budgets.Single(s => s is { Scope: "endpoint", Name: "unpriced" }).Spent);
        Assert.Equal(4.8m, budgets.Single(s => s.Scope == "tenant").Spent);
    }

    [Fact]
    public async Task StreamedUsage_IsBilledToTenantAndEndpoint_AndCountsTowardsTheCap()
    {
        var a = new SwitchableChatClient("a") { Usage = MillionInput };
        using RouterChatClient router = Create(
            o => o.Constraints.Tenants["acme"] = new TenantOptions { Budget = new BudgetOptions { PerHour = 0.5m } },
            (a, e => { e.InputCostPerMillionTokens = 0.3m; e.Budget = new BudgetOptions { PerHour = 10m }; }));

        for (int i = 0; i < 2; i++)
        {
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct))
            {
                _ = update;
            }
        }

        Assert.All(router.GetBudgets(), s => Assert.Equal(0.6m, s.Spent));
        _ = await Assert.ThrowsAsync<BudgetExceededException>(() => router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct));
        Assert.Equal(2, a.Calls);
    }

    [Fact]
    public async Task Overshoot_IsBoundedByTheRequestsInFlight_WhenTheCapIsReached()
    {
        const int InFlight = 16;
        const decimal Cap = 1m;
        const decimal RequestCost = 0.3m; // GatedChatClient reports 10 input tokens: 10 × 30,000/M
        var gate = new GatedChatClient("a") { Holds = call => call > 3 };
        using RouterChatClient router = Create(
            o => o.Constraints.Tenants["acme"] = new TenantOptions { Budget = new BudgetOptions { PerDay = Cap } },
            (gate, e => e.InputCostPerMillionTokens = 30_000m));

        for (int i = 0; i < 3; i++)
        {
            _ = await router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct); // 0.9: just under the cap
        }

        Task<ChatResponse>[] calls = [.. Enumerable.Range(0, InFlight).Select(_ => Task.Run(() => router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct), Ct))];
        using (var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            guard.CancelAfter(Guard);
            while (gate.HeldCount < InFlight)
            {
                await Task.Delay(5, guard.Token); // real time: only until every caller passed the budget check
            }
        }

        gate.ReleaseAll();
        _ = await Task.WhenAll(calls).WaitAsync(Guard, Ct);

        decimal spent = Assert.Single(router.GetBudgets()).Spent;
        Assert.True(spent <= Cap + (InFlight * RequestCost), $"spent {spent}, more than the cap {Cap} plus {InFlight} requests in flight");
        Assert.Equal(0.9m + (InFlight * RequestCost), spent); // every request in flight finished and was billed
        _ = await Assert.ThrowsAsync<BudgetExceededException>(() => router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct));
        Assert.Equal(3 + InFlight, gate.Calls);
    }

    [Fact]
    public async Task GetBudgetsAndGauges_ReportSpentAndRemaining_PerScopeNameAndPeriod()
    {
        var a = new SwitchableChatClient("a") { Usage = MillionInput };
        using RouterChatClient router = Create(
            o => o.Constraints.Tenants["acme"] = new TenantOptions { Budget = new BudgetOptions { PerHour = 2m, PerDay = 5m } },
            (a, e => { e.InputCostPerMillionTokens = 0.3m; e.Budget = new BudgetOptions { PerMonth = 10m }; e.RequestsPerMinute = 10; }));
        var measurements = new List<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, router.Telemetry.Meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        listener.Start();

        _ = await router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct);
        _ = await router.GetResponseAsync(RouterFactory.Hello(), Tenant("acme"), Ct);
        IReadOnlyList<BudgetStatus> budgets = router.GetBudgets();
        listener.RecordObservableInstruments();

        Assert.Equal(
            [("tenant", "acme", BudgetPeriod.Hour, 0.6m, 1.4m), ("tenant", "acme", BudgetPeriod.Day, 0.6m, 4.4m), ("endpoint", "a", BudgetPeriod.Month, 0.6m, 9.4m)],
            budgets.Select(s => (s.Scope, s.Name, s.Period, s.Spent, s.Remaining)));
        BudgetStatus hour = budgets[0];
        Assert.Equal(new DateTimeOffset(2026, 3, 10, 15, 0, 0, TimeSpan.Zero), hour.PeriodStart);
        Assert.Equal(new DateTimeOffset(2026, 3, 10, 16, 0, 0, TimeSpan.Zero), hour.PeriodEnd);
        Assert.False(hour.Exceeded);
        Assert.Equal(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero), budgets[2].PeriodEnd);

        Assert.Equal(0.6, Gauge("llmrouter.budget.spent", "tenant", "acme", "hour"), 9);
        Assert.Equal(1.4, Gauge("llmrouter.budget.remaining", "tenant", "acme", "hour"), 9);
        Assert.Equal(4.4, Gauge("llmrouter.budget.remaining", "tenant", "acme", "day"), 9);
        Assert.Equal(0.6, Gauge("llmrouter.budget.spent", "endpoint", "a", "month"), 9);
        Assert.Equal(9.4, Gauge("llmrouter.budget.remaining", "endpoint", "a", "month"), 9);
        Assert.Contains(measurements, m => m.Instrument == "llmrouter.endpoint.limit.headroom" &&
            Equals(m.Tags["llmrouter.endpoint"], "a") && Equals(m.Tags["llmrouter.limit"], "requests") && m.Value == 8);

        double Gauge(string instrument, string scope, string name, string period) => Assert.Single(
            measurements,
            m => m.Instrument == instrument && Equals(m.Tags["llmrouter.budget.scope"], scope) &&
                 Equals(m.Tags["llmrouter.budget.name"], name) && Equals(m.Tags["llmrouter.budget.period"], period)).Value;

        void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>();
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                copy[tag.Key] = tag.Value;
            }

            measurements.Add((instrument.Name, value, copy));
        }
    }

    [Fact]
    public void BudgetOptions_BindFromJson()
    {
        using ServiceProvider provider = Bind("""
            {
              "LlmRouter": {
                "Constraints": {
                  "BudgetSoftThreshold": 0.7,
                  "Tenants": { "acme": { "Budget": { "PerHour": 1.5, "PerDay": 20, "PerMonth": 400 } } }
                },
                "Endpoints": { "mistral": { "Budget": { "PerMonth": 50.25 } } }
              }
            }
            """);
        LlmRouterOptions options = provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value;

        Assert.Equal(0.7, options.Constraints.BudgetSoftThreshold);
        BudgetOptions tenant = options.Constraints.Tenants["acme"].Budget!;
        Assert.Equal((1.5m, 20m, 400m), (tenant.PerHour!.Value, tenant.PerDay!.Value, tenant.PerMonth!.Value));
        BudgetOptions endpoint = options.Endpoints["mistral"].Budget!;
        Assert.Equal(((decimal?)null, (decimal?)null, (decimal?)50.25m), (endpoint.PerHour, endpoint.PerDay, endpoint.PerMonth));
        _ = provider.GetRequiredService<IChatClient>(); // valid: the router starts
    }

    [Fact]
    public void BudgetOptions_Unset_NoCapsAndTheDefaultThreshold()
    {
        using ServiceProvider provider = Bind("""{ "LlmRouter": { "Endpoints": { "mistral": { "Weight": 1 } } } }""");
        LlmRouterOptions options = provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value;

        Assert.Equal(0.8, options.Constraints.BudgetSoftThreshold);
        Assert.Null(options.Endpoints["mistral"].Budget);
        Assert.Empty(((RouterChatClient)provider.GetRequiredService<IChatClient>()).GetBudgets());
    }

    [Theory]
    [InlineData("""{ "Constraints": { "Tenants": { "acme": { "Budget": { "PerDay": -1 } } } } }""", "Constraints:Tenants 'acme': Budget:PerDay must not be negative")]
    [InlineData("""{ "Constraints": { "Tenants": { "acme": { "Budget": { "PerHour": -0.01 } } } } }""", "Constraints:Tenants 'acme': Budget:PerHour must not be negative")]
    [InlineData("""{ "Constraints": { "Tenants": { "acme": { "Budget": { "PerMonth": -5 } } } } }""", "Constraints:Tenants 'acme': Budget:PerMonth must not be negative")]
    [InlineData("""{ "Endpoints": { "mistral": { "Budget": { "PerMonth": -1 } } } }""", "Endpoint 'mistral': Budget:PerMonth must not be negative")]
    [InlineData("""{ "Endpoints": { "mistral": { "Budget": { "PerHour": -1 } } } }""", "Endpoint 'mistral': Budget:PerHour must not be negative")]
    [InlineData("""{ "Constraints": { "BudgetSoftThreshold": 0 } }""", "Constraints:BudgetSoftThreshold must be greater than 0 and at most 1")]
    [InlineData("""{ "Constraints": { "BudgetSoftThreshold": 1.5 } }""", "Constraints:BudgetSoftThreshold must be greater than 0 and at most 1")]
    [InlineData("""{ "Constraints": { "BudgetSoftThreshold": "NaN" } }""", "Constraints:BudgetSoftThreshold")]
    public void InvalidBudgetOption_FailsAtStartUpNamingTheField(string section, string expected)
    {
        // The endpoint entry is merged into the section so that every case has the one keyed endpoint.
        string json = section.Contains("\"Endpoints\"", StringComparison.Ordinal)
            ? $$"""{ "LlmRouter": {{section}} }"""
            : $$"""{ "LlmRouter": { "Endpoints": { "mistral": { "Weight": 1 } }, {{section[1..]}} }""";
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

    private static async Task<List<RoutingInfo>> SendAsync(RouterChatClient router, int count, ChatOptions? options)
    {
        var infos = new List<RoutingInfo>(count);
        for (int i = 0; i < count; i++)
        {
            router.RefreshSnapshots();
            infos.Add((await router.GetResponseAsync(RouterFactory.Hello(), options, Ct)).GetRoutingInfo()!);
        }

        return infos;
    }

    private RouterChatClient Create(Action<LlmRouterOptions>? configure, params (IChatClient Client, Action<EndpointOptions> Configure)[] endpoints) =>
        RouterFactory.Create(_time, configure, null, [.. endpoints.Select(e => (Name(e.Client), e.Client, (Action<EndpointOptions>?)e.Configure))]);

    private static string Name(IChatClient client) => client switch
    {
        SwitchableChatClient s => s.Name,
        LatencyChatClient s => s.Name,
        GatedChatClient s => s.Name,
        _ => throw new ArgumentException("unknown client", nameof(client)),
    };
}
