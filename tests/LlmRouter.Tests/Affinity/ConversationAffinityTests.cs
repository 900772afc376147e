using System.Text;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.Affinity;

/// <summary>
/// Conversation affinity: returning turns stay on the endpoint that served the previous turn while it is fit, move when
/// it fails and stick to the new one; the map is bounded and expires; first turns are routed exactly as without it.
/// </summary>
public sealed class ConversationAffinityTests
{
    private const int Turns = 20;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 4, 9, 0, 0, TimeSpan.Zero));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The messages of turn <paramref name="turn"/> (from 1) of conversation <paramref name="conversation"/>.</summary>
    private static List<ChatMessage> Turn(int conversation, int turn)
    {
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, "You are a helpful assistant."),
            new(ChatRole.User, $"Conversation {conversation}: first question"),
        };
        for (int t = 1; t < turn; t++)
        {
            messages.Add(new ChatMessage(ChatRole.Assistant, $"answer {t}"));
            messages.Add(new ChatMessage(ChatRole.User, $"question {t + 1}"));
        }

        return messages;
    }

    private static ChatOptions Only(string endpoint) => new ChatOptions().WithRouting(r => r.OnlyEndpoints = [endpoint]);

    private async Task<RoutingInfo> SendAsync(RouterChatClient router, IList<ChatMessage> messages, ChatOptions? options = null)
    {
        router.RefreshSnapshots();
        return (await router.GetResponseAsync(messages, options, Ct)).GetRoutingInfo()!;
    }

    [Fact]
    public async Task TwentyTurnConversations_TwoEquallyGoodEndpointsUnderScore_StayOnOneEndpointInAtLeast95PercentOfTurns()
    {
        (double withAffinity, AffinityStatistics stats, int[] conversationsPerEndpoint) = await StayRateAsync(affinity: true);
        (double without, _, _) = await StayRateAsync(affinity: false);

        // Measured here: 100 % with affinity, 84.9 % without (the score flips between the two on latency noise).
        Assert.True(withAffinity >= 0.95, $"returning turns that stayed: {withAffinity:P1} (without affinity: {without:P1})");
        Assert.True(withAffinity > without, $"affinity {withAffinity:P1} is no better than none {without:P1}");
        Assert.Equal(withAffinity, stats.HitRate!.Value, 9);
        Assert.Equal(8 * (Turns - 1), stats.Stayed + stats.Moved);
        Assert.Equal(8 + 40, stats.Conversations); // the one-off requests are remembered too, as conversations that may return
        Assert.Equal(8, conversationsPerEndpoint.Sum()); // where they started is the score's choice, not affinity's

        async Task<(double Rate, AffinityStatistics Stats, int[] Started)> StayRateAsync(bool affinity)
        {
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 4, 9, 0, 0, TimeSpan.Zero));
            var a = new LatencyChatClient("a", time, LatencyChatClient.LogNormal(new Random(1), 100, 0.3));
            var b = new LatencyChatClient("b", time, LatencyChatClient.LogNormal(new Random(2), 100, 0.3));
            using RouterChatClient router = RouterFactory.Create(
                time,
                o => { o.Randomizer = SeededRandom.Create(3); o.Affinity.Enabled = affinity; },
                null,
                ("a", a, null),
                ("b", b, null));

            // Other traffic first, so that the score has measured both endpoints and each leads now and then.
            for (int i = 0; i < 40; i++)
            {
                router.RefreshSnapshots();
                ChatOptions? warmUp = i < 20 ? Only(i % 2 == 0 ? "a" : "b") : null; // both measured first: neither is a stranger
                _ = await router.GetResponseAsync([new(ChatRole.User, $"one-off {i}")], warmUp, Ct);
            }

            // Eight conversations at once, their turns interleaved and their starts staggered: the map holds them side by side.
            var previous = new string?[8];
            var started = new int[2];
            int stayed = 0;
            int returning = 0;
            for (int round = 0; round < Turns + previous.Length - 1; round++)
            {
                for (int c = 0; c < previous.Length; c++)
                {
                    int turn = round - c + 1;
                    if (turn is < 1 or > Turns)
                    {
                        continue;
                    }

                    router.RefreshSnapshots();
                    string served = (await router.GetResponseAsync(Turn(c, turn), null, Ct)).GetRoutingInfo()!.Endpoint;
                    if (turn == 1)
                    {
                        started[served == "a" ? 0 : 1]++;
                    }
                    else
                    {
                        returning++;
                        stayed += served == previous[c] ? 1 : 0;
                    }

                    previous[c] = served;
                }
            }

            return (stayed / (double)returning, router.GetAffinityStatistics(), started);
        }
    }

    [Fact]
    public async Task ConcurrentConversations_StayOnOneEndpoint_AndTheMapCountsEveryReturningTurn()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        using RouterChatClient router = RouterFactory.Create(
            _time, o => o.Randomizer = SeededRandom.Create(5), null, ("a", a, null), ("b", b, null));
        const int Conversations = 16;

        int[] stayed = await Task.WhenAll(Enumerable.Range(0, Conversations).Select(c => Task.Run(
            async () =>
            {
                string? previous = null;
                int same = 0;
                for (int turn = 1; turn <= Turns; turn++)
                {
                    string served = (await router.GetResponseAsync(Turn(c, turn), null, Ct)).GetRoutingInfo()!.Endpoint;
                    same += turn > 1 && served == previous ? 1 : 0;
                    previous = served;
                }

                return same;
            },
            Ct)));

        double rate = stayed.Sum() / (double)(Conversations * (Turns - 1));
        Assert.True(rate >= 0.95, $"returning turns that stayed: {rate:P1}");
        AffinityStatistics stats = router.GetAffinityStatistics();
        Assert.Equal(Conversations * (Turns - 1), stats.Stayed + stats.Moved);
        Assert.Equal(Conversations, stats.Conversations);
    }

    [Fact]
    public async Task PreviousEndpointThrows_ConversationMoves_ThenSticksToTheNewEndpoint()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        using RouterChatClient router = Create(null, a, b); // ordered: a leads every plan

        var served = new List<RoutingInfo>();
        for (int turn = 1; turn <= Turns; turn++)
        {
            a.Failing = turn == 6;
            served.Add(await SendAsync(router, Turn(1, turn)));
        }

        Assert.All(served.Take(5), i => Assert.Equal("a", i.Endpoint));
        Assert.Equal("b", served[5].Endpoint);
        Assert.Equal("a", served[5].Attempts[0].Endpoint); // a was still tried first: it failed, the turn moved
        Assert.All(served.Skip(6), i => Assert.Equal(["b"], i.Attempts.Select(x => x.Endpoint))); // a healthy again, not tried
        Assert.All(served.Skip(6), i => Assert.Contains("conversation affinity", i.Reason, StringComparison.Ordinal));
        AffinityStatistics stats = router.GetAffinityStatistics();
        Assert.Equal(1, stats.Moved);
        Assert.Equal(Turns - 2, stats.Stayed);

        // Another conversation is unaffected: it starts on a.
        Assert.Equal("a", (await SendAsync(router, Turn(2, 1))).Endpoint);
    }

    [Fact]
    public async Task PreviousEndpointOpens_ConversationMoves_AndStaysAfterItRecovers()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        using RouterChatClient router = Create(o => o.Health.FailureThreshold = 1, a, b);
        for (int turn = 1; turn <= 3; turn++)
        {
            Assert.Equal("a", (await SendAsync(router, Turn(1, turn))).Endpoint);
        }

        a.Failing = true;
        Assert.Equal("b", (await SendAsync(router, Turn(1, 4))).Endpoint);
        Assert.Equal(HealthState.Open, RouterDriver.Snapshot(router, "a").Health);
        Assert.Equal("b", (await SendAsync(router, Turn(1, 5))).Endpoint);

        // a recovers (another request takes its probe); the conversation stays where it moved.
        a.Failing = false;
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal("a", (await SendAsync(router, RouterFactory.Hello())).Endpoint);
        Assert.NotEqual(HealthState.Open, RouterDriver.Snapshot(router, "a").Health);
        int aCalls = a.Calls;
        for (int turn = 6; turn <= Turns; turn++)
        {
            Assert.Equal("b", (await SendAsync(router, Turn(1, turn))).Endpoint);
        }

        Assert.Equal(aCalls, a.Calls);
    }

    [Fact]
    public async Task Map_StaysWithinMaxConversations_Under100kDistinctConversations()
    {
        const int Bound = 1_000;
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        using RouterChatClient router = Create(o => o.Affinity.MaxConversations = Bound, a, b);

        int largest = 0;
        for (int c = 0; c < 100_000; c++)
        {
            _ = await router.GetResponseAsync(Turn(c, 1), null, Ct);
            largest = Math.Max(largest, router.GetAffinityStatistics().Conversations);
        }

        AffinityStatistics stats = router.GetAffinityStatistics();
        Assert.True(largest <= Bound, $"the map held {largest} conversations, above its bound {Bound}");
        Assert.True(stats.Evicted >= 100_000 - Bound, $"evicted {stats.Evicted}");

        // The latest conversations are still remembered: a returning turn of the last one stays.
        Assert.Contains("conversation affinity", (await SendAsync(router, Turn(99_999, 2))).Reason, StringComparison.Ordinal);
        Assert.Equal(1, router.GetAffinityStatistics().Stayed);
    }

    [Fact]
    public async Task Map_StaysNearMaxConversations_Under100kConversationsFromEightConcurrentCallers()
    {
        const int Bound = 1_000;
        const int Callers = 8;
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        using RouterChatClient router = Create(o => o.Affinity.MaxConversations = Bound, a, b);
        int largest = 0;

        await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(
            async () =>
            {
                for (int c = caller; c < 100_000; c += Callers)
                {
                    _ = await router.GetResponseAsync(Turn(c, 1), null, Ct);
                    int count = router.GetAffinityStatistics().Conversations;
                    int seen;
                    while (count > (seen = Volatile.Read(ref largest)) && Interlocked.CompareExchange(ref largest, count, seen) != seen)
                    {
                    }
                }
            },
            Ct)));

        // While one caller trims, the others may add: the map may pass its bound by about one entry per caller.
        Assert.True(largest <= Bound + Callers, $"the map held {largest} conversations, bound {Bound}, {Callers} callers");
        Assert.True(router.GetAffinityStatistics().Conversations <= Bound + Callers, $"{router.GetAffinityStatistics().Conversations} left");
    }

    [Fact]
    public async Task Conversation_ExpiresAfterTimeToLive_SinceItsLatestTurn()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        using RouterChatClient router = Create(o => o.Affinity.TimeToLive = TimeSpan.FromMinutes(10), a, b);

        Assert.Equal("b", (await SendAsync(router, Turn(1, 1), Only("b"))).Endpoint);
        _time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal("b", (await SendAsync(router, Turn(1, 2))).Endpoint);
        _time.Advance(TimeSpan.FromMinutes(9)); // 18 minutes after turn 1, 9 after turn 2: still remembered
        Assert.Equal("b", (await SendAsync(router, Turn(1, 3))).Endpoint);
        _time.Advance(TimeSpan.FromMinutes(10));
        RoutingInfo expired = await SendAsync(router, Turn(1, 4));

        Assert.Equal("a", expired.Endpoint);
        Assert.DoesNotContain("conversation affinity", expired.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RateLimitedEndpoint_CoolingDown_IsNotForced()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b") { Failure = () => RouterFactory.Http(429) };
        using RouterChatClient router = Create(o => o.Retry.MaxRetriesPerEndpoint = 0, a, b);
        Assert.Equal("b", (await SendAsync(router, Turn(1, 1), Only("b"))).Endpoint);
        Assert.Equal("b", (await SendAsync(router, Turn(1, 2))).Endpoint);

        // Another request meets a 429 on b: b cools down (Health:DefaultRateLimitCooldown).
        b.Failing = true;
        _ = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => router.GetResponseAsync(RouterFactory.Hello(), Only("b"), Ct));
        b.Failing = false;
        int bCalls = b.Calls;

        RoutingInfo turn = await SendAsync(router, Turn(1, 3));
        Assert.Equal(["a"], turn.Attempts.Select(x => x.Endpoint));
        Assert.Equal(bCalls, b.Calls);
    }

    [Fact]
    public async Task EndpointAtItsRequestLimit_IsNotForced()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        using RouterChatClient router = RouterFactory.Create(
            _time, o => o.Strategy = RoutingStrategy.Ordered, null, ("a", a, null), ("b", b, e => e.RequestsPerMinute = 3));

        Assert.Equal("b", (await SendAsync(router, Turn(1, 1), Only("b"))).Endpoint);
        Assert.Equal("b", (await SendAsync(router, Turn(1, 2))).Endpoint);
        Assert.Equal("b", (await SendAsync(router, Turn(1, 3))).Endpoint);
        RoutingInfo limited = await SendAsync(router, Turn(1, 4));

        Assert.Equal("a", limited.Endpoint);
        Assert.Contains(limited.Excluded, e => e is { Endpoint: "b", Reason: ExclusionReason.Limit });
    }

    [Fact]
    public async Task DegradedEndpoint_IsNotForced()
    {
        // b is fast for 20 calls, then ever slower: above its own p95 five times in a row, it degrades.
        var a = new LatencyChatClient("a", _time, 100);
        var b = new LatencyChatClient("b", _time, call => TimeSpan.FromMilliseconds(call <= 20 ? 100 : 200 + call));
        using RouterChatClient router = RouterFactory.Create(
            _time, o => { o.Strategy = RoutingStrategy.Ordered; o.Scoring.ExplorationShare = 0; }, null, ("a", a, null), ("b", b, null));

        Assert.Equal("b", (await SendAsync(router, Turn(1, 1), Only("b"))).Endpoint);
        int turn = 2;
        while (RouterDriver.Snapshot(router, "b").Health != HealthState.Degraded)
        {
            Assert.True(turn < 40, "b never degraded");
            Assert.Equal("b", (await SendAsync(router, Turn(1, turn++))).Endpoint); // stays while b is healthy
        }

        RoutingInfo moved = await SendAsync(router, Turn(1, turn)); // the factory's randomizer (0.5) puts b outside its canary share

        Assert.Equal("a", moved.Endpoint);
        Assert.Equal(HealthState.Degraded, moved.Candidates.Single(c => c.Endpoint == "b").Health);
    }

    [Fact]
    public async Task EndpointPastItsBudgetSoftThreshold_IsNotForced()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b") { Usage = new UsageDetails { InputTokenCount = 1_000_000, OutputTokenCount = 0 } };
        using RouterChatClient router = RouterFactory.Create(
            _time,
            o => o.Strategy = RoutingStrategy.Ordered,
            null,
            ("a", a, null),
            ("b", b, e => { e.InputCostPerMillionTokens = 0.3m; e.Budget = new BudgetOptions { PerDay = 1m }; }));

        Assert.Equal("b", (await SendAsync(router, Turn(1, 1), Only("b"))).Endpoint);
        Assert.Equal("b", (await SendAsync(router, Turn(1, 2))).Endpoint); // 0.6 of 1: below the soft threshold
        Assert.Equal("b", (await SendAsync(router, Turn(1, 3))).Endpoint); // 0.9 of 1 after this one
        RoutingInfo moved = await SendAsync(router, Turn(1, 4));

        Assert.Equal("a", moved.Endpoint);
        Assert.Contains("past its budget's soft threshold", moved.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamedTurns_StickLikeOthers()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        using RouterChatClient router = Create(null, a, b);

        Assert.Equal("b", (await SendAsync(router, Turn(1, 1), Only("b"))).Endpoint);
        for (int turn = 2; turn <= 5; turn++)
        {
            router.RefreshSnapshots();
            string? servedBy = null;
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(Turn(1, turn), null, Ct))
            {
                servedBy ??= update.GetRoutingInfo()?.Endpoint;
            }

            Assert.Equal("b", servedBy);
        }

        Assert.Equal(0, a.Calls);
        Assert.Equal(4, router.GetAffinityStatistics().Stayed);
    }

    [Fact]
    public async Task AffinityTurnsCounter_CountsStayedAndMovedByEndpoint()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        using RouterChatClient router = Create(null, a, b);
        var counted = new List<(long Value, string? Endpoint, string? Result)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, router.Telemetry.Meter) && instrument.Name == "llmrouter.affinity.turns")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? endpoint = null;
            string? result = null;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                endpoint = tag.Key == "llmrouter.endpoint" ? tag.Value as string : endpoint;
                result = tag.Key == "llmrouter.affinity.result" ? tag.Value as string : result;
            }

            lock (counted)
            {
                counted.Add((value, endpoint, result));
            }
        });
        listener.Start();

        for (int turn = 1; turn <= 4; turn++)
        {
            a.Failing = turn == 3;
            _ = await SendAsync(router, Turn(1, turn));
        }

        Assert.Equal([(1L, "a", "stayed"), (1L, "b", "moved"), (1L, "b", "stayed")], counted);
        Assert.Equal(2.0 / 3, router.GetAffinityStatistics().HitRate!.Value, 9);
    }

    [Fact]
    public async Task ExplicitConversationKey_GroupsRequestsWhoseMessagesDiffer()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        using RouterChatClient router = Create(null, a, b);
        static ChatOptions Key(string key, string? only = null) =>
            new ChatOptions().WithRouting(r => { r.ConversationKey = key; r.OnlyEndpoints = only is null ? null : [only]; });

        Assert.Equal("b", (await SendAsync(router, [new(ChatRole.User, "first")], Key("ticket-42", "b"))).Endpoint);
        RoutingInfo same = await SendAsync(router, [new(ChatRole.User, "an unrelated second message")], Key("ticket-42"));
        RoutingInfo other = await SendAsync(router, [new(ChatRole.User, "first")], Key("ticket-43"));

        Assert.Equal("b", same.Endpoint);
        Assert.Contains("conversation affinity", same.Reason, StringComparison.Ordinal);
        Assert.Equal("a", other.Endpoint);
    }

    [Fact]
    public async Task FirstTurns_AreRoutedExactlyAsWithoutAffinity()
    {
        List<(string Endpoint, string Reason)> with = await FirstTurnsAsync(affinity: true);
        List<(string Endpoint, string Reason)> without = await FirstTurnsAsync(affinity: false);

        Assert.Equal(without, with);
        Assert.Contains(with, r => r.Endpoint == "a");
        Assert.Contains(with, r => r.Endpoint == "b");
        Assert.DoesNotContain(with, r => r.Reason.Contains("affinity", StringComparison.Ordinal));

        async Task<List<(string, string)>> FirstTurnsAsync(bool affinity)
        {
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 4, 9, 0, 0, TimeSpan.Zero));
            var a = new LatencyChatClient("a", time, LatencyChatClient.LogNormal(new Random(1), 100, 0.3));
            var b = new LatencyChatClient("b", time, LatencyChatClient.LogNormal(new Random(2), 110, 0.3));
            using RouterChatClient router = RouterFactory.Create(
                time, o => { o.Randomizer = SeededRandom.Create(9); o.Affinity.Enabled = affinity; }, null, ("a", a, null), ("b", b, null));
            var served = new List<(string, string)>();
            for (int i = 0; i < 2_000; i++)
            {
                // Distinct conversations, and one repeated prompt (the same leading messages, never an assistant turn).
                IList<ChatMessage> messages = i % 10 == 0 ? RouterFactory.Hello() : Turn(i, 1);
                router.RefreshSnapshots();
                RoutingInfo info = (await router.GetResponseAsync(messages, null, Ct)).GetRoutingInfo()!;
                served.Add((info.Endpoint, info.Reason));
            }

            return served;
        }
    }

    [Fact]
    public void AffinityOptions_BindFromJson()
    {
        using ServiceProvider provider = Bind("""
            { "Enabled": false, "MaxConversations": 500, "TimeToLive": "00:10:00", "ProviderStateTimeToLive": "2.00:00:00" }
            """);
        AffinityOptions affinity = provider.GetRequiredService<IOptions<LlmRouterOptions>>().Value.Affinity;

        Assert.False(affinity.Enabled);
        Assert.Equal(500, affinity.MaxConversations);
        Assert.Equal(TimeSpan.FromMinutes(10), affinity.TimeToLive);
        Assert.Equal(TimeSpan.FromDays(2), affinity.ProviderStateTimeToLive);
        _ = provider.GetRequiredService<IChatClient>();
    }

    [Fact]
    public void AffinityOptions_Defaults()
    {
        var affinity = new AffinityOptions();
        Assert.True(affinity.Enabled);
        Assert.Equal(10_000, affinity.MaxConversations);
        Assert.Equal(TimeSpan.FromMinutes(30), affinity.TimeToLive);
        Assert.Equal(TimeSpan.FromDays(7), affinity.ProviderStateTimeToLive);
    }

    [Theory]
    [InlineData("""{ "MaxConversations": 0 }""", "Affinity:MaxConversations must be between 1 and 10000000")]
    [InlineData("""{ "MaxConversations": 10000001 }""", "Affinity:MaxConversations must be between 1 and 10000000")]
    [InlineData("""{ "TimeToLive": "00:00:00.5" }""", "Affinity:TimeToLive must be between 1 second and 30 days")]
    [InlineData("""{ "TimeToLive": "31.00:00:00" }""", "Affinity:TimeToLive must be between 1 second and 30 days")]
    [InlineData("""{ "ProviderStateTimeToLive": "00:00:00" }""", "Affinity:ProviderStateTimeToLive must be between 1 second and 365 days")]
    [InlineData("""{ "ProviderStateTimeToLive": "366.00:00:00" }""", "Affinity:ProviderStateTimeToLive must be between 1 second and 365 days")]
    public void InvalidAffinityOption_FailsAtStartUpNamingTheField(string affinity, string expected)
    {
        using ServiceProvider provider = Bind(affinity);

        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());
        Assert.Contains(exception.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    private static ServiceProvider Bind(string affinity)
    {
        string json = $$"""{ "LlmRouter": { "Affinity": {{affinity}}, "Endpoints": { "mistral": { "Weight": 1 } } } }""";
        IConfiguration configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var services = new ServiceCollection();
        _ = services.AddKeyedChatClient("mistral", new ScriptedChatClient("mistral"));
        _ = services.AddLlmRouter(configuration.GetSection("LlmRouter"));
        return services.BuildServiceProvider();
    }

    /// <summary>An ordered router (the first endpoint leads every plan unless affinity says otherwise), retries without delay.</summary>
    private RouterChatClient Create(Action<LlmRouterOptions>? configure, params SwitchableChatClient[] clients) =>
        RouterFactory.Create(
            _time,
            o =>
            {
                o.Strategy = RoutingStrategy.Ordered;
                o.Retry.BaseDelay = TimeSpan.Zero;
                o.Retry.MaxDelay = TimeSpan.Zero;
                configure?.Invoke(o);
            },
            null,
            [.. clients.Select(c => (c.Name, (IChatClient)c, (Action<EndpointOptions>?)null))]);
}
