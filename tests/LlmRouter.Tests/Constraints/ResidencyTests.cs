using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.Constraints;

/// <summary>Geo-fencing fails closed: a request restricted to regions never reaches an endpoint outside them, by any path.</summary>
public sealed class ResidencyTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Residency_10000EuRequestsWhileEveryEuEndpointFailsInTurn_HedgingAndContinuationOn_NoAttemptOutsideTheEu()
    {
        var eu1 = new SwitchableChatClient("eu-1");
        var eu2 = new SwitchableChatClient("eu-2");
        var us = new SwitchableChatClient("us");
        var unknown = new SwitchableChatClient("unknown");
        var asia = new SwitchableChatClient("asia");
        using RouterChatClient router = Create(
            o =>
            {
                o.Hedging.Enabled = true;
                o.Hedging.Delay = TimeSpan.Zero; // every request hedges at once
                o.Hedging.MaxHedges = 3;
                o.Streaming.MidStreamPolicy = MidStreamPolicy.Continue;
                o.Retry.BaseDelay = TimeSpan.Zero;
                o.Retry.MaxDelay = TimeSpan.Zero;
                o.Retry.MaxAttempts = 6;
                o.Health.AllOpenMaxWait = TimeSpan.Zero;
                o.Constraints.Tenants["acme-eu"] = new TenantOptions { AllowedRegions = ["eu"] };
            },
            (eu1, e => e.Region = "eu"),
            (eu2, e => e.Region = "eu-west"),
            (us, e => { e.Region = "us-east"; e.InputCostPerMillionTokens = 0.01m; }), // cheapest: the strategy's favourite
            (unknown, e => { }),
            (asia, e => e.Region = "europe-ish")); // not "eu" nor "eu-…"

        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        int hedged = 0;
        int continued = 0;
        for (int i = 0; i < 10_000; i++)
        {
            int phase = i / 2_500; // 0: eu-1 fails, 1: eu-2 fails, 2: both fail, 3: both fail then recover
            eu1.Failing = phase is 0 or 2;
            eu2.Failing = phase is 1 or 2;
            if (i % 500 == 0)
            {
                _time.Advance(TimeSpan.FromMinutes(5)); // lets open endpoints be probed again
            }

            ChatOptions options = new ChatOptions().WithRouting(r =>
            {
                if (i % 2 == 0)
                {
                    r.Tenant = "acme-eu";
                    r.AllowedRegions = i % 4 == 0 ? ["eu", "us-east"] : null; // a request cannot loosen its tenant
                }
                else
                {
                    r.AllowedRegions = ["eu"];
                }
            });
            if (i % 7 == 0)
            {
                options.Tools = [AIFunctionFactory.Create(() => "x", "tool")];
            }

            string outcome;
            try
            {
                RoutingInfo info;
                if (i % 3 == 0)
                {
                    var updates = new List<ChatResponseUpdate>();
                    await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(Prompt(i), options, Ct))
                    {
                        updates.Add(update);
                    }

                    info = updates.ToChatResponse().GetRoutingInfo()!;
                }
                else
                {
                    info = (await router.GetResponseAsync(Prompt(i), options, Ct)).GetRoutingInfo()!;
                }

                Assert.StartsWith("eu-", info.Endpoint, StringComparison.Ordinal);
                Assert.All(info.Attempts, a => Assert.StartsWith("eu-", a.Endpoint, StringComparison.Ordinal));
                Assert.All(info.ContinuedBy, e => Assert.StartsWith("eu-", e, StringComparison.Ordinal));
                Assert.Contains(info.Excluded, e => e is { Endpoint: "us", Reason: ExclusionReason.Region });
                hedged += info.Hedged ? 1 : 0;
                continued += info.ContinuedBy.Count > 0 ? 1 : 0;
                outcome = "served";
            }
            catch (LlmRouterException exception)
            {
                // Typed errors only: every EU endpoint failed, or every one was open.
                Assert.True(exception is AllEndpointsFailedException or NoEndpointAvailableException or StreamInterruptedException, exception.GetType().Name);
                outcome = exception.GetType().Name;
            }

            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        Assert.Equal(0, us.Calls);
        Assert.Equal(0, unknown.Calls);
        Assert.Equal(0, asia.Calls);
        string tally = $"{string.Join(", ", outcomes)}; eu-1 {eu1.Calls} calls, eu-2 {eu2.Calls}";
        Assert.True(outcomes.GetValueOrDefault("served") >= 7_000, tally);
        Assert.True(outcomes.Count > 1, "the phase where every EU endpoint fails must end in typed errors: " + tally);
        Assert.True(hedged > 0 && continued > 0, $"hedges {hedged}, continuations {continued} {tally}");
    }

    [Fact]
    public async Task Residency_NoEndpointInTheAllowedRegion_ThrowsNoEndpointAvailableNamingEachEndpointsRegion()
    {
        var us = new SwitchableChatClient("us");
        var local = new SwitchableChatClient("local");
        using RouterChatClient router = Create(null, (us, e => e.Region = "us-east"), (local, e => { }));

        NoEndpointAvailableException exception = await Assert.ThrowsAsync<NoEndpointAvailableException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions().WithRouting(r => r.AllowedRegions = ["eu"]), Ct));

        Assert.Equal(0, us.Calls + local.Calls);
        Assert.All(exception.Exclusions, e => Assert.Equal(ExclusionReason.Region, e.Reason));
        Assert.Equal(["us", "local"], exception.Exclusions.Select(e => e.Endpoint));
        Assert.Contains("region 'us-east' is not in the allowed regions [eu]", exception.Message, StringComparison.Ordinal);
        Assert.Contains("region '(none)'", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Residency_EveryAllowedEndpointOpen_WaitsThenFailsWithoutTouchingExcludedEndpoints()
    {
        var eu = new SwitchableChatClient("eu") { Failing = true };
        var us = new SwitchableChatClient("us");
        using RouterChatClient router = Create(
            o => { o.Health.AllOpenMaxWait = TimeSpan.Zero; o.Health.FailureThreshold = 1; o.Retry.MaxRetriesPerEndpoint = 0; },
            (eu, e => e.Region = "eu"),
            (us, e => e.Region = "us"));
        ChatOptions options = new ChatOptions().WithRouting(r => r.AllowedRegions = ["eu"]);

        _ = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => router.GetResponseAsync(RouterFactory.Hello(), options, Ct));
        NoEndpointAvailableException open = await Assert.ThrowsAsync<NoEndpointAvailableException>(() => router.GetResponseAsync(RouterFactory.Hello(), options, Ct));

        Assert.Equal(0, us.Calls);
        Assert.Contains(open.Exclusions, e => e is { Endpoint: "us", Reason: ExclusionReason.Region });
        Assert.Contains(open.Exclusions, e => e is { Endpoint: "eu", Reason: ExclusionReason.Health });
    }

    [Theory]
    [InlineData("eu", "eu", true)]
    [InlineData("EU-West", "eu", true)]
    [InlineData("europe", "eu", false)]
    [InlineData("us-east", "us-east", true)]
    [InlineData("us-east-2", "us-east", true)]
    [InlineData("us", "us-east", false)]
    public void RegionMatches_PrefixUpToADash(string region, string allowed, bool expected) =>
        Assert.Equal(expected, ConstraintFilter.RegionMatches(region, allowed));

    private static List<ChatMessage> Prompt(int i) => [new(ChatRole.User, $"request {i}")];

    private RouterChatClient Create(Action<LlmRouterOptions>? configure, params (SwitchableChatClient Client, Action<EndpointOptions> Configure)[] endpoints) =>
        RouterFactory.Create(_time, configure, null, [.. endpoints.Select(e => (e.Client.Name, (IChatClient)e.Client, (Action<EndpointOptions>?)e.Configure))]);
}
